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
import type { Collection, Db, Filter } from 'mongodb';
import type { Schedule } from '../schedule/schema.ts';
import { decodeCursor, pageOf } from './cursor.ts';
import { CounterUpdateError } from './errors.ts';
import { isDuplicateKey, mapMongoError, rethrow } from './mongo-errors.ts';
import type {
  ClaimRequest,
  JobHandOff,
  JobRef,
  JobSettlement,
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

function toRun(doc: RunDoc): Run {
  const { _id, occurrence: _o, instance: _i, claimId: _c, handedOffAt: _h, job, ...rest } = doc;
  return { id: _id, ...rest, job: job ?? null };
}

/** A run whose end can still be recorded (see RunStore.finish). */
const UNSETTLED: { $in: RunStatus[] } = { $in: ['running', 'unknown'] };

export class MongoRunStore implements RunStore {
  readonly #runs: Collection<RunDoc>;
  readonly #counters: Collection<CounterDoc>;

  constructor(db: Db) {
    this.#runs = db.collection<RunDoc>('runs');
    this.#counters = db.collection<CounterDoc>('run_counters');
  }

  async claim(req: ClaimRequest): Promise<string | null> {
    const manual = req.trigger === 'manual';
    const doc: RunDoc = {
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
      occurrence: !manual,
      instance: req.instance ?? null,
      claimId: req.id,
    };
    let runId: string = req.id;
    try {
      await this.#runs.insertOne(doc);
    } catch (err) {
      if (!isDuplicateKey(err)) throw mapMongoError(err);
      const held = await this.#takeOver(doc, req);
      if (held === null) return null;
      runId = held;
    }
    if (!manual) {
      try {
        await this.#counters.updateOne(
          { _id: req.scheduleId },
          { $inc: { claimed: req.status === 'running' ? 1 : 0 }, $max: { last: req.scheduledFor } },
          { upsert: true },
        );
      } catch (err) {
        throw new CounterUpdateError(`run ${runId} claimed, but its counter was not updated`, runId, {
          cause: err,
        });
      }
    }
    return runId;
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

  async finish(runId: string, result: RunResult): Promise<void> {
    await this.#runs
      .updateOne(
        { _id: runId, status: UNSETTLED },
        {
          $set: {
            status: result.status,
            finishedAt: result.finishedAt,
            attempts: result.attempts,
            error: result.error ?? null,
            response: result.response ?? null,
          },
        },
      )
      .catch(rethrow);
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

  async lastClaimed(scheduleIds?: string[]): Promise<Map<string, Date>> {
    const filter: Filter<CounterDoc> = scheduleIds ? { _id: { $in: scheduleIds } } : {};
    const rows = await this.#counters
      .find(filter, { projection: { last: 1 } })
      .toArray()
      .catch(rethrow);
    const last = new Map(rows.filter((r) => r.last instanceof Date).map((r) => [r._id, r.last]));
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
