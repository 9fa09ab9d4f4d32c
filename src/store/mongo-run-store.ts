// RunStore on MongoDB. The unique index on {scheduleId, scheduledFor} (over the
// runs that are occurrences, i.e. not manual triggers) is the fence that makes
// claims exact-once across leaders: whoever inserts the run document first owns
// the occurrence; a duplicate-key error means "already fired".
//
// A claim given back (leadership ended before its action started) is never deleted: its
// document stays, `released`, so the key stays taken. The next leader's catch-up starts
// before it and takes it over in place (same run id) with one atomic update; a leader of
// an older epoch cannot. See docs/claims.md.
//
// `run_counters` keeps, per schedule, how many runs were claimed (maxRuns) and the
// latest claimed occurrence (where a new leader's catch-up starts). It is not
// subject to the runs' TTL, so neither forgets when history expires.
import { randomUUID } from 'node:crypto';
import { type Collection, type Db, type Filter, MongoBulkWriteError } from 'mongodb';
import type { Schedule } from '../schedule/schema.ts';
import { Batcher, type Settled } from './batcher.ts';
import { decodeCursor, pageOf } from './cursor.ts';
import { CounterUpdateError, StoreUnavailableError } from './errors.ts';
import { DUPLICATE_KEY, isDuplicateKey, mapMongoError, rethrow } from './mongo-errors.ts';
import type {
  ClaimRequest,
  JobHandOff,
  JobRef,
  JobSettlement,
  MissedRecord,
  Page,
  Run,
  RunResult,
  RunStatus,
  RunStore,
} from './types.ts';

/**
 * `occurrence` marks scheduled/catch-up runs: the claim index covers only those. `claimId` is
 * the request id of the claim that holds the document now: the run id for the first claim, the
 * taking-over request's id after a released claim was taken over.
 */
export type RunDoc = Omit<Run, 'id' | 'job'> & {
  _id: string;
  occurrence: boolean;
  instance?: string | null;
  claimId?: string;
  /** absent on runs written before Jobs were tracked */
  job?: JobRef | null;
  /** when `job` was recorded: a relist fails only runs handed off before it began (jobRuns) */
  handedOffAt?: Date | null;
};

const RELEASED_NOTE =
  "given back: leadership ended before the action started; the next leader's catch-up decides it";

interface CounterDoc {
  _id: string;
  claimed: number;
  last: Date;
}

export function missedSummary(m: Pick<MissedRecord, 'count' | 'first' | 'until' | 'reason'>): string {
  const what = m.count === 1 ? '1 occurrence' : `${m.count} occurrences`;
  return `${what} from ${m.first.toISOString()} to ${m.until.toISOString()} not run: ${m.reason}`;
}

function toRun(doc: RunDoc): Run {
  const { _id, occurrence: _o, instance: _i, claimId: _c, handedOffAt: _h, job, ...rest } = doc;
  return { id: _id, ...rest, job: job ?? null };
}

/**
 * Most documents in one bulk write. bench/burst.ts at 10,000 due at once: 1,000 reached 69 % of
 * the server's own bulk-insert rate, 2,500 91 %, 10,000 96 % but every claim then waits for the
 * one big insert (delivered p50 5.1 s against 3.4 s); 2,500 meets issue 13's targets.
 */
const DEFAULT_MAX_BATCH = 2500;

/**
 * A batch is sized so its round trip takes about this long. The stand-in server here runs one
 * command at a time: a 2,500-document insert on a loaded machine held every replica's fitness
 * ping past its 1 s deadline and the leader stepped down mid-burst
 * (test/engine/burst-failover.int.test.ts at 3/2/0.5 s Lease timings).
 */
const BATCH_TARGET_MS = 250;

/** Deferred counters per bulk write. */
const DEFERRED_CHUNK = 500;

/** How long claim counters without maxRuns wait to be written together (ms). */
const DEFERRED_COUNTERS_MS = 250;

export interface MongoRunStoreOptions {
  /**
   * Claims and finishes made in the same turn of the event loop share one round trip (issue 13;
   * default true). false: one insert and one counter upsert per claim, as before (benchmarks
   * compare the two).
   */
  batch?: boolean;
  /** most documents in one bulk write (default 2,500) */
  maxBatch?: number;
  /**
   * Told when a claim or finish round trip succeeded, with when it was sent (performance.now()):
   * the leader's fitness probe counts it as the database answering (src/election/fitness-probe.ts).
   */
  onAnswer?: (sentAtMs: number) => void;
}

