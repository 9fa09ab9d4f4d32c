// ScheduleStore on MongoDB: one document per schedule, `_id` is the id, `version`
// is +1 on every write and makes conditional writes (If-Match) a single atomic
// update, and the change stream feeds the leader's engine.
import { randomUUID } from 'node:crypto';
import type { ChangeStream, ChangeStreamDocument, Collection, Db, Filter } from 'mongodb';
import type { Schedule, ScheduleInput } from '../schedule/schema.ts';
import { decodeCursor, pageOf } from './cursor.ts';
import { ChangeHistoryLostError, DuplicateNameError, NotFoundError, VersionConflictError } from './errors.ts';
import { isDuplicateKey, mapMongoError, rethrow } from './mongo-errors.ts';
import type {
  ListSchedulesQuery,
  Page,
  ResumeToken,
  ScheduleChange,
  ScheduleChangeStream,
  ScheduleStore,
} from './types.ts';

/**
 * `labelPairs` ("key=value" strings) is a storage-only field: label keys such as
 * `app.kubernetes.io/name` contain dots, which a `labels.<key>` query path would
 * read as nesting. An `$all` on the pairs matches them exactly, with an index.
 */
export type ScheduleDoc = Omit<Schedule, 'id'> & { _id: string; labelPairs?: string[] };

export function toSchedule(doc: ScheduleDoc): Schedule {
  const { _id, labelPairs: _l, ...rest } = doc;
  return { id: _id, ...rest } as Schedule;
}

function labelPairs(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

export class MongoScheduleStore implements ScheduleStore {
  readonly #col: Collection<ScheduleDoc>;

  constructor(db: Db) {
    this.#col = db.collection<ScheduleDoc>('schedules');
  }

  async create(input: ScheduleInput, now: Date): Promise<Schedule> {
    const doc = { ...input, _id: randomUUID(), version: 1, createdAt: now, updatedAt: now } as ScheduleDoc;
    try {
      await this.#col.insertOne({ ...doc, labelPairs: labelPairs(input.labels) });
    } catch (err) {
      if (isDuplicateKey(err)) throw new DuplicateNameError(input.name, { cause: err });
      throw mapMongoError(err);
    }
    return toSchedule(doc);
  }

  async get(id: string): Promise<Schedule | null> {
    const doc = await this.#col.findOne({ _id: id }).catch(rethrow);
    return doc ? toSchedule(doc) : null;
  }

  async list(query: ListSchedulesQuery): Promise<Page<Schedule>> {
    const filter: Filter<ScheduleDoc> = {};
    if (query.paused !== undefined) filter.paused = query.paused;
    const pairs = labelPairs(query.labels ?? {});
    if (pairs.length > 0) filter.labelPairs = { $all: pairs };
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      const at = new Date(c.t);
      (filter as Record<string, unknown>).$or = [
        { createdAt: { $gt: at } },
        { createdAt: at, _id: { $gt: c.id } },
      ];
    }
    const docs = await this.#col
      .find(filter)
      .sort({ createdAt: 1, _id: 1 })
      .limit(query.limit + 1)
      .toArray()
      .catch(rethrow);
    return pageOf(docs.map(toSchedule), query.limit, (x) => ({ t: x.createdAt.getTime(), id: x.id }));
  }

  async replace(
    id: string,
    input: ScheduleInput,
    opts: { ifVersion?: number; now: Date },
  ): Promise<Schedule> {
    const filter: Filter<ScheduleDoc> = { _id: id };
    if (opts.ifVersion !== undefined) filter.version = opts.ifVersion;
    const { name: _n, ...fields } = input;
    // Fields absent from the new input (e.g. `description`) must disappear: $unset them.
    const unset: Record<string, ''> = {};
    for (const k of ['description', 'startAt', 'endAt', 'maxRuns']) if (!(k in input)) unset[k] = '';
    let updated: ScheduleDoc | null;
    try {
      updated = await this.#col.findOneAndUpdate(
        filter,
        {
          $set: {
            ...fields,
            name: input.name,
            updatedAt: opts.now,
            labelPairs: labelPairs(input.labels),
          } as Partial<ScheduleDoc>,
          $inc: { version: 1 },
          ...(Object.keys(unset).length ? { $unset: unset } : {}),
        },
        { returnDocument: 'after' },
      );
    } catch (err) {
      if (isDuplicateKey(err)) throw new DuplicateNameError(input.name, { cause: err });
      throw mapMongoError(err);
    }
    if (updated) return toSchedule(updated);
    const current = await this.get(id);
    if (!current) throw new NotFoundError(id);
    throw new VersionConflictError(opts.ifVersion ?? -1, current.version);
  }

  async delete(id: string, opts: { ifVersion?: number } = {}): Promise<boolean> {
    const filter: Filter<ScheduleDoc> = { _id: id };
    if (opts.ifVersion !== undefined) filter.version = opts.ifVersion;
    const r = await this.#col.deleteOne(filter).catch(rethrow);
    if (r.deletedCount === 1) return true;
    if (opts.ifVersion === undefined) return false;
    const current = await this.get(id);
    if (!current) return false;
    throw new VersionConflictError(opts.ifVersion, current.version);
  }

  async *all(): AsyncIterable<Schedule> {
    const cursor = this.#col.find({}).sort({ _id: 1 }).batchSize(5000);
    try {
      for await (const doc of cursor) yield toSchedule(doc);
    } catch (e) {
      throw mapMongoError(e);
    } finally {
      await cursor.close();
    }
  }

  async watch(resumeAfter: ResumeToken | null): Promise<ScheduleChangeStream> {
    const stream = this.#col.watch<ScheduleDoc, ChangeStreamDocument<ScheduleDoc>>([], {
      fullDocument: 'updateLookup',
      // Bounds how long an empty getMore waits: the establishing tryNext() below
      // and shutdown both wait at most this long (the default is 1 s).
      maxAwaitTimeMS: 200,
      ...(resumeAfter ? { resumeAfter } : {}),
    });
    // The driver sends the aggregate lazily; one tryNext() establishes the cursor
    // so the caller may read its snapshot knowing no later write can be missed.
    let first: ChangeStreamDocument<ScheduleDoc> | null;
    try {
      first = await stream.tryNext();
    } catch (e) {
      await stream.close().catch(() => {});
      throw mapMongoError(e);
    }
    return new MongoScheduleChangeStream(stream, first);
  }
}

