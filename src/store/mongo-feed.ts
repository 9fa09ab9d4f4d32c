// What a replica's schedule cache (src/cache/) reads from MongoDB: one change stream per
// replica over the three collections it mirrors, a snapshot of each, and the two cheap
// operations its consistent reads are built on (how far the database has got; a marker write
// the stream will carry back).
//
// One database-level stream, filtered to `schedules`, `run_counters` (each schedule's latest
// claimed occurrence: a new leader's catch-up starts there) and `cache_marks`, rather than a
// stream per collection: the events of all three arrive in commit order, so "the cache has
// applied everything up to cluster time T" is one number.
import type { ChangeStream, ChangeStreamDocument, Db, Document, Timestamp } from 'mongodb';
import { type DecodedSchedule, decodeStoredSchedule } from '../schedule/stored.ts';
import { ChangeHistoryLostError } from './errors.ts';
import { mapMongoError, rethrow } from './mongo-errors.ts';
import { type ScheduleDoc, toChange } from './mongo-schedule-store.ts';
import type { ResumeToken, ScheduleChange } from './types.ts';

export const SCHEDULES = 'schedules';
export const COUNTERS = 'run_counters';
export const MARKS = 'cache_marks';

export type FeedEvent = (
  | { kind: 'schedule'; change: ScheduleChange }
  /** a schedule's latest claimed occurrence moved (or its counter went: `last` null) */
  | { kind: 'claimed'; scheduleId: string; last: Date | null }
  | { kind: 'mark'; mark: string }
  | { kind: 'noop' }
) & {
  /** the event's cluster time as one comparable number (seconds << 32 | increment) */
  at: bigint | null;
};

export interface Feed {
  /** Blocks until the next event. Throws ChangeHistoryLostError or StoreUnavailableError. */
  next(): Promise<FeedEvent>;
  /** The position after everything read so far: resume from here. */
  readonly resumeToken: ResumeToken | null;
  close(): Promise<void>;
}

export interface FeedSource {
  /** Opens the stream; established on return (it covers every later write). */
  open(resumeAfter: ResumeToken | null): Promise<Feed>;
  /** Every stored schedule document, decoded, in id order. */
  schedules(): AsyncIterable<DecodedSchedule>;
  /** Every schedule's latest claimed occurrence (run_counters). */
  claimed(): Promise<Map<string, Date>>;
  /** The database's current cluster time (a ping's operationTime); null when it does not say. */
  clusterTime(): Promise<bigint | null>;
  /** Writes `mark` into cache_marks under `holder`; the stream carries it back. */
  mark(holder: string, mark: string): Promise<void>;
}

export function timestampToBigInt(ts: Timestamp | undefined | null): bigint | null {
  if (!ts || typeof ts !== 'object' || typeof ts.getHighBitsUnsigned !== 'function') return null;
  return (BigInt(ts.getHighBitsUnsigned()) << 32n) | BigInt(ts.getLowBitsUnsigned());
}

interface MarkDoc {
  _id: string;
  mark: string;
  at: Date;
}

interface CounterDoc {
  _id: string;
  last?: unknown;
}

export class MongoFeedSource implements FeedSource {
  readonly #db: Db;
  readonly #control: Db;

  /**
   * `control`: where the ping and the marker go; a client of their own keeps them from queueing
   * behind the API's and the engine's work in the main pool (default: `db`).
   */
  constructor(db: Db, control: Db = db) {
    this.#db = db;
    this.#control = control;
  }