function runDocOf(req: ClaimRequest): RunDoc {
  return {
    _id: req.id,
    scheduleId: req.scheduleId,
    scheduleName: req.scheduleName,
    scheduledFor: req.scheduledFor,
    createdAt: req.firedAt,
    firedAt: req.status === 'running' ? req.firedAt : null,
    finishedAt: req.status === 'skipped' ? req.firedAt : null,
    status: req.status,
    attempts: 0,
    trigger: req.trigger,
    leader: req.leader,
    epoch: req.epoch,
    latenessMs: req.firedAt.getTime() - req.scheduledFor.getTime(),
    error: req.error ?? null,
    response: null,
    job: null,
    occurrence: req.trigger !== 'manual',
    instance: req.instance ?? null,
    claimId: req.id,
  };
}

function counterUpdate(req: ClaimRequest) {
  return { $inc: { claimed: req.status === 'running' ? 1 : 0 }, $max: { last: req.scheduledFor } };
}

function finishUpdate(result: RunResult) {
  return {
    $set: {
      status: result.status,
      finishedAt: result.finishedAt,
      attempts: result.attempts,
      error: result.error ?? null,
      response: result.response ?? null,
    },
  };
}

/**
 * Runs an unordered bulk write; returns the failed operations by index. Throws (mapped) when the
 * round trip itself failed, so no operation's fate is known from it.
 */
async function failedWrites(write: () => Promise<unknown>): Promise<Map<number, unknown>> {
  try {
    await write();
    return new Map();
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError) || !err.writeErrors) throw mapMongoError(err);
    const list = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    if (list.length === 0) throw mapMongoError(err);
    return new Map(list.map((e) => [e.index, e]));
  }
}

const isDuplicateCode = (e: unknown) => (e as { code?: unknown }).code === DUPLICATE_KEY;

/** A run whose end can still be recorded (see RunStore.finish). */
const UNSETTLED: { $in: RunStatus[] } = { $in: ['running', 'unknown'] };

export class MongoRunStore implements RunStore {
  readonly #runs: Collection<RunDoc>;
  readonly #counters: Collection<CounterDoc>;
  readonly #claims: Batcher<ClaimRequest, string | null> | null = null;
  readonly #finishes: Batcher<{ runId: string; result: RunResult }, void> | null = null;
  /** per schedule, claims whose counter is not written yet (batched path, no maxRuns) */
  readonly #deferred = new Map<string, { inc: number; last: Date }>();
  #deferredTimer: NodeJS.Timeout | null = null;
  #writing: Promise<void> | null = null;
  readonly #onAnswer: ((sentAtMs: number) => void) | undefined;

