// ScheduleStore on MongoDB: one document per schedule, `_id` is the id, `version`
// is +1 on every write and makes conditional writes (If-Match) a single atomic
// update, and the change stream feeds the leader's engine. Documents are decoded on
// every read (schedule/stored.ts): one written around the API that is not a valid
// schedule is reported as such, never handed on as a Schedule.
import { createHash, randomUUID } from 'node:crypto';
import type { ChangeStream, ChangeStreamDocument, Collection, Db, Filter } from 'mongodb';
import {
  DEFAULT_NAMESPACE,
  NameSchema,
  NamespaceSchema,
  type Schedule,
  type ScheduleInput,
  type ScheduleSource,
  ScheduleSourceSchema,
} from '../schedule/schema.ts';
import { type DecodedSchedule, decodeStoredSchedule } from '../schedule/stored.ts';
import { decodeCursor, pageOf } from './cursor.ts';
import {
  ChangeHistoryLostError,
  DuplicateNameError,
  InvalidStoredScheduleError,
  NameTakenError,
  NotFoundError,
  OwnedScheduleError,
  VersionConflictError,
} from './errors.ts';
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
export type ScheduleDoc = Omit<Schedule, 'id'> & {
  _id: string;
  labelPairs?: string[];
  /** storage-only: digest of the input a Schedule object last mapped to (applyOwned skips equal ones) */
  sourceDigest?: string;
};

/** Optional fields a replace must remove when the new input leaves them out. */
const OPTIONAL_FIELDS = ['description', 'startAt', 'endAt', 'maxRuns'] as const;

function unsetAbsent(input: ScheduleInput): Record<string, ''> {
  const unset: Record<string, ''> = {};
  for (const k of OPTIONAL_FIELDS) if (!(k in input)) unset[k] = '';
  return unset;
}

/** The owner a stored document names, for the 409 (a malformed one is still an owner). */
function ownerOf(doc: { source?: unknown }): ScheduleSource {
  const parsed = ScheduleSourceSchema.safeParse(doc.source);
  if (parsed.success) return parsed.data;
  const raw = (doc.source ?? {}) as Partial<Record<keyof ScheduleSource, unknown>>;
  const text = (v: unknown) => (typeof v === 'string' ? v : '?');
  return {
    kind: 'Schedule',
    apiVersion: text(raw.apiVersion),
    namespace: text(raw.namespace),
    name: text(raw.name),
    uid: text(raw.uid),
    generation: typeof raw.generation === 'number' ? raw.generation : 0,
  };
}

/** What applyOwned compares: the mapped input and the object's identity. */
function sourceDigest(input: ScheduleInput, source: ScheduleSource): string {
  return createHash('sha256')
    .update(JSON.stringify([input, source.uid]))
    .digest('base64url');
}

/** Attempts of applyOwned's read-then-conditional-write before it reports a conflict. */
const APPLY_ATTEMPTS = 5;

/** A document this process just built from a validated input (create): no need to decode it. */
function toSchedule(doc: ScheduleDoc): Schedule {
  const { _id, labelPairs: _l, ...rest } = doc;
  return { id: _id, ...rest } as Schedule;
}