  async open(resumeAfter: ResumeToken | null): Promise<Feed> {
    const stream = this.#db.watch<Document, ChangeStreamDocument<Document>>(
      [{ $match: { 'ns.coll': { $in: [SCHEDULES, COUNTERS, MARKS] } } }],
      {
        fullDocument: 'updateLookup',
        // Bounds how long an empty getMore waits: the establishing tryNext() below and
        // shutdown both wait at most this long.
        maxAwaitTimeMS: 200,
        ...(resumeAfter ? { resumeAfter } : {}),
      },
    );
    let first: ChangeStreamDocument<Document> | null;
    try {
      // The driver sends the aggregate lazily: one tryNext() establishes the cursor, so a
      // snapshot read after this returns cannot miss a write.
      first = await stream.tryNext();
    } catch (e) {
      await stream.close().catch(() => {});
      throw mapMongoError(e);
    }
    return new MongoFeed(stream, first);
  }

  async *schedules(): AsyncIterable<DecodedSchedule> {
    const cursor = this.#db.collection<ScheduleDoc>(SCHEDULES).find({}).sort({ _id: 1 }).batchSize(5000);
    try {
      for await (const doc of cursor) yield decodeStoredSchedule(doc);
    } catch (e) {
      throw mapMongoError(e);
    } finally {
      await cursor.close();
    }
  }

  async claimed(): Promise<Map<string, Date>> {
    const rows = await this.#db
      .collection<CounterDoc>(COUNTERS)
      .find({}, { projection: { last: 1 } })
      .batchSize(10_000)
      .toArray()
      .catch(rethrow);
    const out = new Map<string, Date>();
    for (const r of rows) if (r.last instanceof Date) out.set(String(r._id), r.last);
    return out;
  }

  async clusterTime(): Promise<bigint | null> {
    const reply = await this.#control.command({ ping: 1 }).catch(rethrow);
    return timestampToBigInt(reply.operationTime as Timestamp | undefined);
  }

  async mark(holder: string, mark: string): Promise<void> {
    await this.#control
      .collection<MarkDoc>(MARKS)
      // a replace (not an update): its change event carries the document, so the server does
      // not look it up again for every stream that follows the database
      .replaceOne({ _id: holder }, { mark, at: new Date() }, { upsert: true })
      .catch(rethrow);
  }
}

class MongoFeed implements Feed {
  readonly #stream: ChangeStream<Document, ChangeStreamDocument<Document>>;
  #buffered: ChangeStreamDocument<Document> | null;

  constructor(
    stream: ChangeStream<Document, ChangeStreamDocument<Document>>,
    first: ChangeStreamDocument<Document> | null,
  ) {
    this.#stream = stream;
    this.#buffered = first;
  }

  async next(): Promise<FeedEvent> {
    let ev: ChangeStreamDocument<Document>;
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
    return toFeedEvent(ev);
  }

  get resumeToken(): ResumeToken | null {
    return this.#buffered ? null : (this.#stream.resumeToken ?? null);
  }

  async close(): Promise<void> {
    await this.#stream.close().catch(() => {});
  }
}

export function toFeedEvent(ev: ChangeStreamDocument<Document>): FeedEvent {
  const at = 'clusterTime' in ev ? timestampToBigInt(ev.clusterTime) : null;
  if (ev.operationType === 'dropDatabase' || ev.operationType === 'invalidate')
    throw new ChangeHistoryLostError(`change stream ended by '${ev.operationType}'`);
  const coll = 'ns' in ev && ev.ns && 'coll' in ev.ns ? ev.ns.coll : undefined;
  if (coll === SCHEDULES)
    return { kind: 'schedule', change: toChange(ev as ChangeStreamDocument<ScheduleDoc>), at };
  if (ev.operationType === 'drop' || ev.operationType === 'rename')
    throw new ChangeHistoryLostError(`change stream: collection ${coll} ended by '${ev.operationType}'`);
  if (coll === COUNTERS) {
    if (ev.operationType === 'delete')
      return { kind: 'claimed', scheduleId: String(ev.documentKey._id), last: null, at };
    if (ev.operationType === 'insert' || ev.operationType === 'update' || ev.operationType === 'replace') {
      const last = ev.fullDocument?.last;
      if (last instanceof Date) return { kind: 'claimed', scheduleId: String(ev.documentKey._id), last, at };
    }
    return { kind: 'noop', at };
  }
  if (
    coll === MARKS &&
    (ev.operationType === 'insert' || ev.operationType === 'update' || ev.operationType === 'replace')
  ) {
    const mark = ev.fullDocument?.mark;
    if (typeof mark === 'string') return { kind: 'mark', mark, at };
  }
  return { kind: 'noop', at };
}
