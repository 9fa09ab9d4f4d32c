// RunStore on MongoDB. The unique index on {scheduleId, scheduledFor} is the
// fence that makes claims exact-once across leaders: whoever inserts the run
// document first owns the occurrence; a duplicate-key error means "already fired".
import { randomUUID } from 'node:crypto';
import type { Collection, Db, Filter } from 'mongodb';
import type { Schedule } from '../schedule/schema.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { isDuplicateKey, mapMongoError } from './mongo-errors.ts';
import type { ClaimRequest, Page, Run, RunResult, RunStore } from './types.ts';

export type RunDoc = Omit<Run, 'id'> & { _id: string };

interface CounterDoc {
  _id: string;
  claimed: number;
}

function toRun(doc: RunDoc): Run {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}

const rethrow = (e: unknown): never => {
  throw mapMongoError(e);
};

export class MongoRunStore implements RunStore {
  readonly #runs: Collection<RunDoc>;
  readonly #counters: Collection<CounterDoc>;

  constructor(db: Db) {
    this.#runs = db.collection<RunDoc>('runs');
    this.#counters = db.collection<CounterDoc>('run_counters');
  }

  async claim(req: ClaimRequest): Promise<boolean> {
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
    };
    try {
      await this.#runs.insertOne(doc);
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw mapMongoError(err);
    }
    if (req.status === 'running' && req.trigger !== 'manual') {
      // Kept apart from `runs` so maxRuns survives run expiry (TTL).
      await this.#counters
        .updateOne({ _id: req.scheduleId }, { $inc: { claimed: 1 } }, { upsert: true })
        .catch(rethrow);
    }
    return true;
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
    // scheduledFor is the request time; on the rare collision with another
    // occurrence at the same millisecond, move one millisecond on.
    for (let bump = 0; bump < 50; bump++) {
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

  async startManual(runId: string, leader: string, epoch: number, firedAt: Date): Promise<boolean> {
    const r = await this.#runs
      .updateOne({ _id: runId, status: 'pending' }, [
        {
          $set: {
            status: 'running',
            leader,
            epoch,
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
    const more = docs.length > query.limit;
    const items = (more ? docs.slice(0, query.limit) : docs).map(toRun);
    const last = items.at(-1);
    return {
      items,
      nextCursor: more && last ? encodeCursor({ t: last.scheduledFor.getTime(), id: last.id }) : null,
    };
  }

  async lastClaimed(scheduleIds?: string[]): Promise<Map<string, Date>> {
    const match: Filter<RunDoc> = { trigger: { $in: ['schedule', 'catchup'] } };
    if (scheduleIds) match.scheduleId = { $in: scheduleIds };
    const rows = await this.#runs
      .aggregate<{ _id: string; last: Date }>([
        { $match: match },
        { $group: { _id: '$scheduleId', last: { $max: '$scheduledFor' } } },
      ])
      .toArray()
      .catch(rethrow);
    return new Map(rows.map((r) => [r._id, r.last]));
  }

  async claimedCount(scheduleId: string): Promise<number> {
    const doc = await this.#counters.findOne({ _id: scheduleId }).catch(rethrow);
    return doc?.claimed ?? 0;
  }

  async abandonStale(currentLeader: string, currentEpoch: number, now: Date): Promise<number> {
    const r = await this.#runs
      .updateMany(
        { status: 'running', $or: [{ leader: { $ne: currentLeader } }, { epoch: { $ne: currentEpoch } }] },
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