class MongoScheduleChangeStream implements ScheduleChangeStream {
  readonly #stream: ChangeStream<ScheduleDoc, ChangeStreamDocument<ScheduleDoc>>;
  #buffered: ChangeStreamDocument<ScheduleDoc> | null;

  constructor(
    stream: ChangeStream<ScheduleDoc, ChangeStreamDocument<ScheduleDoc>>,
    first: ChangeStreamDocument<ScheduleDoc> | null,
  ) {
    this.#stream = stream;
    this.#buffered = first;
  }

  async next(): Promise<ScheduleChange> {
    let ev: ChangeStreamDocument<ScheduleDoc>;
    if (this.#buffered) {
      ev = this.#buffered;
      this.#buffered = null;
    } else {
      try {
        ev = await this.#stream.next();
      } catch (e) {
        throw mapMongoError(e);
      }
    }
    return toChange(ev);
  }

  /** Where a new stream may resume from; null while an unread event is buffered. */
  get resumeToken(): ResumeToken | null {
    return this.#buffered ? null : (this.#stream.resumeToken ?? null);
  }

  async close(): Promise<void> {
    await this.#stream.close().catch(() => {});
  }
}

export function toChange(ev: ChangeStreamDocument<ScheduleDoc>): ScheduleChange {
  const token = ev._id;
  switch (ev.operationType) {
    case 'insert':
    case 'replace':
    case 'update':
      return ev.fullDocument
        ? { kind: 'upsert', schedule: toSchedule(ev.fullDocument), token }
        : { kind: 'noop', token };
    case 'delete':
      return { kind: 'delete', id: String(ev.documentKey._id), token };
    case 'drop':
    case 'rename':
    case 'dropDatabase':
    case 'invalidate':
      // The collection went away: no token can continue this stream; reload.
      throw new ChangeHistoryLostError(`schedules change stream ended by '${ev.operationType}'`);
    default:
      return { kind: 'noop', token };
  }
}
