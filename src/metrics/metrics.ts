// Every Prometheus metric the process exports, on one registry per createMetrics()
// call (never the global one), so tests and in-process replicas do not collide.
// Names and labels here are an operator-facing contract: dashboards and alerts use them.
import { readFileSync } from 'node:fs';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// 20 ms is the fire-lateness target (DESIGN.md), so it is a bucket edge.
const LATENESS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// An action: a webhook (retries included) or creating a Job; up to its timeout of minutes.
const RUN_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const ATTEMPT_BUCKETS = [1, 2, 3, 4, 5, 7, 10];
// A renew is one PUT to the API server, bounded by the renew deadline (10 s by default).
const RENEW_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// How far the engine's view of schedules trails MongoDB's writes.
const STREAM_LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly node: string;
}

/** This build: the version from package.json, the revision given (BUILD_REVISION), the Node running it. */
export function buildInfo(revision: string | undefined): BuildInfo {
  let version = 'unknown';
  try {
    // src/metrics/ and dist/metrics/ both sit two levels under the folder holding package.json.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    if (typeof pkg.version === 'string') version = pkg.version;
  } catch {
    // not shipped beside the code: the series still says which revision and Node run
  }
  return { version, revision: revision || 'unknown', node: process.version };
}

/** Seconds from a change's commit in MongoDB (its cluster time) to now; never negative. */
export function streamLagSeconds(clusterTime: Date, nowMs: number): number {
  return Math.max(0, nowMs - clusterTime.getTime()) / 1000;
}

