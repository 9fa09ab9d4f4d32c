// The narrow storage interfaces that the API and the engine use. Neither imports
// the MongoDB driver: they talk to these, and mongo-*.ts implement them.
import type { Schedule, ScheduleInput, ScheduleSource } from '../schedule/schema.ts';
import type { DecodedSchedule, InvalidStoredSchedule } from '../schedule/stored.ts';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ListSchedulesQuery {
  paused?: boolean;
  /** only these namespaces (absent: all) */
  namespaces?: readonly string[];
  labels?: Record<string, string>;
  limit: number;
  cursor?: string;
}

export interface ScheduleStore {
  create(input: ScheduleInput, now: Date): Promise<Schedule>;
  /** Null when absent; InvalidStoredScheduleError when the stored document is not a valid schedule. */
  get(id: string): Promise<Schedule | null>;
  /** Leaves out stored documents that are not valid schedules, so a page may be short. */
  list(query: ListSchedulesQuery): Promise<Page<Schedule>>;
  /**
   * Full replace; `ifVersion` makes it conditional (VersionConflictError when it differs).
   * OwnedScheduleError when a Schedule object declares it (as for delete).
   * InvalidStoredScheduleError (nothing written) when the stored document has no creation
   * date or version to keep.
   */
  replace(id: string, input: ScheduleInput, opts: { ifVersion?: number; now: Date }): Promise<Schedule>;
  /** False when absent; with `ifVersion`, VersionConflictError when it differs. */
  delete(id: string, opts?: { ifVersion?: number }): Promise<boolean>;
  /**
   * Where a stored document belongs, read without judging the rest of it (so a document that is
   * not a valid schedule can still be authorized, replaced or deleted); null when absent. A
   * missing or malformed namespace reads as `default`, a missing or malformed name as null.
   */
  locate(id: string): Promise<{ namespace: string; name: string | null } | null>;
  /**
   * Writes the schedule a Schedule object declares (issue 12), keyed by its namespace and name:
   * inserts it, replaces it when the input or the object's generation changed (version + 1), or
   * leaves it when nothing did (`changed: false`). An object with a new uid starts a new schedule.
   * NameTakenError when a schedule made through the API holds the name.
   */
  applyOwned(
    input: ScheduleInput,
    source: ScheduleSource,
    now: Date,
  ): Promise<{ schedule: Schedule; changed: boolean }>;
  /** Deletes the schedule declared by the object with this uid; false when there is none. */
  deleteOwned(uid: string): Promise<boolean>;
  /** The schedules of a namespace that Schedule objects declare. */
  ownedIn(namespace: string): Promise<{ id: string; name: string; uid: string }[]>;
  /** The namespaces that hold at least one schedule, sorted. */
  namespaces(): Promise<string[]>;
  /** Every stored document, decoded, in id order: the engine's snapshot. */
  all(): AsyncIterable<DecodedSchedule>;
  /** Opens a change stream that is established on return (it covers every later write). */
  watch(resumeAfter: ResumeToken | null): Promise<ScheduleChangeStream>;
}

export type ResumeToken = unknown;

export type ScheduleChange = (
  | { kind: 'upsert'; schedule: Schedule; token: ResumeToken }
  /** a document was written that is not a valid schedule: that schedule cannot run */
  | ({ kind: 'invalid'; token: ResumeToken } & InvalidStoredSchedule)
  | { kind: 'delete'; id: string; token: ResumeToken }
  /** an event whose document is gone by the time it was read: a later event follows */
  | { kind: 'noop'; token: ResumeToken }
) & {
  /** When MongoDB committed the change (the event's wall time, else its cluster time); for metrics. */
  clusterTime?: Date;
};

export interface ScheduleChangeStream {
  /** Blocks until the next change. Throws ChangeHistoryLostError or StoreUnavailableError. */
  next(): Promise<ScheduleChange>;
  /** The position after everything read so far (null if unknown yet): resume from here. */
  readonly resumeToken: ResumeToken | null;
  close(): Promise<void>;
}

