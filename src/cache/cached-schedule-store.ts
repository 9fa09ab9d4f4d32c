// The ScheduleStore every replica's API and engine use (issue 14): reads come from the
// replica's schedule cache after a consistency check (ScheduleCache.sync), writes go to
// MongoDB. A read the cache cannot vouch for within the sync timeout (not loaded yet, the
// stream stalled, the database unreachable) is answered by MongoDB instead, so a read is never
// staler than one from MongoDB would be; the metric leasecron_cache_reads_total counts how
// each read was served.
import type { Schedule, ScheduleInput, ScheduleSource } from '../schedule/schema.ts';
import type { DecodedSchedule } from '../schedule/stored.ts';
import {
  ChangeHistoryLostError,
  InvalidStoredScheduleError,
  StoreUnavailableError,
} from '../store/errors.ts';
import type {
  ListSchedulesQuery,
  Page,
  ResumeToken,
  ScheduleChange,
  ScheduleChangeStream,
  ScheduleStore,
} from '../store/types.ts';
import type { CacheSubscription, ScheduleCache } from './schedule-cache.ts';

/**
 * Reads sent to MongoDB at once because the cache could not vouch for them. When the database
 * is slow every waiting read times out together; without a cap they would all become database
 * queries at the same moment and slow it further (and the leader's own writes with it).
 */
const MAX_FALLBACKS = 4;
/** How long a read waits for a fallback slot before it is answered 503. */
const FALLBACK_WAIT_MS = 1000;

export class CachedScheduleStore implements ScheduleStore {
  readonly #db: ScheduleStore;
  readonly #cache: ScheduleCache;
  #fallbacks = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(db: ScheduleStore, cache: ScheduleCache) {
    this.#db = db;
    this.#cache = cache;
  }

  // --- reads: from the cache once it has caught up ---------------------------------

  /** Runs a read on MongoDB, at most MAX_FALLBACKS at a time. */
  async #fallback<T>(read: () => Promise<T>): Promise<T> {
    const since = performance.now();
    while (this.#fallbacks >= MAX_FALLBACKS) {
      const left = FALLBACK_WAIT_MS - (performance.now() - since);
      if (left <= 0)
        throw new StoreUnavailableError(
          'the schedule cache is behind and MongoDB is busy with other reads that fell back to it',
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.#fallbacks++;
    try {
      return await read();
    } finally {
      this.#fallbacks--;
      this.#waiting.shift()?.();
    }
  }

  async get(id: string): Promise<Schedule | null> {
    if ((await this.#cache.sync()) !== 'caught-up') return this.#fallback(() => this.#db.get(id));
    const e = this.#cache.get(id);
    if (e === undefined) return null;
    if (e.ok) return e.schedule;
    throw new InvalidStoredScheduleError(e);
  }

  async list(query: ListSchedulesQuery): Promise<Page<Schedule>> {
    if ((await this.#cache.sync()) !== 'caught-up') return this.#fallback(() => this.#db.list(query));
    return this.#cache.list(query);
  }

  async locate(id: string): Promise<{ namespace: string; name: string | null } | null> {
    if ((await this.#cache.sync()) !== 'caught-up') return this.#fallback(() => this.#db.locate(id));
    const e = this.#cache.get(id);
    if (e === undefined) return null;
    if (e.ok) return { namespace: e.schedule.namespace, name: e.schedule.name };
    // where a document that is not a schedule belongs is read from the document itself
    return this.#fallback(() => this.#db.locate(id));
  }

  async namespaces(): Promise<string[]> {
    if ((await this.#cache.sync()) !== 'caught-up' || this.#cache.invalidCount > 0)
      return this.#fallback(() => this.#db.namespaces());
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
