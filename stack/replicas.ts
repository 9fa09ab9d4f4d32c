// leasecron replicas as plain processes on loopback — what a Deployment does,
// without Docker: start, stop (SIGTERM or SIGKILL), restart under the same
// identity, and ask any of them who leads. Used by `make local-up` and by the
// failover tests.
import { resolve } from 'node:path';
import { isAlive, type Managed, signal, startProcess, stopProcess, waitFor } from './processes.ts';
import { REPO_ROOT, type StackInfo } from './stack.ts';

/**
 * HTTP_ALLOW_CIDRS of every replica the tests, the benchmarks and `make local-up` start: their
 * webhook sinks and the demo payloads' http://127.0.0.1:9999 are on loopback, which http actions
 * may not reach unless allowed (docs/security.md).
 */
export const LOOPBACK_SINK_CIDRS = '127.0.0.1/32';

export interface ReplicaSpec {
  identity: string;
  port: number;
  logFile: string;
  /** the static admin token it was started with (API_TOKEN), when its API needs one */
  apiToken?: string;
}

export interface Replica extends ReplicaSpec {
  pid: number;
  /** the process's start time, so a reused pid is never taken for it (see processes.ts) */
  start?: string | null;
  proc?: Managed;
}

export interface ClusterView {
  identity: string;
  role: string;
  leader: string | null;
  leaseTransitions: number | null;
}

export function replicaEnv(
  stack: StackInfo,
  spec: ReplicaSpec,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(spec.port),
    HOST: '127.0.0.1',
    POD_NAME: spec.identity,
    POD_NAMESPACE: 'leasecron',
    KUBECONFIG: stack.kube.kubeconfig,
    MONGODB_URI: stack.mongo.uri,
    MONGODB_DB: 'leasecron',
    LABEL_POD: 'false',
    LOG_LEVEL: 'info',
    HTTP_ALLOW_CIDRS: LOOPBACK_SINK_CIDRS,
    // The tests' replicas serve an open API, said explicitly (AUTH=none is never a default): what
    // they test is scheduling. Authentication and authorization are tested in-process against the
    // real API server (test/api/auth.int.test.ts); `make local-up` runs with auth on (a token).
    AUTH: 'none',
    ...extra,
  };
}

/** Starts one replica; `entry` is dist/main.js (built) or src/main.ts (Node runs TypeScript). */
export function startReplica(
  stack: StackInfo,
  spec: ReplicaSpec,
  opts: { entry: string; detached?: boolean; env?: Record<string, string> },
): Replica {
  const proc = startProcess(spec.identity, process.execPath, [resolve(REPO_ROOT, opts.entry)], {
    logFile: spec.logFile,
    detached: opts.detached ?? false,
    env: replicaEnv(stack, spec, opts.env),
    cwd: REPO_ROOT,
  });
  return { ...spec, pid: proc.pid, start: proc.start ?? null, proc };
}

export async function clusterView(
  port: number,
  timeoutMs = 1000,
  apiToken?: string,
): Promise<ClusterView | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/cluster`, {
      signal: AbortSignal.timeout(timeoutMs),
      ...(apiToken ? { headers: { authorization: `Bearer ${apiToken}` } } : {}),
    });
    if (!res.ok) return null;
    return (await res.json()) as ClusterView;
  } catch {
    return null;
  }
}

export async function waitReady(r: Replica, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `replica ${r.identity} on :${r.port}`,
    async () => (await fetch(`http://127.0.0.1:${r.port}/readyz`, { signal: AbortSignal.timeout(1000) })).ok,
    { timeoutMs, ...(r.proc ? { proc: r.proc } : {}) },
  );
}

/** Waits until some live replica reports a leader that is itself live; returns it. */
export async function waitForLeader(
  replicas: Replica[],
  opts: { timeoutMs: number; not?: string; pollMs?: number },
): Promise<{ leader: Replica; view: ClusterView }> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    for (const r of replicas) {
      if (!isAlive(r)) continue;
      const v = await clusterView(r.port, 500, r.apiToken);
      if (v?.role === 'leader' && v.identity !== opts.not) return { leader: r, view: v };
    }
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 50));
  }
  throw new Error(`no leader${opts.not ? ` other than ${opts.not}` : ''} within ${opts.timeoutMs} ms`);
}

export async function stopReplica(r: Replica, sig: 'SIGTERM' | 'SIGKILL', graceMs = 15_000): Promise<void> {
  if (sig === 'SIGKILL') {
    if (!signal(r, 'SIGKILL')) return;
    const deadline = Date.now() + 5000;
    while (isAlive(r) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    return;
  }
  await stopProcess(r, graceMs);
}