  constructor(db: Db, options: MongoRunStoreOptions = {}) {
    this.#runs = db.collection<RunDoc>('runs');
    this.#counters = db.collection<CounterDoc>('run_counters');
    this.#onAnswer = options.onAnswer;
    if (options.batch ?? true) {
      const max = options.maxBatch ?? DEFAULT_MAX_BATCH;
      const claims = new Batcher((reqs: ClaimRequest[]) => this.#claimMany(reqs), {
        maxBatch: max,
        targetMs: BATCH_TARGET_MS,
      });
      this.#claims = claims;
      // Recording finishes waits while claims are queued: in a burst the claims go first.
      this.#finishes = new Batcher(
        (items: { runId: string; result: RunResult }[]) => this.#finishMany(items),
        { maxBatch: max, targetMs: BATCH_TARGET_MS, yieldTo: claims },
      );
    }
  }

  claim(req: ClaimRequest): Promise<string | null> {
    return this.#claims ? this.#claims.add(req) : this.#claimOne(req);
  }

  /** The per-fire path (`batch: false`): one insert, then one counter upsert. */
  async #claimOne(req: ClaimRequest): Promise<string | null> {
    const doc = runDocOf(req);
    let runId: string = req.id;
    try {
      await this.#runs.insertOne(doc);
    } catch (err) {
      if (!isDuplicateKey(err)) throw mapMongoError(err);
      const held = await this.#takeOver(doc, req);
      if (held === null) return null;
      runId = held;
    }
    if (req.trigger !== 'manual') {
      try {
        await this.#counters.updateOne({ _id: req.scheduleId }, counterUpdate(req), { upsert: true });
      } catch (err) {
        throw new CounterUpdateError(`run ${runId} claimed, but its counter was not updated`, runId, {
          cause: err,
        });
      }
    }
    return runId;
  }

  /**
   * The batched path: every claim of a wake-up in one unordered bulk insert, then every counter
   * in one unordered bulk write. A duplicate key is answered per claim exactly as #claimOne
   * answers it (a takeover, ours already, or someone else's); any other failure of one document
   * fails that claim only, and a failure of the whole round trip fails them all (the engine
   * retries each with the same id, which the duplicate-key path then recognises).
   */
  async #claimMany(reqs: ClaimRequest[]): Promise<Settled<string | null>[]> {
    const docs = reqs.map(runDocOf);
    const sentAt = performance.now();
    const failed = await failedWrites(() => this.#runs.insertMany(docs, { ordered: false }));
    this.#onAnswer?.(sentAt);
    const results: Settled<string | null>[] = await Promise.all(
      reqs.map(async (req, i): Promise<Settled<string | null>> => {
        const error = failed.get(i);
        if (error === undefined) return { ok: true, value: req.id };
        if (!isDuplicateCode(error)) return { ok: false, error: mapMongoError(error) };
        try {
          return { ok: true, value: await this.#takeOver(docs[i]!, req) };
        } catch (err) {
          return { ok: false, error: err };
        }
      }),
    );
    const counted = reqs
      .map((req, i) => ({ req, i, r: results[i]! }))
      .filter(({ req, r }) => req.trigger !== 'manual' && r.ok && r.value !== null);
    // maxRuns needs its count exact before the claim is answered; the rest is written a moment
    // later, off the claim's path, coalesced per schedule (see ClaimRequest.exactCount).
    for (const { req } of counted) if (!req.exactCount) this.#defer(req);
    const exact = counted.filter(({ req }) => req.exactCount);
    if (exact.length === 0) return results;
    const counterFailures = await failedWrites(() =>
      this.#counters.bulkWrite(
        exact.map(({ req }) => ({
          updateOne: { filter: { _id: req.scheduleId }, update: counterUpdate(req), upsert: true },
        })),
        { ordered: false },
      ),
    ).catch((err: unknown) => new Map(exact.map((_, k) => [k, err])));
    for (const [k, cause] of counterFailures) {
      const { i } = exact[k]!;
      const runId = (results[i] as { ok: true; value: string }).value;
      results[i] = {
        ok: false,
        error: new CounterUpdateError(`run ${runId} claimed, but its counter was not updated`, runId, {
          cause,
        }),
      };
    }
    return results;
  }

  #defer(req: ClaimRequest): void {
    const d = this.#deferred.get(req.scheduleId);
    const inc = req.status === 'running' ? 1 : 0;
    if (d) {
      d.inc += inc;
      if (req.scheduledFor > d.last) d.last = req.scheduledFor;
    } else this.#deferred.set(req.scheduleId, { inc, last: req.scheduledFor });
    this.#deferredTimer ??= setTimeout(() => void this.#writeDeferred(), DEFERRED_COUNTERS_MS).unref();
  }

  /** Writes the deferred counters in one bulk write; what fails is kept for the next try. */
  #writeDeferred(): Promise<void> {
    this.#writing ??= this.#writeDeferredOnce().finally(() => {
      this.#writing = null;
    });
    return this.#writing;
  }

  async #writeDeferredOnce(): Promise<void> {
    await this.#claims?.whenIdle(); // claims first (see the finishes batcher)
    const pending = [...this.#deferred];
    this.#deferred.clear();
    try {
      // In chunks, like the batches: one bulk write of 10,000 upserts held the stand-in server
      // for seconds, and an API create behind it ran out of API_DB_TIMEOUT_MS (bench/burst.ts).
      for (let from = 0; from < pending.length; from += DEFERRED_CHUNK) {
        const chunk = pending.slice(from, from + DEFERRED_CHUNK);
        const failed = await failedWrites(() =>
          this.#counters.bulkWrite(
            chunk.map(([id, d]) => ({
              updateOne: {
                filter: { _id: id },
                update: { $inc: { claimed: d.inc }, $max: { last: d.last } },
                upsert: true,
              },
            })),
            { ordered: false },
          ),
        ).catch((err: unknown) => new Map(chunk.map((_, k) => [k, err])));
        for (const k of failed.keys()) this.#requeue(...chunk[k]!);
        if (failed.size === chunk.length) {
          for (const entry of pending.slice(from + DEFERRED_CHUNK)) this.#requeue(...entry);
          break; // the database is not answering: keep the rest for the next try
        }
      }
    } finally {
      this.#deferredTimer = null;
      if (this.#deferred.size > 0)
        this.#deferredTimer = setTimeout(() => void this.#writeDeferred(), DEFERRED_COUNTERS_MS).unref();
    }
  }

  #requeue(id: string, d: { inc: number; last: Date }): void {
    const now = this.#deferred.get(id);
    if (now) {
      now.inc += d.inc;
      if (d.last > now.last) now.last = d.last;
    } else this.#deferred.set(id, d);
  }

  /**
   * Writes the deferred counters now (tests; reads that must see this process's own claims; a
   * leader that stops). Throws StoreUnavailableError when they still cannot be written after a
   * few tries; they stay queued for the next.
   */
  async flushCounters(): Promise<void> {
    for (let attempt = 1; this.#deferred.size > 0 || this.#writing; attempt++) {
      if (this.#writing) await this.#writing;
      if (this.#deferred.size === 0) return;
      if (attempt > 3)
        throw new StoreUnavailableError(
          'claim counters could not be written; they are kept for the next try',
        );
      if (this.#deferredTimer) clearTimeout(this.#deferredTimer);
      this.#deferredTimer = null;
      await this.#writeDeferred();
    }
  }

  /**
   * The occurrence's key is taken. It is this request's when a retried insert or takeover
   * already landed; it becomes this request's when it was released by a leader of this epoch
   * or an earlier one (one atomic update, so one taker). Otherwise someone else holds it.
   */
  async #takeOver(doc: RunDoc, req: ClaimRequest): Promise<string | null> {
    const key = { scheduleId: req.scheduleId, scheduledFor: req.scheduledFor, occurrence: doc.occurrence };
    if (doc.occurrence) {
      const { _id: _ignored, ...fields } = doc;
      const taken = await this.#runs
        .findOneAndUpdate(
          { ...key, status: 'released', epoch: { $lte: req.epoch } },
          { $set: fields },
          { returnDocument: 'after', projection: { _id: 1 } },
        )
        .catch(rethrow);
      if (taken) return taken._id;
    }
    const owner = await this.#runs.findOne(key, { projection: { _id: 1, claimId: 1 } }).catch(rethrow);
    if (owner && (owner._id === req.id || owner.claimId === req.id)) return owner._id;
    return null;
  }

  async unclaim(runId: string, claimId: string = runId): Promise<void> {
    // Marked, not deleted: the key stays taken, so only a takeover (see #takeOver) can claim
    // the occurrence again. Only the claim named by `claimId` is given back, so a late repeat
    // of an earlier holder's unclaim cannot release its successor's claim.
    const doc = await this.#runs
      .findOneAndUpdate(
        {
          _id: runId,
          status: 'running',
          occurrence: true,
          $or: [{ claimId }, { claimId: { $exists: false }, _id: claimId }],
        },
        { $set: { status: 'released', error: RELEASED_NOTE } },
        { projection: { scheduleId: 1 } },
      )
      .catch(rethrow);
    if (doc) {
      // Not a run any more, as far as maxRuns goes; a takeover counts it again. Where the
      // next leader's catch-up starts is lastClaimed's concern (it steps back before a
      // released latest claim), so the mark above is the one write that matters: a leader
      // that dies before this second one leaves maxRuns one short, never one over.
      // Its +1 may still be waiting to be written: first, or this -1 would find no counter.
      await this.flushCounters();
      await this.#counters.updateOne({ _id: doc.scheduleId }, { $inc: { claimed: -1 } }).catch(rethrow);
      return;
    }
    await this.#runs
      .updateOne(
        { _id: runId, status: 'running', occurrence: false },
        {
          $set: {
            status: 'pending',
            leader: null,
            epoch: null,
            firedAt: null,
            latenessMs: null,
            instance: null,
          },
        },
      )
      .catch(rethrow);
  }

  finish(runId: string, result: RunResult): Promise<void> {
    return this.#finishes ? this.#finishes.add({ runId, result }) : this.#finishOne(runId, result);
  }

  async #finishOne(runId: string, result: RunResult): Promise<void> {
    await this.#runs.updateOne({ _id: runId, status: UNSETTLED }, finishUpdate(result)).catch(rethrow);
  }

  /** Runs that end together (a burst's webhooks) are recorded in one unordered bulk write. */
  async #finishMany(items: { runId: string; result: RunResult }[]): Promise<Settled<void>[]> {
    const sentAt = performance.now();
    const failed = await failedWrites(() =>
      this.#runs.bulkWrite(
        items.map(({ runId, result }) => ({
          updateOne: { filter: { _id: runId, status: UNSETTLED }, update: finishUpdate(result) },
        })),
        { ordered: false },
      ),
    );
    this.#onAnswer?.(sentAt);
    return items.map((_, i) => {
      const error = failed.get(i);
      return error === undefined
        ? { ok: true, value: undefined }
        : { ok: false, error: mapMongoError(error) };
    });
  }

  async recordMissed(records: MissedRecord[]): Promise<void> {
    if (records.length === 0) return;
    const docs: RunDoc[] = records.map((m) => ({
      _id: m.id,
      scheduleId: m.scheduleId,
      scheduleName: m.scheduleName,
      scheduledFor: m.first,
      createdAt: m.until,
      firedAt: null,
      finishedAt: m.until,
      status: 'missed',
      attempts: 0,
      trigger: 'schedule',
      leader: m.leader,
      epoch: m.epoch,
      latenessMs: null,
      error: missedSummary(m),
      response: null,
      job: null,
      // outside the claim index, as manual runs: it fences and counts nothing
      occurrence: false,
      instance: null,
    }));
    const failed = await failedWrites(() => this.#runs.insertMany(docs, { ordered: false }));
    // a duplicate id: a retried write whose first attempt landed
    const other = [...failed.values()].find((e) => !isDuplicateCode(e));
    if (other !== undefined) throw mapMongoError(other);
  }

  async requestManual(schedule: Pick<Schedule, 'id' | 'name'>, now: Date): Promise<Run> {
    // scheduledFor is the request time. Manual runs are outside the occurrence
    // claim index, so they can never take a scheduled occurrence's key.
    for (let bump = 0; bump < 1; bump++) {
      const doc: RunDoc = {
        _id: randomUUID(),
        scheduleId: schedule.id,
        scheduleName: schedule.name,
        scheduledFor: new Date(now.getTime() + bump),
        createdAt: now,
        firedAt: null,
        finishedAt: null,
        status: 'pending',
        attempts: 0,
        trigger: 'manual',
        leader: null,
        epoch: null,
        latenessMs: null,
        error: null,
        response: null,
        job: null,
        occurrence: false,
        instance: null,
      };
      try {
        await this.#runs.insertOne(doc);
        return toRun(doc);
      } catch (err) {
        if (!isDuplicateKey(err)) throw mapMongoError(err);
      }
    }
    throw new Error(`could not record a manual run for schedule ${schedule.id}`);
  }

  async startManual(
    runId: string,
    leader: string,
    epoch: number,
    firedAt: Date,
    instance?: string,
  ): Promise<boolean> {
    const r = await this.#runs
      .updateOne({ _id: runId, status: 'pending' }, [
        {
          $set: {
            status: 'running',
            leader,
            epoch,
            instance: instance ?? null,
            firedAt,
            latenessMs: { $subtract: [firedAt, '$scheduledFor'] },
          },
        },
      ])
      .catch(rethrow);
    return r.modifiedCount === 1;
  }

  async pendingManual(limit: number): Promise<Run[]> {
    const docs = await this.#runs
      .find({ status: 'pending' })
      .sort({ createdAt: 1 })
      .limit(limit)
      .toArray()
      .catch(rethrow);
    return docs.map(toRun);
  }

  async list(scheduleId: string, query: { limit: number; cursor?: string }): Promise<Page<Run>> {
    const filter: Filter<RunDoc> = { scheduleId };
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      const at = new Date(c.t);
      filter.$or = [{ scheduledFor: { $lt: at } }, { scheduledFor: at, _id: { $lt: c.id } }];
    }
    const docs = await this.#runs
      .find(filter)
      .sort({ scheduledFor: -1, _id: -1 })
      .limit(query.limit + 1)
      .toArray()
      .catch(rethrow);
    return pageOf(docs.map(toRun), query.limit, (r) => ({ t: r.scheduledFor.getTime(), id: r.id }));
  }

  async lastClaimed(scheduleIds?: string[], counters?: Map<string, Date>): Promise<Map<string, Date>> {
    await this.flushCounters(); // this process's own claims count too
    let last: Map<string, Date>;
    if (counters) {
      const wanted = scheduleIds ? new Set(scheduleIds) : null;
      last = new Map([...counters].filter(([id]) => wanted === null || wanted.has(id)));
    } else {
      const filter: Filter<CounterDoc> = scheduleIds ? { _id: { $in: scheduleIds } } : {};
      const rows = await this.#counters
        .find(filter, { projection: { last: 1 } })
        .toArray()
        .catch(rethrow);
      last = new Map(rows.filter((r) => r.last instanceof Date).map((r) => [r._id, r.last]));
    }
    // A latest claim that was given back has not been decided: start just before it. An
    // older released one was decided by whoever claimed after it (their catch-up started
    // before it), so it no longer moves the mark.
    const released: Filter<RunDoc> = { status: 'released', occurrence: true };
    if (scheduleIds) released.scheduleId = { $in: scheduleIds };
    const given = await this.#runs
      .find(released, { projection: { scheduleId: 1, scheduledFor: 1 } })
      .toArray()
      .catch(rethrow);
    for (const r of given) {
      const mark = last.get(r.scheduleId);
      if (mark && mark.getTime() === r.scheduledFor.getTime()) {
        last.set(r.scheduleId, new Date(mark.getTime() - 1));
      }
    }
    return last;
  }

  async claimedCount(scheduleId: string): Promise<number> {
    await this.flushCounters();
    const doc = await this.#counters.findOne({ _id: scheduleId }).catch(rethrow);
    return doc?.claimed ?? 0;
  }

  async settleOrphans(
    current: { leader: string; epoch: number; instance?: string },
    now: Date,
  ): Promise<number> {
    // Only an older epoch is stale. A leader that starts late (its term already over)
    // must not abandon the runs of the live leader, whose epoch is higher. Within the
    // same epoch another holder, or a previous process of a pod restarted under the same
    // name (it may take the Lease back without a new epoch), is stale too.
    const sameEpoch: Filter<RunDoc>[] = [{ leader: { $ne: current.leader } }];
    if (current.instance) sameEpoch.push({ instance: { $ne: current.instance } });
    const stale: Filter<RunDoc>[] = [
      { epoch: { $lt: current.epoch } },
      { epoch: null }, // written without an epoch: no live leader's
      { epoch: current.epoch, $or: sameEpoch },
    ];
    // A run handed off to a Job (`job` set) is not orphaned: the Job carries on without its
    // leader, and the new leader's JobTracker settles the run from it.
    const r = await this.#runs
      .updateMany(
        { status: 'running', job: null, $or: stale },
        {
          $set: {
            status: 'unknown',
            finishedAt: now,
            error:
              'the leader running this stopped before recording how it ended; the action may have taken effect',
          },
        },
      )
      .catch(rethrow);
    return r.modifiedCount;
  }

  async runningFor(scheduleId: string): Promise<number> {
    return this.#runs.countDocuments({ scheduleId, status: 'running' }).catch(rethrow);
  }

  async handOff(runId: string, handOff: JobHandOff, now: Date): Promise<void> {
    await this.#runs
      .updateOne(
        { _id: runId, status: UNSETTLED },
        {
          $set: {
            status: 'running',
            job: handOff.job,
            handedOffAt: now,
            attempts: handOff.attempts,
            response: handOff.response ?? null,
            finishedAt: null,
            error: null,
          },
        },
      )
      .catch(rethrow);
  }

  async adoptJob(runId: string, job: JobRef, now: Date): Promise<boolean> {
    const r = await this.#runs
      .updateOne(
        { _id: runId, $or: [{ status: 'unknown' }, { status: 'running', job: null }] },
        { $set: { status: 'running', job, handedOffAt: now, finishedAt: null, error: null } },
      )
      .catch(rethrow);
    return r.modifiedCount === 1;
  }

  async settleJob(runId: string, settlement: JobSettlement): Promise<boolean> {
    const r = await this.#runs
      .updateOne(
        { _id: runId, status: UNSETTLED },
        {
          $set: {
            status: settlement.status,
            finishedAt: settlement.finishedAt,
            error: settlement.error ?? null,
            job: settlement.job,
          },
        },
      )
      .catch(rethrow);
    return r.modifiedCount === 1;
  }

  async jobRuns(namespace: string, before: Date): Promise<{ id: string; scheduleId: string; job: JobRef }[]> {
    // `status` leads the status_created index: running runs are few.
    const docs = await this.#runs
      .find(
        { status: 'running', 'job.namespace': namespace, handedOffAt: { $lt: before } },
        { projection: { _id: 1, scheduleId: 1, job: 1 } },
      )
      .toArray()
      .catch(rethrow);
    return docs.flatMap((d) => (d.job ? [{ id: d._id, scheduleId: d.scheduleId, job: d.job }] : []));
  }
}
