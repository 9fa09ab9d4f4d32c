// What the engine needs from the rest of the process: narrow, so the engine never
// imports the MongoDB driver or prom-client and tests can hand it real stores.
import type { Logger } from 'pino';
import type { ActionRunner } from '../actions/types.ts';
import type { RunResult, RunStore, RunTrigger, ScheduleStore } from '../store/types.ts';
import type { MissedRunSink } from './missed-runs.ts';

/**
 * Told what happens to runs, for what is not the record itself (Kubernetes Events and status on
 * Schedule objects). Called synchronously; must not throw or block.
 */
export interface RunObserver {
  started(scheduleId: string, runId: string, scheduledFor: Date): void;
  finished(scheduleId: string, runId: string, status: RunResult['status'], error: string | undefined): void;
  /** occurrences not run: missed (misfire policy), or skipped (forbid, claimed too late) */
  passedOver(scheduleId: string, count: number, reason: string): void;
}

/** `handedOff`: the action created its Job; the run follows the Job (src/jobs/job-tracker.ts). */
export type FireResult =
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'duplicate'
  | 'abandoned'
  | 'unknown'
  | 'handedOff';

/** What fired an occurrence; `unknown` for runs an earlier leader left running (settled as orphans). */
export type FireTrigger = RunTrigger | 'unknown';

export interface EngineMetrics {
  /** An occurrence handled; `latenessMs` from its time to its action's start (none for manual runs). */
  fired(result: FireResult, trigger: FireTrigger, latenessMs?: number): void;
  /** A run's action ended: its type, how long it took (ms) and the attempts it made. */
  ran(action: string, durationMs: number, attempts: number): void;
  missed(count: number): void;
  armed(count: number): void;
  /** A change-stream event applied; `clusterTime`: when MongoDB committed it, when known. */
  streamEvent(kind: string, clusterTime?: Date): void;
  streamRestart(reason: string): void;
  /** Schedules left idle because their stored document is not a valid schedule. */
  invalid(count: number): void;
}

export const noopEngineMetrics: EngineMetrics = {
  fired() {},
  ran() {},
  missed() {},
  armed() {},
  streamEvent() {},
  streamRestart() {},
  invalid() {},
};

/**
 * The schedules' Kubernetes Jobs, as the JobTracker knows them from its cache, so `concurrency`
 * holds over a Job's whole lifetime and not only while the action creates it.
 */
export interface EngineJobs {
  /** How many Jobs of the schedule have not finished (no Complete or Failed condition yet). */
  active(scheduleId: string): number;
  /**
   * Deletes the schedule's active Jobs (propagation Background) and fails their runs; rejects
   * when one could not be deleted (the new run then fails rather than run beside it).
   */
  replace(scheduleId: string): Promise<void>;
}

/** Actions under way at once unless MAX_CONCURRENT_RUNS says otherwise. */
export const DEFAULT_MAX_CONCURRENT_RUNS = 500;

export interface EngineDeps {
  schedules: ScheduleStore;
  runs: RunStore;
  actions: ActionRunner;
  /**
   * Each schedule's latest claimed occurrence, where a new term's catch-up starts; default
   * `runs.lastClaimed()`. A replica with a schedule cache answers it from memory (issue 14).
   */
  lastClaimed?: () => Promise<Map<string, Date>>;
  identity: string;
  /** This process (a restarted pod keeps its name but is a new instance); a UUID. */
  instance?: string;
  /**
   * True while this replica may fire: it holds the Lease and renewed it within the
   * renew deadline. Checked right before each claim and each action, so a stalled
   * event loop cannot fire on a lease it no longer holds. Default: always true.
   */
  leaseValid?: () => boolean;
  logger: Logger;
  now: () => Date;
  metrics?: EngineMetrics;
  /** fireAll's cap on catch-up fires per schedule (MAX_CATCHUP_PER_SCHEDULE); default 100. */
  maxCatchUp?: number;
  /** At most this many actions at once (MAX_CONCURRENT_RUNS); the rest wait in claim order. */
  maxConcurrentRuns?: number;
  /** How often the leader looks for manual trigger requests (ms). */
  manualPollMs?: number;
  observer?: RunObserver;
  /** Where passed-over occurrences go to be recorded as `missed` runs (missed-runs.ts); optional. */
  missedRuns?: MissedRunSink;
  /** kubernetesJob schedules' Jobs; without it only runs in this process count for concurrency. */
  jobs?: EngineJobs;
  /** Called whenever a schedule's timer is (re)armed or disarmed; for tests and benchmarks. */
  onArmed?: (scheduleId: string, version: number, next: Date | null) => void;
}
