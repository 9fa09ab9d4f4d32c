// LeaseClient on the real API through @kubernetes/client-node 2: the only election file that
// knows the wire format. It exists to turn client-node's shapes (ApiException codes, MicroTime
// strings, the callback-style Watch) into the narrow, typed seam in types.ts, and to put a hard
// time limit on every call so a hung API server cannot stall the elector past its renew deadline.

import * as k8s from '@kubernetes/client-node';
import { type Deadline, deadline } from './deadline.ts';
import { http1Only, withSignal } from './kube-config.ts';
import {
  HOLDER_NONCE_ANNOTATION,
  type LeaseClient,
  LeaseConflictError,
  type LeaseSpec,
  LeaseUnavailableError,
  type LeaseWatchEvent,
  type ObservedLease,
} from './types.ts';

export interface K8sLeaseClientOptions {
  readonly kubeConfig: k8s.KubeConfig;
  readonly namespace: string;
  readonly name: string;
  /** Upper bound of every request, on top of the caller's signal (e.g. the renew deadline). */
  readonly requestTimeoutMs: number;
  /**
   * The server ends each watch after this long and the caller re-watches from the last
   * resourceVersion. Below client-node's fixed 30 s inactivity timeout, so a quiet Lease (nobody
   * renewing) ends cleanly instead of as a timeout error.
   */
  readonly watchTimeoutSeconds?: number;
}

export class K8sLeaseClient implements LeaseClient {
  readonly #api: k8s.CoordinationV1Api;
  readonly #kubeConfig: k8s.KubeConfig;
  readonly #namespace: string;
  readonly #name: string;
  readonly #requestTimeoutMs: number;
  readonly #watchTimeoutSeconds: number;
  // The metadata of the last object this client read or wrote. A PUT replaces metadata too, so
  // sending it back keeps labels and annotations someone put on the Lease (client-go does the same
  // by updating the object it last got).
  #lastMetadata: k8s.V1ObjectMeta | undefined;

  constructor(options: K8sLeaseClientOptions) {
    // HTTP/1.1 only: an aborted write over HTTP/2 can hang the process (issue 9, see http1Only).
    this.#kubeConfig = http1Only(options.kubeConfig);
    this.#api = this.#kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds ?? 25;
  }

  async get(signal?: AbortSignal): Promise<ObservedLease | null> {
    const scope = this.#bound(signal);
    const bounded = scope.signal;
    try {
      const lease = await this.#api.readNamespacedLease(
        { name: this.#name, namespace: this.#namespace },
        withSignal(bounded),
      );
      return this.#remember(lease);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw unavailable(`get lease ${this.#describe()}`, error, bounded);
    } finally {
      scope.dispose();
    }
  }

  async create(spec: LeaseSpec, signal?: AbortSignal): Promise<ObservedLease> {
    const scope = this.#bound(signal);
    const bounded = scope.signal;
    try {
      const lease = await this.#api.createNamespacedLease(
        {
          namespace: this.#namespace,
          body: {
            metadata: withNonce({ name: this.#name, namespace: this.#namespace }, spec.holderNonce),
            spec: toWire(spec),
          },
        },
        withSignal(bounded),
      );
      return this.#remember(lease);
    } catch (error) {
      if (statusOf(error) === 409) {
        throw new LeaseConflictError(`lease ${this.#describe()} already exists`, { cause: error });
      }
      throw unavailable(`create lease ${this.#describe()}`, error, bounded);
    } finally {
      scope.dispose();
    }
  }

  async replace(spec: LeaseSpec, resourceVersion: string, signal?: AbortSignal): Promise<ObservedLease> {
    const scope = this.#bound(signal);
    const bounded = scope.signal;
    const known = this.#lastMetadata?.resourceVersion === resourceVersion ? this.#lastMetadata : undefined;
    const metadata = withNonce(
      { ...known, name: this.#name, namespace: this.#namespace, resourceVersion },
      spec.holderNonce,
    );
    try {
      const lease = await this.#api.replaceNamespacedLease(
        { name: this.#name, namespace: this.#namespace, body: { metadata, spec: toWire(spec) } },
        withSignal(bounded),
      );
      return this.#remember(lease);
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 404) {
        throw new LeaseConflictError(`lease ${this.#describe()} changed since ${resourceVersion}`, {
          cause: error,
        });
      }
      throw unavailable(`replace lease ${this.#describe()}`, error, bounded);
    } finally {
      scope.dispose();
    }
  }

  watch(
    onEvent: (event: LeaseWatchEvent) => void,
    options: { resourceVersion?: string; signal: AbortSignal },
  ): Promise<void> {
    const { signal } = options;
    const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.#namespace)}/leases`;
    const query = {
      fieldSelector: `metadata.name=${this.#name}`,
      resourceVersion: options.resourceVersion,
      timeoutSeconds: this.#watchTimeoutSeconds,
      allowWatchBookmarks: true,
    };
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return resolve();
      let controller: AbortController | undefined;
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        controller?.abort();
        // Whatever broke after our own abort is the abort, not a failure.
        if (error === undefined || signal.aborted) resolve();
        else reject(error);
      };
      const onAbort = () => finish();
      signal.addEventListener('abort', onAbort, { once: true });

      const onLine = (phase: string, object: unknown) => {
        if (settled) return;
        try {
          if (phase === 'ADDED' || phase === 'MODIFIED') {
            onEvent({ type: 'upsert', lease: toObserved(object as k8s.V1Lease) });
          } else if (phase === 'DELETED') {
            onEvent({ type: 'deleted' });
          } else if (phase === 'ERROR') {
            // A Status object, typically 410 Expired when resourceVersion is too old.
            const status = object as k8s.V1Status;
            finish(
              new LeaseUnavailableError(`watch lease ${this.#describe()}: ${status.message ?? 'error'}`, {
                status: status.code,
                cause: status,
              }),
            );
          }
          // BOOKMARK only moves resourceVersion; the caller resumes from the last real event.
        } catch (error) {
          finish(error);
        }
      };
      const onDone = (error: unknown) =>
        finish(error == null ? undefined : unavailable(`watch lease ${this.#describe()}`, error, signal));

      new k8s.Watch(this.#kubeConfig).watch(path, query, onLine, onDone).then(
        (c) => {
          controller = c;
          if (settled) c.abort();
        },
        (error: unknown) => onDone(error ?? new Error('watch failed')),
      );
    });
  }

  #bound(signal: AbortSignal | undefined): Deadline {
    return deadline(signal, this.#requestTimeoutMs);
  }

  #remember(lease: k8s.V1Lease): ObservedLease {
    this.#lastMetadata = lease.metadata;
    return toObserved(lease);
  }

  #describe(): string {
    return `${this.#namespace}/${this.#name}`;
  }
}

