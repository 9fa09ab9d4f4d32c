// The leader's engine: snapshot + change stream → one timer per active schedule;
// a due occurrence is claimed in MongoDB (unique {scheduleId, scheduledFor}) before
// its action runs, so a failover can neither lose nor repeat an occurrence.
//
// Every leadership term gets a number; each async continuation checks it, so work
// that was in flight when leadership ended can never fire for the old term.
//
// Graceful shutdown drains before leadership ends (drain(), then stop()): nothing new starts,
// running actions finish while the Lease is still held, and every run records how it ended.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ActionResult } from '../actions/types.ts';
import { isCompact } from '../cache/schedule-index.ts';
import type { Schedule } from '../schedule/schema.ts';
import { describeProblems, type InvalidStoredSchedule } from '../schedule/stored.ts';
import { ChangeHistoryLostError, CounterUpdateError, InvalidStoredScheduleError } from '../store/errors.ts';
import type {
  ClaimRequest,
  ResumeToken,
  Run,
  RunResult,
  RunTrigger,
  ScheduleChange,
  ScheduleChangeStream,
} from '../store/types.ts';
import { runOutcome, type StopCause } from './outcome.ts';
import { editBoundary, judgeTurn, ON_TIME_TOLERANCE_MS, planDue, startCursor } from './plan.ts';
import { RunPool } from './run-pool.ts';
import { TimerHeap } from './timer-heap.ts';
import {
  DEFAULT_MAX_CONCURRENT_RUNS,
  type EngineDeps,
  type EngineMetrics,
  noopEngineMetrics,
} from './types.ts';

// One per armed schedule, so kept small (100,000 of them must fit in < 1 KiB each, see
// bench/README.md): the cursor is epoch ms, not a Date (~100 B); the map of running runs
// exists only while something runs (an empty Map is ~190 B); an idle entry shares one
// settled promise. An edit updates the entry in place, so fires in flight and later ones
// see the same `running` and `claims`.
interface Entry {
  schedule: Schedule;
  /** every occurrence up to here (epoch ms) has been decided by this term */
  cursor: number;
  running: Map<string, AbortController> | null;
  exhausted: boolean;
  /** claims of one schedule happen one at a time, in occurrence order */
  claims: Promise<void>;
  /** occurrences (epoch ms) queued in `claims` whose turn has not come yet; null when none */
  pending: number[] | null;
}

const SETTLED: Promise<void> = Promise.resolve();

/** The reason a running action is aborted with, so its record can say why (outcome.ts). */
class RunStoppedError extends Error {
  override readonly name = 'RunStoppedError';
  readonly stopCause: Exclude<StopCause, null>;
  constructor(stopCause: Exclude<StopCause, null>, message: string) {
    super(message);
    this.stopCause = stopCause;
  }
}

/** Claim attempts per occurrence: ~1.5 s of backoff (100 ms doubling), then the misfire policy decides. */
const CLAIM_ATTEMPTS = 5;
/** Attempts to record how a run ended: ~7 s of backoff (100 ms doubling, at most 2 s apart). */
const FINISH_ATTEMPTS = 8;
const NO_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * The engine's copy of a schedule: a fixed-shape object (documents decoded from BSON
 * are not), with identical small sub-documents (the spec, misfire, a log action)
 * shared between schedules, and without what firing never reads (labels, description).
 */
