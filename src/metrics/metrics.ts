// Every Prometheus metric the process exports, on one registry per createMetrics()
// call (never the global one), so tests and in-process replicas do not collide.
// Names and labels here are an operator-facing contract: dashboards and alerts use them.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type FireResult =
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'duplicate'
  | 'abandoned'
  | 'unknown'
  | 'handedOff';

const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// 20 ms is the fire-lateness target (DESIGN.md), so it is a bucket edge.
const LATENESS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

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
      help: 'Occurrences handled by this leader, by result (duplicate: already claimed by another fire; handedOff: its Job was created and the run follows it).',
      labelNames: ['result'] as const,
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
      help: 'Schedule change-stream events applied, by kind.',
      labelNames: ['kind'] as const,
      registers,
    }),
    changeStreamRestarts: new Counter({
      name: 'leasecron_change_stream_restarts_total',
      help: 'Change-stream restarts, by reason (e.g. resumed, history-lost).',
      labelNames: ['reason'] as const,
      registers,
    }),
  };

  return { registry, http, engine };
}

export type Metrics = ReturnType<typeof createMetrics>;
