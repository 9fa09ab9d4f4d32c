// Informer-style list+watch of one collection, as client-go's Reflector does it: list (the
// objects that exist now, and the resourceVersion they were read at), then watch from that
// resourceVersion, resuming after every clean end of a watch from the last version seen
// (bookmarks included), and listing again only when the API server says the version is too old
// (410 Gone) or a watch broke, or when the caller asks (relist()). Handlers run one at a time,
// in the order events arrived.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface Listed<T> {
  items: T[];
  resourceVersion: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ListWatchOptions<T> {
  /** Applied through http1Only by the caller (src/election/kube-config.ts). */
  kubeConfig: k8s.KubeConfig;
  /** The collection's path, e.g. /apis/batch/v1/namespaces/a/jobs */
  path: string;
  labelSelector?: string;
  /** `signal`: aborted by stop(). */
  list(signal: AbortSignal): Promise<Listed<T>>;
  /** Every object that exists, after each (re)list: what is not in it was deleted meanwhile. */
  onSync(items: T[]): Promise<void> | void;
  onEvent(type: WatchEventType, object: T): Promise<void> | void;
  logger: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /** What is listed, for log lines: 'Schedule objects in a' */
  what: string;
  /** A 404 on the list: the resource does not exist (a CRD not installed); wait this long. */
  missingRetryMs?: number;
  /**
   * The server ends each watch after this long; it is resumed from the last version seen. Default
   * 25: below client-node's 30 s inactivity timeout, which cuts a quiet watch as a failure (a
   * warning and a relist), as for the Lease watch.
   */
  watchTimeoutSeconds?: number;
}

class GoneError extends Error {
  override name = 'GoneError';
}

export class ListWatch<T extends { metadata?: { resourceVersion?: string } }> {
  readonly #o: ListWatchOptions<T>;
  readonly #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #synced = false;
  /** relist() was called since the last onSync began */
  #relist = false;
  /** aborts the watch under way (relist()) */
  #watching: AbortController | null = null;

  constructor(options: ListWatchOptions<T>) {
    this.#o = options;
  }

  /** True once the first list was handed to onSync. */
  get synced(): boolean {
    return this.#synced;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Lists again soon, for a caller that lost track of what it was told (e.g. recording an event
   * failed): the watch under way ends (events already received are handled first), and the next
   * onSync, one that begins after this call, hands over every object again.
   */
  relist(): void {
    this.#relist = true;
    this.#watching?.abort();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    let resourceVersion: string | null = null;
    let backoffMs = 200;
    let missingLogged = false;
    while (!signal.aborted) {
      try {
        if (resourceVersion === null || this.#relist) {
          const listed = await this.#o.list(signal);
          if (signal.aborted) return;
          this.#relist = false;
          await this.#o.onSync(listed.items);
          this.#synced = true;
          resourceVersion = listed.resourceVersion;
          missingLogged = false;
        }
        // relist() during onSync: list again first
        if (this.#relist) continue;
        resourceVersion = await this.#watch(resourceVersion, signal);
        backoffMs = 200;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof GoneError) {
          this.#o.logger.info({ what: this.#o.what }, 'watch resourceVersion expired (410); listing again');
          resourceVersion = null;
          continue;
        }
        const missing = err instanceof k8s.ApiException && err.code === 404;
        if (missing && !missingLogged) {
          this.#o.logger.warn(
            { what: this.#o.what, path: this.#o.path },
            'the resource does not exist on this API server (is its CRD installed?); looking again later',
          );
          missingLogged = true;
        } else if (!missing) this.#o.logger.warn({ err, what: this.#o.what }, 'list/watch failed; retrying');
        // A broken watch may have missed events: list again, as client-go does after an error.
        resourceVersion = null;
        await abortableSleep(missing ? (this.#o.missingRetryMs ?? 30_000) : backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  }

  /**
   * One watch from `resourceVersion`; resolves with the last version seen when it ends cleanly or
   * is aborted (stop() or relist()).
   */
  #watch(resourceVersion: string, signal: AbortSignal): Promise<string> {
    let last = resourceVersion;
    let chain: Promise<void> = Promise.resolve();
    // Its own controller for relist(), and stop()'s signal listened to beside it: not
    // AbortSignal.any, which retains memory per call on Node 24 (see election/deadline.ts).
    const watching = new AbortController();
    this.#watching = watching;
    return new Promise<string>((resolve, reject) => {
      let controller: AbortController | undefined;
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        watching.signal.removeEventListener('abort', onAbort);
        if (this.#watching === watching) this.#watching = null;
        controller?.abort();
        // Whatever broke after our own abort is the abort, not a failure. Events already queued
        // are handled before the next list or watch.
        const aborted = signal.aborted || watching.signal.aborted;
        void chain.then(
          () => (error === undefined || aborted ? resolve(last) : reject(error)),
          (handlerError: unknown) => reject(handlerError),
        );
      };
      const onAbort = () => finish();
      signal.addEventListener('abort', onAbort, { once: true });
      watching.signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) {
        finish();
        return;
      }
      const onLine = (phase: string, object: unknown) => {
        if (settled) return;
        if (phase === 'ERROR') {
          const status = object as k8s.V1Status;
          finish(
            status.code === 410
              ? new GoneError(status.message ?? 'gone')
              : new Error(`watch ${this.#o.path}: ${status.message ?? 'error'}`),
          );
          return;
        }
        const version = (object as T).metadata?.resourceVersion;
        if (phase === 'BOOKMARK') {
          if (version) last = version;
          return;
        }
        if (phase !== 'ADDED' && phase !== 'MODIFIED' && phase !== 'DELETED') return;
        chain = chain.then(async () => {
          await this.#o.onEvent(phase, object as T);
          if (version) last = version;
        });
        chain.catch((err: unknown) => finish(err));
      };
      // A 410 may also come as the watch request's own status rather than as an ERROR event.
      const onDone = (error: unknown) =>
        finish(error == null ? undefined : statusOf(error) === 410 ? new GoneError(String(error)) : error);
      const query: Record<string, string | number | boolean> = {
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.#o.watchTimeoutSeconds ?? 25,
      };
      if (this.#o.labelSelector) query.labelSelector = this.#o.labelSelector;
      new k8s.Watch(this.#o.kubeConfig).watch(this.#o.path, query, onLine, onDone).then(
        (c) => {
          controller = c;
          if (settled) c.abort();
        },
        (error: unknown) => onDone(error ?? new Error('watch failed')),
      );
    });
  }
}

function statusOf(error: unknown): number | undefined {
  if (error instanceof k8s.ApiException) return error.code;
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