/**
 * `abandoned`: stopped before its action could have taken effect (nothing was sent).
 * `unknown`: its action was under way when its leader stopped (shut down past its budget, lost
 * the Lease, froze, died): it may or may not have taken effect — a webhook may have been delivered.
 * `released`: claimed, then given back before its action started (leadership ended); the key
 * stays taken and the next leader's catch-up decides the occurrence (see RunStore.unclaim).
 * `missed`: not a run but a summary of occurrences the misfire policy passed over (see
 * MissedRecord).
 */
export type RunStatus =
  | 'missed'
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'abandoned'
  | 'unknown'
  | 'released';
export type RunTrigger = 'schedule' | 'catchup' | 'manual';

export interface Run {
  id: string;
  scheduleId: string;
  scheduleName: string;
  scheduledFor: Date;
  createdAt: Date;
  firedAt: Date | null;
  finishedAt: Date | null;
  status: RunStatus;
  attempts: number;
  trigger: RunTrigger;
  leader: string | null;
  epoch: number | null;
  latenessMs: number | null;
  error: string | null;
  response: { statusCode?: number; durationMs: number; summary?: string } | null;
  /**
   * The Kubernetes Job this run was handed off to (a kubernetesJob action): the run stays
   * `running` until that Job finishes, and follows it across failovers (src/jobs/job-tracker.ts).
   */
  job: JobRef | null;
}

/** A Job, by where it lives. */
export interface JobRef {
  namespace: string;
  name: string;
}

/** What the engine records when an action hands its run over to a Kubernetes Job. */
export interface JobHandOff {
  job: JobRef;
  attempts: number;
  response?: Run['response'];
}

/** How a handed-off run ended, read from its Job. */
export interface JobSettlement {
  status: 'succeeded' | 'failed';
  finishedAt: Date;
  error?: string;
  /** the Job that decided it (recorded too, for a run settled before its hand-off was) */
  job: JobRef;
}

export interface ClaimRequest {
  id: string;
  scheduleId: string;
  scheduleName: string;
  scheduledFor: Date;
  firedAt: Date;
  trigger: RunTrigger;
  leader: string;
  epoch: number;
  /** 'running' for a run that will execute, 'skipped' to record a skipped occurrence */
  status: 'running' | 'skipped';
  error?: string;
  /** this leader process (a pod restarted under the same name is a new instance) */
  instance?: string;
  /**
   * The schedule has maxRuns, so its claim count must be exact before the claim is answered.
   * Without it the count (and the latest claimed occurrence) may be written a moment later, off
   * the claim's path (issue 13): losing that write only makes a new leader's catch-up start
   * earlier, where the claim index refuses every occurrence already claimed.
   */
  exactCount?: boolean;
}

export interface RunResult {
  /** skipped: claimed, then judged not to run (its claim returned late; see judgeTurn) */
  status: 'succeeded' | 'failed' | 'abandoned' | 'skipped' | 'unknown';
  finishedAt: Date;
  attempts: number;
  error?: string;
  response?: Run['response'];
}

/**
 * Occurrences of one schedule the misfire policy passed over, summarised as one run record
 * (status `missed`, scheduledFor = the first of them) so run history shows the gap. Like a
 * manual run it is outside the claim index: it fences nothing, counts for no maxRuns and moves
 * no catch-up mark; the decision it reports was made by the leader that wrote it.
 */
export interface MissedRecord {
  id: string;
  scheduleId: string;
  scheduleName: string;
  /** the first occurrence passed over */
  first: Date;
  /** how many were passed over, up to `until` */
  count: number;
  until: Date;
  reason: string;
  leader: string;
  epoch: number;
}

