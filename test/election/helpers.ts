// Shared pieces of the election integration tests: short timings, an elector that records when
// it started and stopped leading (on the same monotonic clock the elector uses), and a raw read
// of the Lease to check what actually went over the wire.
import type { KubeConfig } from '@kubernetes/client-node';
import { Elector, type ElectorOptions } from '../../src/election/elector.ts';
import { K8sLeaseClient } from '../../src/election/k8s-lease-client.ts';
import { httpsGet } from '../../stack/kube.ts';
import { stack } from '../helpers/clients.ts';

/** Satisfies lease > renew deadline > 1.2 × retry, with room for a loaded 2-core machine. */
export const TIMING = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 250 } as const;

export function leaseClient(kubeConfig: KubeConfig, namespace: string, name = 'leasecron'): K8sLeaseClient {
  return new K8sLeaseClient({ kubeConfig, namespace, name, requestTimeoutMs: TIMING.renewDeadlineMs });
}

export interface Term {
  readonly startedMs: number;
  readonly epoch: number;
  stoppedMs?: number;
}

export interface RecordedElector {
  readonly elector: Elector;
  readonly terms: Term[];
}

export function recordedElector(
  identity: string,
  client: K8sLeaseClient,
  extra: Partial<ElectorOptions> = {},
): RecordedElector {
  const terms: Term[] = [];
  const elector = new Elector({
    client,
    identity,
    ...TIMING,
    onStartedLeading: (epoch) => {
      terms.push({ startedMs: performance.now(), epoch });
    },
    onStoppedLeading: () => {
      const term = terms.at(-1);
      if (term) term.stoppedMs = performance.now();
    },
    ...extra,
  });
  return { elector, terms };
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  stepMs = 10,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The Lease as JSON straight from the API server, bypassing client-node's (de)serialisation. */
export async function rawLease(namespace: string, name = 'leasecron'): Promise<RawLease> {
  const { server, token } = stack().kube;
  const res = await httpsGet(
    `${server}/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`,
    token,
  );
  if (res.status !== 200) throw new Error(`GET lease: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as RawLease;
}

export interface RawLease {
  metadata: {
    resourceVersion: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** MicroTime as Kubernetes writes it: RFC 3339, UTC, exactly six fractional digits. */
export const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