/** A document read back from the collection, which anyone may have written. */
function decoded(doc: ScheduleDoc): Schedule {
  const d = decodeStoredSchedule(doc);
  if (d.ok) return d.schedule;
  throw new InvalidStoredScheduleError(d);
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
    const namespace = input.namespace ?? DEFAULT_NAMESPACE;
    const doc = {
      ...input,
      namespace,
      _id: randomUUID(),
      version: 1,
      createdAt: now,
      updatedAt: now,
    } as ScheduleDoc;
    try {
      await this.#col.insertOne({ ...doc, labelPairs: labelPairs(input.labels) });
    } catch (err) {
      if (isDuplicateKey(err)) throw new DuplicateNameError(input.name, namespace, { cause: err });
      throw mapMongoError(err);
    }
    return toSchedule(doc);
  }

  async get(id: string): Promise<Schedule | null> {
    const doc = await this.#col.findOne({ _id: id }).catch(rethrow);
    return doc ? decoded(doc) : null;
  }

  async list(query: ListSchedulesQuery): Promise<Page<Schedule>> {
    // Pages are keyed by createdAt: a document without a creation date is no schedule,
    // and could not be paged past, so it is not read at all.
    const filter: Filter<ScheduleDoc> = { createdAt: { $type: 'date' } };
    if (query.paused !== undefined) filter.paused = query.paused;
    if (query.namespaces !== undefined) filter.namespace = { $in: [...query.namespaces] };
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
    // The page (and its cursor) is cut from the documents read; invalid ones are then
    // left out, so a page may hold fewer than `limit` schedules but never hides one.
    const page = pageOf(docs, query.limit, (d) => ({ t: d.createdAt.getTime(), id: String(d._id) }));
    const items: Schedule[] = [];
    for (const doc of page.items) {
      const d = decodeStoredSchedule(doc);
      if (d.ok) items.push(d.schedule);
    }
    return { items, nextCursor: page.nextCursor };
  }

  async replace(
    id: string,
    input: ScheduleInput,
    opts: { ifVersion?: number; now: Date },
  ): Promise<Schedule> {
    // The replace keeps `createdAt` and increments `version`: a document written around
    // the API without them is refused below rather than written and still broken.
    const filter: Filter<ScheduleDoc> = {
      _id: id,
      createdAt: { $type: 'date' },
      version: opts.ifVersion ?? { $gte: 1 },
      // declared by a Schedule object: only applyOwned writes it
      source: { $exists: false },
    };
    // The namespace never changes (the API refuses a different one): not written at all.
    const { name: _n, namespace: _ns, ...fields } = input;
    // Fields absent from the new input (e.g. `description`) must disappear: $unset them.
    const unset = unsetAbsent(input);
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
      if (isDuplicateKey(err)) {
        const current = await this.#col.findOne({ _id: id }, { projection: { namespace: 1 } }).catch(rethrow);
        throw new DuplicateNameError(input.name, current?.namespace ?? DEFAULT_NAMESPACE, { cause: err });
      }
      throw mapMongoError(err);
    }
    if (updated) return decoded(updated);
    const current = await this.#col.findOne({ _id: id }).catch(rethrow);
    if (!current) throw new NotFoundError(id);
    if (current.source !== undefined) throw new OwnedScheduleError(id, ownerOf(current));
    if (opts.ifVersion !== undefined && current.version !== opts.ifVersion)
      throw new VersionConflictError(opts.ifVersion, current.version);
    const d = decodeStoredSchedule(current);
    if (!d.ok) throw new InvalidStoredScheduleError(d);
    throw new VersionConflictError(opts.ifVersion ?? -1, current.version); // changed meanwhile
  }

  async delete(id: string, opts: { ifVersion?: number } = {}): Promise<boolean> {
    const filter: Filter<ScheduleDoc> = { _id: id, source: { $exists: false } };
    if (opts.ifVersion !== undefined) filter.version = opts.ifVersion;
    const r = await this.#col.deleteOne(filter).catch(rethrow);
    if (r.deletedCount === 1) return true;
    const current = await this.#col
      .findOne({ _id: id }, { projection: { version: 1, source: 1 } })
      .catch(rethrow);
    if (!current) return false;
    if (current.source !== undefined) throw new OwnedScheduleError(id, ownerOf(current));
    if (opts.ifVersion === undefined) return false; // deleted meanwhile, then recreated? gone for us
    throw new VersionConflictError(opts.ifVersion, current.version);
  }

  async applyOwned(
    input: ScheduleInput,
    source: ScheduleSource,
    now: Date,
  ): Promise<{ schedule: Schedule; changed: boolean }> {
    const namespace = source.namespace;
    const digest = sourceDigest(input, source);
    for (let attempt = 1; ; attempt++) {
      const existing = await this.#col.findOne({ namespace, name: input.name }).catch(rethrow);
      if (existing && existing.source === undefined)
        throw new NameTakenError(input.name, namespace, existing._id);
      if (existing && existing.sourceDigest === digest && ownerOf(existing).generation === source.generation)
        return { schedule: decoded(existing), changed: false };
      try {
        if (!existing || ownerOf(existing).uid !== source.uid) {
          // A new object (or one deleted and created again while no controller ran): a new
          // schedule, with its own id, run history and maxRuns count.
          if (existing) {
            const gone = await this.#col.deleteOne({ _id: existing._id, version: existing.version });
            if (gone.deletedCount === 0) continue;
          }
          const doc = {
            ...input,
            namespace,
            _id: randomUUID(),
            version: 1,
            createdAt: now,
            updatedAt: now,
            source,
          } as ScheduleDoc;
          await this.#col.insertOne({ ...doc, labelPairs: labelPairs(input.labels), sourceDigest: digest });
          return { schedule: toSchedule(doc), changed: true };
        }
        const { name: _n, namespace: _ns, ...fields } = input;
        const unset = unsetAbsent(input);
        const updated = await this.#col.findOneAndUpdate(
          { _id: existing._id, version: existing.version },
          {
            $set: {
              ...fields,
              source,
              sourceDigest: digest,
              updatedAt: now,
              labelPairs: labelPairs(input.labels),
            } as Partial<ScheduleDoc>,
            $inc: { version: 1 },
            ...(Object.keys(unset).length ? { $unset: unset } : {}),
          },
          { returnDocument: 'after' },
        );
        if (updated) return { schedule: decoded(updated), changed: true };
      } catch (err) {
        if (!isDuplicateKey(err)) throw mapMongoError(err);
        // another writer took the name between the read and the write: read again
      }
      if (attempt >= APPLY_ATTEMPTS)
        throw new VersionConflictError(existing?.version ?? 0, existing?.version ?? 0);
    }
  }

  async deleteOwned(uid: string): Promise<boolean> {
    const r = await this.#col.deleteOne({ 'source.uid': uid }).catch(rethrow);
    return r.deletedCount === 1;
  }

  async ownedIn(namespace: string): Promise<{ id: string; name: string; uid: string }[]> {
    const docs = await this.#col
      .find({ namespace, 'source.uid': { $exists: true } }, { projection: { _id: 1, name: 1, source: 1 } })
      .toArray()
      .catch(rethrow);
    return docs.map((d) => ({ id: d._id, name: String(d.name), uid: ownerOf(d).uid }));
  }

  async locate(id: string): Promise<{ namespace: string; name: string | null } | null> {
    const doc = await this.#col
      .findOne({ _id: id }, { projection: { namespace: 1, name: 1 } })
      .catch(rethrow);
    if (!doc) return null;
    const ns = NamespaceSchema.safeParse(doc.namespace);
    const name = NameSchema.safeParse(doc.name);
    return { namespace: ns.success ? ns.data : DEFAULT_NAMESPACE, name: name.success ? name.data : null };
  }

  async namespaces(): Promise<string[]> {
    const [found, legacy] = await Promise.all([
      this.#col.distinct('namespace'),
      // Documents from before namespaces count as `default` (schedule/stored.ts).
      this.#col.countDocuments({ namespace: { $exists: false } }, { limit: 1 }),
    ]).catch(rethrow);
    const names = new Set(found.filter((n): n is string => typeof n === 'string'));
    if (legacy > 0) names.add(DEFAULT_NAMESPACE);
    return [...names].sort();
  }

  async *all(): AsyncIterable<DecodedSchedule> {
    const cursor = this.#col.find({}).sort({ _id: 1 }).batchSize(5000);
    try {
      for await (const doc of cursor) yield decodeStoredSchedule(doc);
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
  const change = decodeChange(ev);
  const at = commitTime(ev);
  return at ? { ...change, clusterTime: at } : change;
}

/**
 * When MongoDB committed the event: its wallTime (MongoDB 6.0+, milliseconds) or else its
 * clusterTime (a BSON Timestamp: whole seconds since the epoch in its high 32 bits).
 */
function commitTime(ev: ChangeStreamDocument<ScheduleDoc>): Date | undefined {
  if ('wallTime' in ev && ev.wallTime instanceof Date) return ev.wallTime;
  if ('clusterTime' in ev && ev.clusterTime) return new Date(ev.clusterTime.getHighBitsUnsigned() * 1000);
  return undefined;
}

function decodeChange(ev: ChangeStreamDocument<ScheduleDoc>): ScheduleChange {
  const token = ev._id;
  switch (ev.operationType) {
    case 'insert':
    case 'replace':
    case 'update': {
      if (!ev.fullDocument) return { kind: 'noop', token };
      const d = decodeStoredSchedule(ev.fullDocument);
      if (d.ok) return { kind: 'upsert', schedule: d.schedule, token };
      return { kind: 'invalid', id: d.id, version: d.version, errors: d.errors, token };
    }
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