/** The typed API hands back MicroTime as the wire string; the watch always does. Accept both. */
export function toObserved(lease: k8s.V1Lease): ObservedLease {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? null,
    leaseDurationSeconds: spec.leaseDurationSeconds ?? null,
    acquireTime: toDate(spec.acquireTime),
    renewTime: toDate(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? null,
    holderNonce: lease.metadata?.annotations?.[HOLDER_NONCE_ANNOTATION] || null,
    resourceVersion: lease.metadata?.resourceVersion ?? '',
  };
}

/**
 * The nonce is not a LeaseSpec field, so it travels as an annotation in the same write as the
 * spec (a PUT is atomic over metadata and spec). Other annotations are kept; '' removes it.
 */
export function withNonce(metadata: k8s.V1ObjectMeta, nonce: string): k8s.V1ObjectMeta {
  const { [HOLDER_NONCE_ANNOTATION]: _old, ...others } = metadata.annotations ?? {};
  const annotations = nonce === '' ? others : { ...others, [HOLDER_NONCE_ANNOTATION]: nonce };
  return { ...metadata, annotations };
}

/**
 * V1MicroTime serialises as RFC 3339 with six fractional digits ("…T12:00:00.123000Z"), the
 * MicroTime format Kubernetes itself writes and kubectl and client-go read; a plain Date would
 * go out with three.
 */
export function toWire(spec: LeaseSpec): k8s.V1LeaseSpec {
  return {
    holderIdentity: spec.holderIdentity,
    leaseDurationSeconds: spec.leaseDurationSeconds,
    acquireTime: new k8s.V1MicroTime(spec.acquireTime.getTime()),
    renewTime: new k8s.V1MicroTime(spec.renewTime.getTime()),
    leaseTransitions: spec.leaseTransitions,
  };
}

// Date keeps milliseconds; the sub-millisecond digits other writers may put in are dropped. Every
// reader of the same record drops them the same way, so leaseChanged still sees each renewal.
function toDate(value: unknown): Date | null {
  if (value instanceof Date) return new Date(value.getTime());
  if (typeof value === 'string' && value !== '') return new Date(value);
  return null;
}

function statusOf(error: unknown): number | undefined {
  if (error instanceof k8s.ApiException) return error.code;
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function unavailable(what: string, error: unknown, signal: AbortSignal): LeaseUnavailableError {
  if (error instanceof LeaseUnavailableError) return error;
  if (signal.aborted) {
    return new LeaseUnavailableError(`${what}: aborted`, { cause: signal.reason });
  }
  const status = statusOf(error);
  const detail = status === undefined ? String(error) : `HTTP ${status}`;
  return new LeaseUnavailableError(`${what}: ${detail}`, { status, cause: error });
}
