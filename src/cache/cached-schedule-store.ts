// The ScheduleStore every replica's API and engine use (issue 14): reads come from the
// replica's schedule cache after a consistency check (ScheduleCache.sync), writes go to
// MongoDB. A read the cache cannot vouch for within the sync timeout (not loaded yet, the
// stream stalled, the database unreachable) is answered by MongoDB instead, so a read is never
// staler than one from MongoDB would be; the metric leasecron_cache_reads_total counts how
// each read was served.
import type { Schedule, ScheduleInput, ScheduleSource } from '../schedule/schema.ts';
import type { DecodedSchedule } from '../schedule/stored.ts';
import { ChangeHistoryLostError, InvalidStoredScheduleError } from '../store/errors.ts';
import type {
  ListSchedulesQuery,
  Page,
  ResumeToken,
  ScheduleChange,
  ScheduleChangeStream,
  ScheduleStore,
} from '../store/types.ts';
import type { CacheSubscription, ScheduleCache } from './schedule-cache.ts';

export class CachedScheduleStore implements ScheduleStore {
  readonly #db: ScheduleStore;
  readonly #cache: ScheduleCache;

  constructor(db: ScheduleStore, cache: ScheduleCache) {
    this.#db = db;
    this.#cache = cache;
  }

  // --- reads: from the cache once it has caught up ---------------------------------

  async get(id: string): Promise<Schedule | null> {
    if ((await this.#cache.sync()) !== 'caught-up') return this.#db.get(id);
    const e = this.#cache.get(id);
    if (e === undefined) return null;
    if (e.ok) return e.schedule;
    throw new InvalidStoredScheduleError(e);
  }

  async list(query: ListSchedulesQuery): Promise<Page<Schedule>> {
    if ((await this.#cache.sync()) !== 'caught-up') return this.#db.list(query);
    return this.#cache.list(query);
  }

  async locate(id: string): Promise<{ namespace: string; name: string | null } | null> {
    if ((await this.#cache.sync()) !== 'caught-up') return this.#db.locate(id);
    const e = this.#cache.get(id);
    if (e === undefined) return null;
    if (e.ok) return { namespace: e.schedule.namespace, name: e.schedule.name };
    // where a document that is not a schedule belongs is read from the document itself
    return this.#db.locate(id);
  }

  async namespaces(): Promise<string[]> {
    if ((await this.#cache.sync()) !== 'caught-up' || this.#cache.invalidCount > 0)
      return this.#db.namespaces();
    return this.#cache.namespaces();
  }

  // --- writes (and the controller's own reads): MongoDB --------------------------------

  create(input: ScheduleInput, now: Date): Promise<Schedule> {
    return this.#db.create(input, now);
  }

  replace(id: string, input: ScheduleInput, opts: { ifVersion?: number; now: Date }): Promise<Schedule> {
    return this.#db.replace(id, input, opts);
  }

  delete(id: string, opts?: { ifVersion?: number }): Promise<boolean> {
    return this.#db.delete(id, opts);
  }

  applyOwned(
    input: ScheduleInput,
    source: ScheduleSource,
    now: Date,
  ): Promise<{ schedule: Schedule; changed: boolean }> {
    return this.#db.applyOwned(input, source, now);
  }

  deleteOwned(uid: string): Promise<boolean> {
    return this.#db.deleteOwned(uid);
  }

  ownedIn(namespace: string): Promise<{ id: string; name: string; uid: string }[]> {
    return this.#db.ownedIn(namespace);
  }

  // --- the engine's feed: from memory ----------------------------------------------------

  /**
   * Subscribes to the cache. The engine reads `all()` after this, so nothing can fall between
   * the two. Only a fresh subscription exists: a token to resume from means the engine lost its
   * place, and it is told to read everything again (it does so from memory).
   */
  async watch(resumeAfter: ResumeToken | null): Promise<ScheduleChangeStream> {
    if (resumeAfter !== null) throw new ChangeHistoryLostError('resubscribe to the schedule cache');
    await this.#cache.ready;
    return new CacheChangeStream(this.#cache.subscribe());
  }

  async *all(): AsyncIterable<DecodedSchedule> {
    await this.#cache.ready;
    yield* this.#cache.snapshot();
  }
}

class CacheChangeStream implements ScheduleChangeStream {
  readonly #sub: CacheSubscription;

  constructor(sub: CacheSubscription) {
    this.#sub = sub;
  }

  next(): Promise<ScheduleChange> {
    return this.#sub.next();
  }

  /** Nothing to resume from: a lost subscription is replaced by a new one (see watch). */
  get resumeToken(): ResumeToken | null {
    return null;
  }

  async close(): Promise<void> {
    this.#sub.close();
  }
}