export interface RunStore {
  /** Writes missed-occurrence summaries (one insert for all of them; an id already written is skipped). */
  recordMissed(records: MissedRecord[]): Promise<void>;
  /**
   * Claims an occurrence by inserting its run, or by taking over its `released` run when that
   * was given back by a leader of `req.epoch` or an earlier one. Returns the id of the run that
   * now holds the occurrence for this request (`req.id`, or the taken-over run's id), or null
   * when someone else holds it. Safe to retry with the same request id. Throws
   * CounterUpdateError (carrying the run id) when the run was claimed but the per-schedule
   * counter was not updated.
   */
  claim(req: ClaimRequest): Promise<string | null>;
  /**
   * Gives back a claim whose action never started (leadership ended in between). An occurrence
   * is marked `released`, never deleted, so its key stays taken (no stale leader can claim it);
   * it stops counting for maxRuns, and lastClaimed steps back before it so the next leader's
   * catch-up decides it. `claimId` is the request id of the claim being given back (the run id
   * unless that claim took over a released run). A manual run goes back to pending.
   */
  unclaim(runId: string, claimId?: string): Promise<void>;
  /**
   * Records how a run ended. Only a run still `running`, or `unknown` (settled by a newer leader
   * while its own leader was frozen or cut off: that leader may know better), is changed.
   */
  finish(runId: string, result: RunResult): Promise<void>;
  /** Records a manual trigger for the leader to execute; returns the pending run. */
  requestManual(schedule: Pick<Schedule, 'id' | 'name'>, now: Date): Promise<Run>;
  /** Atomically moves a pending manual run to running for this leader; false if taken. */
  startManual(
    runId: string,
    leader: string,
    epoch: number,
    firedAt: Date,
    instance?: string,
  ): Promise<boolean>;
  pendingManual(limit: number): Promise<Run[]>;
  list(scheduleId: string, query: { limit: number; cursor?: string }): Promise<Page<Run>>;
  /**
   * The latest claimed occurrence (schedule or catch-up) of each schedule; survives run expiry.
   * `counters`: each schedule's latest claim as the caller already knows it (the schedule cache
   * follows them); read from MongoDB when absent. Released claims are applied either way.
   */
  lastClaimed(scheduleIds?: string[], counters?: Map<string, Date>): Promise<Map<string, Date>>;
  /** How many occurrences were claimed to run (for maxRuns); survives run expiry. */
  claimedCount(scheduleId: string): Promise<number>;
  /**
   * Runs still `running` whose leader stopped before recording how they ended: from older
   * epochs, or from another holder or process within `current.epoch` (a newer epoch's runs, a
   * live leader's, are never touched). Their action may have taken effect: marks them `unknown`.
   * Runs handed off to a Job are left alone: they follow their Job, whoever leads.
   */
  settleOrphans(current: { leader: string; epoch: number; instance?: string }, now: Date): Promise<number>;
  /**
   * Writes what the store keeps back to write together (claim counters without maxRuns; see
   * ClaimRequest.exactCount). The engine calls it when it stops leading.
   */
  flushCounters?(): Promise<void>;
  /** Count of runs currently running for a schedule (for concurrency=forbid). */
  runningFor(scheduleId: string): Promise<number>;
  /**
   * Records that a run's action created (or found) its Job and the run now follows that Job: it
   * stays `running` with `job` set. Only a run that is `running`, or `unknown` (settled by a newer
   * leader meanwhile; it goes back to `running`), is changed: one already settled from its Job
   * keeps how it ended.
   */
  handOff(runId: string, handOff: JobHandOff, now: Date): Promise<void>;
  /**
   * A Job was found for a run that does not know it yet: one left `unknown` by a leader that died
   * between creating the Job and recording the hand-off, or one still `running` without `job`. It
   * goes (back) to `running` with `job`. Returns whether it changed anything.
   */
  adoptJob(runId: string, job: JobRef, now: Date): Promise<boolean>;
  /**
   * Records how a run's Job ended: status, finishedAt and error only (attempts and response stay
   * as the hand-off recorded them), and only for a run still `running` or `unknown`. Returns
   * whether it changed anything, so a settlement is reported once.
   */
  settleJob(runId: string, settlement: JobSettlement): Promise<boolean>;
  /** Runs still `running` that follow a Job in `namespace` and were handed off before `before`. */
  jobRuns(namespace: string, before: Date): Promise<{ id: string; scheduleId: string; job: JobRef }[]>;
}