export function createMetrics(options: { build?: BuildInfo } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const build = options.build ?? buildInfo(undefined);
  new Gauge({
    name: 'leasecron_build_info',
    help: 'Always 1; its labels say which leasecron version and revision, on which Node.js, this process runs.',
    labelNames: ['version', 'revision', 'node'] as const,
    registers,
  }).set({ version: build.version, revision: build.revision, node: build.node }, 1);

  const http = {
    requests: new Counter({
      name: 'leasecron_http_requests_total',
      help: 'HTTP requests served, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    duration: new Histogram({
      name: 'leasecron_http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by method and route pattern.',
      labelNames: ['method', 'route'] as const,
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    }),
  };

  const engine = {
    isLeader: new Gauge({
      name: 'leasecron_is_leader',
      help: '1 while this replica holds the Lease and runs the engine, else 0.',
      registers,
    }),
    leaderTransitions: new Counter({
      name: 'leasecron_leader_transitions_total',
      help: 'Times this replica became or stopped being the leader.',
      registers,
    }),
    armedSchedules: new Gauge({
      name: 'leasecron_armed_schedules',
      help: 'Schedules with an armed timer on this replica (0 on followers).',
      registers,
    }),
    invalidSchedules: new Gauge({
      name: 'leasecron_invalid_schedules',
      help: 'Schedules the leader leaves idle because their stored document is not a valid schedule (0 on followers); a warn log line names each.',
      registers,
    }),
    fires: new Counter({
      name: 'leasecron_fires_total',
      help: 'Occurrences handled by this leader, by result (duplicate: already claimed by another fire; handedOff: its Job was created and the run follows it) and trigger (schedule: on time; catchup: missed and fired late; manual).',
      labelNames: ['result', 'trigger'] as const,
      registers,
    }),
    runDuration: new Histogram({
      name: 'leasecron_run_duration_seconds',
      help: "How long runs' actions took, by action type (http: the delivery, retries included; kubernetesJob: creating the Job, not running it).",
      labelNames: ['action'] as const,
      buckets: RUN_DURATION_BUCKETS,
      registers,
    }),
    runAttempts: new Histogram({
      name: 'leasecron_run_attempts',
      help: 'Attempts an action made per run (1 = no retry; _sum - _count = retries), by action type.',
      labelNames: ['action'] as const,
      buckets: ATTEMPT_BUCKETS,
      registers,
    }),
    fireLateness: new Histogram({
      name: 'leasecron_fire_lateness_seconds',
      help: 'Delay between an occurrence and its fire, in seconds.',
      buckets: LATENESS_BUCKETS,
      registers,
    }),
    missedOccurrences: new Counter({
      name: 'leasecron_missed_occurrences_total',
      help: 'Occurrences found missed at catch-up (fired or skipped by the misfire policy).',
      registers,
    }),
    changeStreamEvents: new Counter({
      name: 'leasecron_change_stream_events_total',
      help: "Schedule change-stream events applied by this replica's schedule cache, by kind.",
      labelNames: ['kind'] as const,
      registers,
    }),
    changeStreamRestarts: new Counter({
      name: 'leasecron_change_stream_restarts_total',
      help: 'Change-stream restarts, by reason (error: the stream failed and is resumed; history-lost: it cannot resume and reloads every schedule).',
      labelNames: ['reason'] as const,
      registers,
    }),
    changeStreamLag: new Histogram({
      name: 'leasecron_change_stream_lag_seconds',
      help: "Time from a schedule change's commit in MongoDB (its cluster time) to this replica's schedule cache applying it.",
      buckets: STREAM_LAG_BUCKETS,
      registers,
    }),
  };

  const mongodb = {
    up: new Gauge({
      name: 'leasecron_mongodb_up',
      help: "1 while this replica's MongoDB ping (every RETRY_PERIOD_SECONDS) answers, 0 from its first failure (and before the first answer).",
      registers,
    }),
  };

  const cache = {
    schedules: new Gauge({
      name: 'leasecron_cache_schedules',
      help: "Stored schedule documents in this replica's schedule cache (invalid ones included).",
      registers,
    }),
    reads: new Counter({
      name: 'leasecron_cache_reads_total',
      help: 'Consistent API reads, by how they were served (caught-up: from the cache; timeout, not-ready, error: from MongoDB, the cache could not show it had caught up within 1 s).',
      labelNames: ['result'] as const,
      registers,
    }),
    syncDuration: new Histogram({
      name: 'leasecron_cache_sync_seconds',
      help: 'Time a consistent read waited for the schedule cache to catch up with MongoDB.',
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    }),
  };
  for (const result of ['caught-up', 'timeout', 'not-ready', 'error']) cache.reads.inc({ result }, 0);

  let leaseTransitions: () => number | null = () => null;
  const lease = {
    renewDuration: new Histogram({
      name: 'leasecron_lease_renew_duration_seconds',
      help: "The leader's Lease renews, failed ones included: time from sending the update to its answer or failure.",
      buckets: RENEW_BUCKETS,
      registers,
    }),
    renewFailures: new Counter({
      name: 'leasecron_lease_renew_failures_total',
      help: 'Lease renews that did not succeed, by reason (error: the request failed or timed out; conflict: another write came first; late: answered after the renew deadline).',
      labelNames: ['reason'] as const,
      registers,
    }),
    transitions: new Gauge({
      name: 'leasecron_lease_transitions',
      help: "The Lease's leaseTransitions as this replica last saw it: leader changes of the whole cluster, the same on every replica (0 until it has read the Lease).",
      registers,
      collect() {
        const n = leaseTransitions();
        this.set(n ?? 0);
      },
    }),
    /** Where the transitions gauge reads from at each scrape (the elector's view of the Lease). */
    readTransitionsFrom(f: () => number | null): void {
      leaseTransitions = f;
    },
  };

  // Known reasons start at 0, so rate() and increase() see the first failure (and alerts and
  // dashboards find the series on a replica that never had one).
  for (const reason of ['error', 'conflict', 'late']) lease.renewFailures.inc({ reason }, 0);
  for (const reason of ['error', 'history-lost']) engine.changeStreamRestarts.inc({ reason }, 0);

  return { registry, http, engine, lease, mongodb, cache };
}

export type Metrics = ReturnType<typeof createMetrics>;
