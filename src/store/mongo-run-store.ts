// RunStore on MongoDB. The unique index on {scheduleId, scheduledFor} (over the
// runs that are occurrences, i.e. not manual triggers) is the fence that makes
// claims exact-once across leaders: whoever inserts the run document first owns
// the occurrence; a duplicate-key error means "already fired".
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
import type { ClaimRequest, Page, Run, RunResult, RunStore } from './types.ts';

/** `occurrence` marks scheduled/catch-up runs: the claim index covers only those. */
export type RunDoc = Omit<Run, 'id'> & { _id: string; occurrence: boolean; instance?: string | null };

interface CounterDoc {
  _id: string;
  claimed: number;
  last: Date;
}

function toRun(doc: RunDoc): Run {
  const { _id, occurrence: _o, instance: _i, ...rest } = doc;
  return { id: _id, ...rest };
}

export class MongoRunStore implements RunStore {
  readonly #runs: Collection<RunDoc>;
  readonly #counters: Collection<CounterDoc>;

  constructor(db: Db) {
    this.#runs = db.collection<RunDoc>('runs');
    this.#counters = db.collection<CounterDoc>('run_counters');
  }

  async claim(req: ClaimRequest): Promise<boolean> {
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
      occurrence: !manual,
      instance: req.instance ?? null,
    };
    try {
      await this.#runs.insertOne(doc);
    } catch (err) {
      if (!isDuplicateKey(err)) throw mapMongoError(err);
      // A retried insert whose first attempt landed finds its own document: still ours.
      const owner = await this.#runs
        .findOne(
          { scheduleId: req.scheduleId, scheduledFor: req.scheduledFor, occurrence: !manual },
          { projection: { _id: 1 } },
        )
        .catch(rethrow);
      if (owner?._id !== req.id) return false;
    }
    if (!manual) {
      try {
        await this.#counters.updateOne(
          { _id: req.scheduleId },
          { $inc: { claimed: req.status === 'running' ? 1 : 0 }, $max: { last: req.scheduledFor } },
          { upsert: true },
        );
      } catch (err) {
        throw new CounterUpdateError(`run ${req.id} claimed, but its counter was not updated`, {
          cause: err,
        });
      }
    }
    return true;
  }

  async unclaim(runId: string): Promise<void> {
    const doc = await this.#runs
      .findOneAndDelete({ _id: runId, status: 'running', occurrence: true })
      .catch(rethrow);
    if (doc) {
      // If this was the latest claim, the catch-up mark must move back before it, or
      // the next leader would start after an occurrence that nobody fired. (Claims of
      // one schedule are made in order, so a later claim cannot exist yet.)
      const before = new Date(doc.scheduledFor.getTime() - 1);
      await this.#counters
        .updateOne({ _id: doc.scheduleId }, [
          {
            $set: {
              claimed: { $subtract: ['$claimed', 1] },
              last: { $cond: [{ $eq: ['$last', doc.scheduledFor] }, before, '$last'] },
            },
          },
        ])
        .catch(rethrow);
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
        { _id: runId, status: 'running' },
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
    return new Map(rows.filter((r) => r.last instanceof Date).map((r) => [r._id, r.last]));
  }

  async claimedCount(scheduleId: string): Promise<number> {
    const doc = await this.#counters.findOne({ _id: scheduleId }).catch(rethrow);
    return doc?.claimed ?? 0;
  }

  async abandonStale(
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
    const r = await this.#runs
      .updateMany(
        { status: 'running', $or: stale },
        {
          $set: {
            status: 'abandoned',
            finishedAt: now,
            error: 'the leader that ran this stopped before it finished',
          },
        },
      )
      .catch(rethrow);
    return r.modifiedCount;
  }

  async runningFor(scheduleId: string): Promise<number> {
    return this.#runs.countDocuments({ scheduleId, status: 'running' }).catch(rethrow);
  }
}