function slim(s: Schedule, shared: Map<string, object>): Schedule {
  // The schedule cache's copy (issue 14) is compact already and shared with the API's reads.
  if (isCompact(s)) return s;
  const intern = <T extends object>(v: T): T => {
    const key = JSON.stringify(v);
    if (key.length > 200) return v;
    const hit = shared.get(key);
    if (hit) return hit as T;
    shared.set(key, v);
    return v;
  };
  return {
    id: s.id,
    name: s.name,
    namespace: s.namespace,
    version: s.version,
    // only what repeats across many schedules: a unique value would cost its key too
    schedule: 'at' in s.schedule ? s.schedule : intern(s.schedule),
    action: s.action.type === 'log' ? intern(s.action) : s.action,
    paused: s.paused,
    startAt: s.startAt,
    endAt: s.endAt,
    maxRuns: s.maxRuns,
    concurrency: s.concurrency,
    misfire: intern(s.misfire),
    labels: NO_LABELS,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

function addRunning(e: Entry, runId: string, ctrl: AbortController, all: Set<AbortController>): void {
  e.running ??= new Map();
  e.running.set(runId, ctrl);
  all.add(ctrl);
}

function dropRunning(e: Entry, runId: string, all: Set<AbortController>): void {
  const ctrl = e.running?.get(runId);
  if (ctrl) all.delete(ctrl);
  if (e.running?.delete(runId) && e.running.size === 0) e.running = null;
}

export interface EngineStatus {
  leading: boolean;
  epoch: number | null;
  schedules: number;
  armed: number;
  /** runs claimed and not yet finished, including those waiting for a slot */
  running: number;
  /** runs waiting for a slot (MAX_CONCURRENT_RUNS) */
  queued: number;
}

export class Engine {
  readonly #d: EngineDeps;
  readonly #m: EngineMetrics;
  readonly #entries = new Map<string, Entry>();
  /**
   * Schedules whose stored document is not a valid schedule, by id → that document's
   * version (0 when unreadable): idle, with no entry, until a valid newer version or a
   * delete arrives. Kept so a replayed older valid version cannot re-arm them.
   */
  readonly #invalid = new Map<string, number>();
  readonly #timers: TimerHeap;
  readonly #pool: RunPool;
  readonly #instance: string;
  #term = 0;
  #leading = false;
  /** drain() has begun: this term starts nothing new (no timer, claim or manual run) */
  #draining = false;
  #epoch: number | null = null;
  #stream: ScheduleChangeStream | null = null;
  #token: ResumeToken | null = null;
  #manualTimer: NodeJS.Timeout | null = null;
  /** claims and runs in progress; stop() waits for them to record how they ended */
  readonly #inflight = new Set<Promise<void>>();
  /** every running action, also those on no entry (a manual run, a deleted schedule) */
  readonly #running = new Set<AbortController>();
  /** small sub-documents shared between the schedules of this term (see slim) */
  #shared = new Map<string, object>();

  constructor(deps: EngineDeps) {
    this.#d = deps;
    this.#m = deps.metrics ?? noopEngineMetrics;
    this.#instance = deps.instance ?? randomUUID();
    this.#timers = new TimerHeap((id, at) => this.#onDue(id, at));
    this.#pool = new RunPool(deps.maxConcurrentRuns ?? DEFAULT_MAX_CONCURRENT_RUNS);
  }

  status(): EngineStatus {
    return {
      leading: this.#leading,
      epoch: this.#epoch,
      schedules: this.#entries.size,
      armed: this.#timers.size,
      running: this.#running.size,
      queued: this.#pool.queued,
    };
  }

  /** The instant a schedule is armed for on this leader, if any (tests, benchmarks). */
  armedFor(scheduleId: string): { version: number; next: Date | null } | undefined {
    const e = this.#entries.get(scheduleId);
    if (!e) return undefined;
    const at = this.#timers.dueAt(scheduleId);
    return { version: e.schedule.version, next: at === undefined ? null : new Date(at) };
  }

  /**
   * Becomes the firing engine for leadership `epoch` (the Lease's leaseTransitions).
   * Opens the change stream first, then reads the snapshot, then follows the stream,
   * so no write between the two can be lost. Resolves once the snapshot is armed.
   */
  async start(epoch: number): Promise<void> {
    if (this.#leading) throw new Error('engine already started');
    const term = ++this.#term;
    this.#leading = true;
    this.#draining = false;
    this.#epoch = epoch;
    const log = this.#d.logger;
    const t0 = performance.now();
    const orphans = await this.#d.runs.settleOrphans(
      { leader: this.#d.identity, epoch, instance: this.#instance },
      this.#d.now(),
    );
    if (orphans > 0) {
      log.warn(
        { orphans },
        'runs left running by an earlier leader recorded as unknown: they may have taken effect',
      );
      for (let i = 0; i < orphans; i++) this.#m.fired('unknown', 'unknown');
    }
    if (term !== this.#term) return;
    await this.#loadSnapshot(term);
    if (term !== this.#term) return;
    log.info(
      {
        epoch,
        schedules: this.#entries.size,
        armed: this.#timers.size,
        ms: Math.round(performance.now() - t0),
      },
      'engine started: snapshot armed, following the change stream',
    );
    void this.#followStream(term);
    this.#scheduleManualPoll(term, 0);
  }

  /**
   * Graceful shutdown's first step, taken while this replica still holds a valid Lease: start
   * nothing new, at once (no timer, no claim, no manual run; a claim made meanwhile is given
   * back), let running actions finish for up to `budgetMs`, then abort those still running.
   * Resolves once every run has recorded how it ended; stop() then ends leadership. If
   * leadership ends meanwhile (a renew fails), stop() aborts what runs and this resolves too.
   */
  async drain(budgetMs: number): Promise<{ running: number; aborted: number }> {
    if (!this.#leading) {
      await this.#drain();
      return { running: 0, aborted: 0 };
    }
    this.#draining = true;
    this.#timers.clear();
    if (this.#manualTimer) clearTimeout(this.#manualTimer);
    this.#manualTimer = null;
    const running = this.#running.size;
    const settled = this.#drain();
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      settled.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), budgetMs);
      }),
    ]);
    clearTimeout(timer);
    if (inTime) return { running, aborted: 0 };
    const aborted = this.#running.size;
    const reason = new RunStoppedError('leadership', 'the shutdown budget ran out');
    for (const c of this.#running) c.abort(reason);
    await settled;
    return { running, aborted };
  }

  /**
   * Stops firing at once (synchronously: no timer fires after this returns), aborts
   * running actions, then closes the stream and waits for in-flight claims and runs
   * to record how they ended. Idempotent.
   */
  stop(): Promise<void> {
    if (!this.#leading) return this.#drain();
    this.#term++;
    this.#leading = false;
    this.#draining = false;
    this.#epoch = null;
    this.#timers.clear();
    if (this.#manualTimer) clearTimeout(this.#manualTimer);
    this.#manualTimer = null;
    const reason = new RunStoppedError('leadership', 'leadership ended');
    for (const c of this.#running) c.abort(reason);
    this.#entries.clear();
    this.#invalid.clear();
    this.#shared = new Map();
    this.#m.armed(0);
    this.#m.invalid(0);
    const stream = this.#stream;
    this.#stream = null;
    this.#token = null;
    return Promise.all([stream?.close(), this.#drain()])
      .then(() => this.#d.runs.flushCounters?.())
      .then(() => {});
  }

  /** Waits for in-flight work, including what it starts while finishing (e.g. an unclaim). */
  async #drain(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  #track(p: Promise<void>): void {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  #mayFire(term: number): boolean {
    return term === this.#term && !this.#draining && (this.#d.leaseValid?.() ?? true);
  }

  // --- snapshot and stream -------------------------------------------------

  /** Opens a fresh stream, then reads every schedule; the stream covers whatever changes meanwhile. */
  async #loadSnapshot(term: number): Promise<void> {
    const stream = await this.#d.schedules.watch(null);
    if (term !== this.#term) {
      await stream.close();
      return;
    }
    this.#stream = stream;
    this.#token = stream.resumeToken;
    const lastClaimed = await (this.#d.lastClaimed?.() ?? this.#d.runs.lastClaimed());
    const seen = new Set<string>();
    for await (const d of this.#d.schedules.all()) {
      if (term !== this.#term) return;
      if (d.ok) {
        seen.add(d.schedule.id);
        this.#upsert(d.schedule, lastClaimed.get(d.schedule.id));
      } else {
        seen.add(d.id);
        this.#invalidate(d);
      }
    }
    if (term !== this.#term) return;
    for (const id of [...this.#entries.keys()]) if (!seen.has(id)) this.#remove(id);
    for (const id of [...this.#invalid.keys()]) if (!seen.has(id)) this.#invalid.delete(id);
    this.#m.armed(this.#timers.size);
    this.#m.invalid(this.#invalid.size);
  }

  async #followStream(term: number): Promise<void> {
    let backoffMs = 100;
    let resync = false;
    while (term === this.#term) {
      try {
        if (!this.#stream || resync) {
          const old = this.#stream;
          this.#stream = null;
          await old?.close();
          if (term !== this.#term) return;
          if (resync || this.#token === null) {
            // No position to resume from (history lost, or nothing known yet): a
            // fresh stream plus a full snapshot, applied by version.
            await this.#loadSnapshot(term);
            resync = false;
          } else {
            const stream = await this.#d.schedules.watch(this.#token);
            if (term !== this.#term) {
              await stream.close();
              return;
            }
            this.#stream = stream;
          }
          continue;
        }
        const stream = this.#stream;
        const change = await stream.next();
        if (term !== this.#term) return;
        this.#apply(change);
        this.#token = stream.resumeToken ?? change.token;
        backoffMs = 100;
      } catch (err) {
        if (term !== this.#term) return;
        const lost = err instanceof ChangeHistoryLostError;
        this.#m.streamRestart(lost ? 'history-lost' : 'error');
        this.#d.logger.warn({ err, resync: lost }, 'schedules change stream failed; reopening');
        if (lost) resync = true;
        const old = this.#stream;
        this.#stream = null;
        await old?.close().catch(() => {});
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    }
  }

  #apply(change: ScheduleChange): void {
    this.#m.streamEvent(change.kind, change.clusterTime);
    if (change.kind === 'upsert') this.#upsert(change.schedule, undefined);
    else if (change.kind === 'invalid') this.#invalidate(change);
    else if (change.kind === 'delete') this.#remove(change.id);
    this.#m.armed(this.#timers.size);
    this.#m.invalid(this.#invalid.size);
  }

  #upsert(full: Schedule, lastClaimed: Date | undefined): void {
    const broken = this.#invalid.get(full.id);
    if (broken !== undefined) {
      if (broken >= full.version) return; // older than the invalid document that replaced it
      this.#invalid.delete(full.id); // fixed: from here on like a new schedule
    }
    const existing = this.#entries.get(full.id);
    if (existing && existing.schedule.version >= full.version) return; // replayed or stale event
    // Superseded versions and deleted schedules leave entries behind: start over when stale.
    if (this.#shared.size > 2 * this.#entries.size + 1000) this.#shared = new Map();
    const s = slim(full, this.#shared);
    if (existing) {
      // Occurrences due before the edit belong to the old version: decide them first,
      // so an edit that lands just after an occurrence cannot swallow it.
      const editedAt = editBoundary(s.updatedAt, this.#d.now());
      if (editedAt > existing.cursor) this.#evaluate(existing, new Date(editedAt));
      existing.schedule = s;
      existing.cursor = Math.max(existing.cursor, editedAt);
      existing.exhausted = false;
      this.#evaluate(existing, this.#d.now());
      return;
    }
    const entry: Entry = {
      schedule: s,
      cursor: startCursor(lastClaimed, s.updatedAt, this.#d.now()).getTime(),
      running: null,
      exhausted: false,
      claims: SETTLED,
      pending: null,
    };
    this.#entries.set(s.id, entry);
    this.#evaluate(entry, this.#d.now());
  }

  /**
   * A stored document that is not a valid schedule (written around the API). Only that
   * schedule stops: it idles, named in a warn line, until a valid newer version arrives
   * or it is deleted. Versions order it like any edit, so a stale or replayed invalid
   * document cannot stop the version that superseded it.
   */
  #invalidate(bad: InvalidStoredSchedule): void {
    const version = bad.version ?? 0;
    const problems = describeProblems(bad.errors);
    const armed = this.#entries.get(bad.id);
    if (armed && armed.schedule.version >= version) {
      this.#d.logger.warn(
        { scheduleId: bad.id, version: bad.version, problems, runningVersion: armed.schedule.version },
        'stored schedule document is not valid, but is not newer than the version armed; that version keeps running',
      );
      return;
    }
    if (armed) this.#remove(bad.id);
    this.#invalid.set(bad.id, Math.max(version, this.#invalid.get(bad.id) ?? 0));
    this.#d.logger.warn(
      { scheduleId: bad.id, version: bad.version, problems },
      'stored schedule document is not valid; this schedule stays idle until it is replaced or deleted',
    );
  }

  #remove(id: string): void {
    this.#invalid.delete(id);
    const e = this.#entries.get(id);
    if (!e) return;
    this.#timers.disarm(id);
    this.#entries.delete(id);
    this.#d.onArmed?.(id, e.schedule.version, null);
  }

  // --- timing -----------------------------------------------------------------

  #onDue(id: string, at: number): void {
    const e = this.#entries.get(id);
    if (!e || !this.#leading || this.#draining) return;
    // The timer was set for `at`, so that occurrence is due even if the wall clock lags.
    this.#evaluate(e, new Date(Math.max(this.#d.now().getTime(), at)));
  }

  #evaluate(e: Entry, now: Date): void {
    if (this.#draining) return; // an edit arriving while draining: the next leader decides it
    const s = e.schedule;
    if (s.paused || e.exhausted) {
      this.#timers.disarm(s.id);
      this.#d.onArmed?.(s.id, s.version, null);
      return;
    }
    let plan: ReturnType<typeof planDue>;
    try {
      plan = planDue(s, new Date(e.cursor), now, this.#d.maxCatchUp);
    } catch (err) {
      // One schedule this replica cannot plan (e.g. written by a newer version or by
      // hand) must not stop the others: leave it idle and say so.
      this.#timers.disarm(s.id);
      this.#d.onArmed?.(s.id, s.version, null);
      this.#d.logger.error(
        { err, scheduleId: s.id, version: s.version },
        'cannot plan this schedule; it stays idle',
      );
      return;
    }
    e.cursor = plan.cursor.getTime();
    if (plan.skippedCount > 0) {
      this.#m.missed(plan.skippedCount);
      this.#d.observer?.passedOver(
        s.id,
        plan.skippedCount,
        `missed; passed over by misfire policy ${s.misfire.policy}`,
      );
      this.#d.logger.info(
        { scheduleId: s.id, skipped: plan.skippedCount, policy: s.misfire.policy },
        'missed occurrences passed over by the misfire policy',
      );
      this.#noteMissed(
        s,
        plan.firstSkipped ?? now,
        plan.skippedCount,
        now,
        `misfire policy ${s.misfire.policy}`,
      );
    }
    const term = this.#term;
    for (const f of plan.fire) {
      e.pending ??= [];
      e.pending.push(f.at.getTime());
      const next = e.claims.then(() => this.#fire(e, s, f.at, f.trigger, term));
      e.claims = next;
      this.#track(next);
    }
    if (plan.next) this.#timers.arm(s.id, plan.next.getTime());
    else this.#timers.disarm(s.id);
    this.#d.onArmed?.(s.id, s.version, plan.next);
  }

  // --- firing -----------------------------------------------------------------

  /**
   * Occurrences queued behind the one whose turn it is that are missed by now themselves: only
   * they can stand in for it under the misfire policy (an on-time one never does, as in planDue,
   * where a catch-up fires beside the on-time occurrence).
   */
  #missedBehind(e: Entry): number {
    if (!e.pending) return 0;
    const cutoff = this.#d.now().getTime() - ON_TIME_TOLERANCE_MS;
    let n = 0;
    for (const t of e.pending) if (t < cutoff) n++;
    return n;
  }

  /** Passed-over occurrences, for run history (missed-runs.ts); the metric and log are the caller's. */
  #noteMissed(s: Schedule, first: Date, count: number, until: Date, reason: string): void {
    this.#d.missedRuns?.note({
      scheduleId: s.id,
      scheduleName: s.name,
      first,
      count,
      until,
      reason,
      leader: this.#d.identity,
      epoch: this.#epoch ?? -1,
    });
  }

  /** Claims one occurrence (in order, per schedule) and starts its run; never throws. */
  /** `s` is the version the occurrence was decided under (an edit may update `e` meanwhile). */
  async #fire(e: Entry, s: Schedule, at: Date, planned: 'schedule' | 'catchup', term: number): Promise<void> {
    const log = this.#d.logger;
    e.pending?.shift();
    if (e.pending?.length === 0) e.pending = null;
    let trigger: RunTrigger = planned;
    try {
      if (!this.#mayFire(term) || e.exhausted || this.#entries.get(s.id) !== e) return;
      // Decided on time, but its turn may come late (claims queued behind a slow or
      // unavailable database): the misfire policy decides it again, now.
      const passed = judgeTurn(s.misfire, at, this.#d.now(), this.#missedBehind(e), this.#d.maxCatchUp);
      if (passed !== null) {
        this.#m.missed(1);
        this.#d.observer?.passedOver(s.id, 1, passed);
        log.warn({ scheduleId: s.id, scheduledFor: at.toISOString(), reason: passed }, 'occurrence skipped');
        this.#noteMissed(s, at, 1, this.#d.now(), passed);
        return;
      }
      trigger = this.#d.now().getTime() - at.getTime() > ON_TIME_TOLERANCE_MS ? 'catchup' : planned;
      if (s.maxRuns !== null) {
        const n = await this.#d.runs.claimedCount(s.id);
        if (term !== this.#term) return;
        if (n >= s.maxRuns) {
          if (e.schedule !== s) return; // edited meanwhile: the new version decides
          e.exhausted = true;
          this.#timers.disarm(s.id);
          log.info({ scheduleId: s.id, maxRuns: s.maxRuns }, 'maxRuns reached; schedule no longer fires');
          return;
        }
      }
      const base = {
        scheduleId: s.id,
        scheduleName: s.name,
        scheduledFor: at,
        trigger,
        leader: this.#d.identity,
        epoch: this.#epoch ?? -1,
        instance: this.#instance,
        exactCount: s.maxRuns !== null,
      };
      // A kubernetesJob run's action ends once its Job exists; the Job may run much longer, and
      // counts as running until it finishes (the tracker learns of it before the action returns).
      const activeJobs = s.concurrency === 'forbid' ? (this.#d.jobs?.active(s.id) ?? 0) : 0;
      if (s.concurrency === 'forbid' && ((e.running?.size ?? 0) > 0 || activeJobs > 0)) {
        if (!this.#mayFire(term)) return;
        const why =
          activeJobs > 0
            ? 'a Job of this schedule is still active (concurrency=forbid)'
            : 'previous run still running (concurrency=forbid)';
        const claimed = await this.#claim(
          { ...base, id: randomUUID(), firedAt: this.#d.now(), status: 'skipped', error: why },
          term,
        );
        this.#m.fired(claimed !== null ? 'skipped' : 'duplicate', trigger);
        if (claimed !== null) this.#d.observer?.passedOver(s.id, 1, why);
        return;
      }
      if (!this.#mayFire(term)) return;
      if (s.concurrency === 'replace') {
        const reason = new RunStoppedError('replaced', 'replaced by a newer run (concurrency=replace)');
        for (const c of e.running?.values() ?? []) c.abort(reason);
      }
      const firedAt = this.#d.now();
      // The request id names this claim; the run that holds the occurrence keeps the id of
      // the first claim when this one takes over a claim given back (see RunStore.claim).
      const claimId = randomUUID();
      const runId = await this.#claim({ ...base, id: claimId, firedAt, status: 'running' }, term);
      const latenessMs = firedAt.getTime() - at.getTime();
      if (runId === null) {
        this.#m.fired('duplicate', trigger, latenessMs);
        log.info({ scheduleId: s.id, scheduledFor: at.toISOString() }, 'occurrence already claimed; skipped');
        return;
      }
      // A claim that hung (a frozen database) returns late, with more occurrences due behind
      // it: it is claimed — the fence stays — but the policy may say it must not run.
      const superseded = judgeTurn(s.misfire, at, this.#d.now(), this.#missedBehind(e), this.#d.maxCatchUp);
      if (superseded !== null) {
        await this.#finish(runId, {
          status: 'skipped',
          finishedAt: this.#d.now(),
          attempts: 0,
          error: `claimed late: ${superseded}`,
        });
        this.#m.fired('skipped', trigger, latenessMs);
        this.#d.observer?.passedOver(s.id, 1, `claimed late: ${superseded}`);
        log.warn(
          { scheduleId: s.id, scheduledFor: at.toISOString(), reason: superseded },
          'occurrence claimed late; recorded as skipped',
        );
        return;
      }
      // #execute registers the run synchronously, before the next claim of this
      // schedule is decided, so forbid sees it.
      this.#track(this.#execute(e, s, runId, at, firedAt, term, trigger, latenessMs, claimId));
    } catch (err) {
      if (term === this.#term && this.#entries.get(s.id) === e && e.schedule === s) {
        // Not fired (whatever failed, and whether or not the claim landed): rewind so the
        // next wake-up treats it as missed and the misfire policy decides, instead of
        // losing it silently. The fence makes a second decision harmless.
        e.cursor = Math.min(e.cursor, at.getTime() - 1);
      }
      log.error({ err, scheduleId: s.id, scheduledFor: at.toISOString() }, 'fire failed');
      this.#m.fired('failed', trigger);
    }
  }

  /**
   * A claim survives a short MongoDB outage or a failed answer: retried with backoff while this
   * term may fire. Every error is retried, not only those known to be transient: the request id
   * is the same, so a retry of a claim that landed finds it to be ours, and "someone else holds
   * it" (a duplicate key) is an answer (null), never an error.
   */
  async #claim(req: ClaimRequest, term: number): Promise<string | null> {
    for (let attempt = 1, delay = 100; ; attempt++, delay *= 2) {
      try {
        return await this.#d.runs.claim(req);
      } catch (err) {
        if (err instanceof CounterUpdateError) {
          this.#d.logger.warn(
            { err, runId: err.runId },
            'claimed, but the run counter lags (maxRuns may allow one more)',
          );
          return err.runId;
        }
        if (attempt >= CLAIM_ATTEMPTS || !this.#mayFire(term)) throw err;
        this.#d.logger.warn({ err, runId: req.id, attempt }, 'claim failed; retrying');
        await sleep(delay);
        if (!this.#mayFire(term)) throw err;
      }
    }
  }

  /**
   * Records how a run ended, retried with backoff: a run that succeeded during a database blip
   * must not stay `running` (and be marked abandoned by the next leader). Safe to repeat: finish
   * only moves a run that is still `running`. Not bound to the term: the run happened.
   */
  #finish(runId: string, result: RunResult): Promise<void> {
    return this.#record(runId, () => this.#d.runs.finish(runId, result));
  }

  /** One write about a run that happened, retried as #finish explains. */
  async #record(runId: string, write: () => Promise<void>): Promise<void> {
    for (let attempt = 1, delay = 100; ; attempt++, delay = Math.min(delay * 2, 2000)) {
      try {
        await write();
        return;
      } catch (err) {
        if (attempt >= FINISH_ATTEMPTS) throw err;
        this.#d.logger.warn({ err, runId, attempt }, 'recording how a run ended failed; retrying');
        await sleep(delay);
      }
    }
  }

  async #execute(
    e: Entry,
    s: Schedule,
    runId: string,
    at: Date,
    firedAt: Date,
    term: number,
    trigger: RunTrigger,
    latenessMs: number | undefined,
    claimId: string = runId,
  ): Promise<void> {
    const ctrl = new AbortController();
    addRunning(e, runId, ctrl, this.#running);
    let slot: (() => void) | null = null;
    try {
      // Its turn among the runs under way (MAX_CONCURRENT_RUNS); a newer run of a `replace`
      // schedule, the end of leadership or a drain may stop it while it waits.
      slot = this.#mayFire(term) ? await this.#pool.acquire(ctrl.signal) : null;
      if (slot === null || !this.#mayFire(term)) {
        const why: unknown = ctrl.signal.aborted ? ctrl.signal.reason : undefined;
        if (why instanceof RunStoppedError && why.stopCause === 'replaced' && term === this.#term) {
          await this.#finish(runId, {
            status: 'abandoned',
            finishedAt: this.#d.now(),
            attempts: 0,
            error: `${why.message}, before it started`,
          });
          this.#m.fired('abandoned', trigger, latenessMs);
          this.#d.observer?.finished(s.id, runId, 'abandoned', why.message);
          return;
        }
        // Leadership ended (or a drain began) between claim and action: nothing ran, so give
        // the claim back (marked released, the key stays taken) for the next leader's catch-up.
        await this.#d.runs
          .unclaim(runId, claimId)
          .catch((err) => this.#d.logger.warn({ err, runId }, 'unclaim failed'));
        this.#m.fired('abandoned', trigger, latenessMs);
        return;
      }
      // What the metric reports: from the occurrence to its action's start, a wait for a
      // slot included (manual runs have no occurrence time to be late for).
      if (latenessMs !== undefined) latenessMs = this.#d.now().getTime() - at.getTime();
      let result: ActionResult;
      this.#d.observer?.started(s.id, runId, at);
      const actionStartedMs = performance.now();
      try {
        result =
          (await this.#replaceJobs(s, ctrl.signal)) ??
          (await this.#d.actions.run(s.action, {
            runId,
            scheduleId: s.id,
            scheduleName: s.name,
            namespace: s.namespace,
            scheduledFor: at,
            attemptStartedAt: firedAt,
            signal: ctrl.signal,
            logger: this.#d.logger,
          }));
      } finally {
        slot();
        slot = null;
        dropRunning(e, runId, this.#running);
      }
      this.#m.ran(s.action.type, performance.now() - actionStartedMs, result.attempts);
      // Whatever stopped it, the record says what is known: a request cut off under way is
      // `unknown`, one that was never sent is `abandoned` (outcome.ts).
      const why: unknown = ctrl.signal.aborted ? ctrl.signal.reason : undefined;
      const status = runOutcome(result, why instanceof RunStoppedError ? why.stopCause : null);
      if (status === 'succeeded' && result.handedOff) {
        // The Job exists and runs on without us: the run stays `running` and follows it, here
        // and on whichever leader comes next (src/jobs/job-tracker.ts settles it). Not bound to
        // the term either: the Job was created.
        const { namespace, name } = result.handedOff;
        const handOff = {
          job: { namespace, name },
          attempts: result.attempts,
          ...(result.response !== undefined ? { response: result.response } : {}),
        };
        await this.#record(runId, () => this.#d.runs.handOff(runId, handOff, this.#d.now()));
        this.#m.fired('handedOff', trigger, latenessMs);
        return;
      }
      await this.#finish(runId, {
        status,
        finishedAt: this.#d.now(),
        attempts: result.attempts,
        ...(result.error !== undefined ? { error: result.error } : {}),
        ...(result.response !== undefined ? { response: result.response } : {}),
      });
      this.#m.fired(status, trigger, latenessMs);
      this.#d.observer?.finished(s.id, runId, status, result.error);
    } catch (err) {
      this.#d.logger.error({ err, runId, scheduleId: s.id }, 'recording a run failed');
    } finally {
      slot?.();
      dropRunning(e, runId, this.#running);
    }
  }

  /**
   * concurrency=replace over a Job's lifetime: the schedule's active Jobs are deleted before its
   * new run starts. Null when that is done (or there is nothing to do); a failed result when an
   * active Job could not be deleted, so the new run does not run beside it.
   */
  async #replaceJobs(s: Schedule, signal: AbortSignal): Promise<ActionResult | null> {
    if (s.concurrency !== 'replace' || !this.#d.jobs || this.#d.jobs.active(s.id) === 0) return null;
    try {
      await this.#d.jobs.replace(s.id);
    } catch (err) {
      this.#d.logger.warn({ err, scheduleId: s.id }, 'concurrency=replace: deleting the active Job failed');
      return {
        status: 'failed',
        attempts: 0,
        error: `concurrency=replace: the schedule's active Job could not be deleted: ${(err as Error).message}`,
      };
    }
    if (signal.aborted)
      return { status: 'aborted', attempts: 0, error: 'stopped before the Job was created' };
    return null;
  }

  // --- manual triggers ------------------------------------------------------

  #scheduleManualPoll(term: number, delayMs: number): void {
    if (term !== this.#term || this.#draining) return;
    this.#manualTimer = setTimeout(() => {
      void this.#pollManual(term).finally(() => this.#scheduleManualPoll(term, this.#d.manualPollMs ?? 500));
    }, delayMs);
  }

  async #pollManual(term: number): Promise<void> {
    try {
      const pending = await this.#d.runs.pendingManual(50);
      for (const run of pending) {
        if (!this.#mayFire(term)) return;
        await this.#startManual(run, term);
      }
    } catch (err) {
      this.#d.logger.warn({ err }, 'polling manual triggers failed');
    }
  }

  async #startManual(run: Run, term: number): Promise<void> {
    // A trigger sent right after a create may arrive before the stream's insert event.
    let e = this.#entries.get(run.scheduleId);
    let schedule = e?.schedule ?? null;
    let missing = 'the schedule no longer exists';
    if (!schedule) {
      try {
        schedule = await this.#d.schedules.get(run.scheduleId);
      } catch (err) {
        // Fail this run rather than the poll: later triggers must not queue behind it.
        if (!(err instanceof InvalidStoredScheduleError)) throw err;
        missing = err.message;
      }
    }
    if (!this.#mayFire(term)) return;
    const firedAt = this.#d.now();
    const won = await this.#d.runs.startManual(
      run.id,
      this.#d.identity,
      this.#epoch ?? -1,
      firedAt,
      this.#instance,
    );
    if (!won) return;
    if (!this.#mayFire(term)) {
      await this.#d.runs.unclaim(run.id); // back to pending for the next leader
      return;
    }
    if (!schedule) {
      await this.#finish(run.id, {
        status: 'failed',
        finishedAt: this.#d.now(),
        attempts: 0,
        error: missing,
      });
      return;
    }
    e ??= {
      schedule,
      cursor: firedAt.getTime(),
      running: null,
      exhausted: false,
      claims: SETTLED,
      pending: null,
    };
    this.#track(this.#execute(e, schedule, run.id, run.scheduledFor, firedAt, term, 'manual', undefined));
  }
}
