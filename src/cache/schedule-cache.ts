// Every replica's live copy of the schedules (issue 14): a snapshot plus one change stream,
// kept warm on followers, so that
//   - API reads are answered from memory, consistently (sync() below), and
//   - a new leader arms from memory instead of streaming every schedule out of MongoDB.
//
// Ordering is the engine's, proven there: the stream is opened first, then the snapshot is
// read, then the stream is followed; changes are applied by `version`, so a write that both
// the snapshot and the stream carry is applied once. When the stream's history is lost (the
// oplog moved past our resume token) the cache reads everything again and tells its
// subscribers to start over.
//
// Consistent reads, as Kubernetes' watch cache does them (KEP-2340): learn how far the
// database has got (the operationTime of a ping), then wait until the stream has applied
// everything up to there. An idle database answers at once (its time has not moved since the
// stream last proved it caught up); when it has moved — runs are written all the time on a
// busy leader — the cache writes a marker into `cache_marks` and waits for the stream to carry
// it back, which proves every earlier write applied. Rounds are shared: all reads that arrive
// while one round is in flight are served by the next, so the database sees at most one ping
// (and at most one marker) per round trip, however many reads there are.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.ts';
import type { Schedule } from '../schedule/schema.ts';
import type { DecodedSchedule } from '../schedule/stored.ts';
import { ChangeHistoryLostError } from '../store/errors.ts';
import type { Feed, FeedEvent, FeedSource } from '../store/mongo-feed.ts';
import type { ListSchedulesQuery, Page, ResumeToken, ScheduleChange } from '../store/types.ts';
import { type Cached, ScheduleIndex } from './schedule-index.ts';

/** After a round needed a marker, later rounds within this window skip the ping. */
const BUSY_WINDOW_MS = 1000;

export interface CacheMetrics {
  /** a change applied (kind as the engine names it), with its commit time when known */
  streamEvent(kind: ScheduleChange['kind'] | 'claimed' | 'mark', clusterTime: Date | undefined): void;
  streamRestart(reason: 'error' | 'history-lost'): void;
  /** schedules held (valid + invalid) after a change */
  size(schedules: number): void;
  /** how a consistent read was served */
  sync(result: SyncResult, ms: number): void;
}

export const noopCacheMetrics: CacheMetrics = {
  streamEvent: () => {},
  streamRestart: () => {},
  size: () => {},
  sync: () => {},
};

/**
 * caught-up: the cache holds every write acknowledged before the read began;
 * timeout / not-ready / error: it could not show that in time; read from MongoDB instead.
 */
export type SyncResult = 'caught-up' | 'timeout' | 'not-ready' | 'error';

export interface ScheduleCacheOptions {
  source: FeedSource;
  logger: Logger;
  /** names this replica's marker document (the pod name) */
  identity: string;
  metrics?: CacheMetrics;
  /** how long a consistent read waits for the cache before falling back (default 1,000 ms) */
  syncTimeoutMs?: number;
  /** commit time of a change, for the lag metric (the event's wall time) */
  commitTime?: (e: FeedEvent) => Date | undefined;
}

/** One subscriber's view of the changes (the engine's): a queue it drains in order. */
export interface CacheSubscription {
  /** Throws ChangeHistoryLostError once the cache has reloaded: read `all()` again. */
  next(): Promise<ScheduleChange>;
  close(): void;
}

interface Waiter {
  at: bigint | null;
  mark: string | null;
  resolve: () => void;
}

class Subscription implements CacheSubscription {
  readonly #queue: ScheduleChange[] = [];
  #wake: (() => void) | null = null;
  #lost = false;
  #closed = false;
  readonly #onClose: () => void;

  constructor(onClose: () => void) {
    this.#onClose = onClose;
  }

  push(c: ScheduleChange): void {
    this.#queue.push(c);
    this.#wake?.();
  }

  lose(): void {
    this.#lost = true;
    this.#wake?.();
  }

  async next(): Promise<ScheduleChange> {
    for (;;) {
      if (this.#lost) throw new ChangeHistoryLostError('the schedule cache reloaded; read it again');
      const c = this.#queue.shift();
      if (c) return c;
      if (this.#closed) throw new Error('subscription closed');
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = null;
    }
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
    this.#onClose();
  }
}

export class ScheduleCache {
  readonly #o: ScheduleCacheOptions;
  readonly #m: CacheMetrics;
  #index = new ScheduleIndex();
  /** schedule id → its latest claimed occurrence (epoch ms) */
  readonly #claimed = new Map<string, number>();
  readonly #subs = new Set<Subscription>();
  #feed: Feed | null = null;
  #token: ResumeToken | null = null;
  #running = false;
  #loaded = false;
  #readyResolve!: () => void;
  readonly ready: Promise<void>;
  /** cluster time of the last change applied */
  #position = 0n;
  /** a database cluster time the cache is known to have caught up with */
  #proven = 0n;
  #waiters: Waiter[] = [];
  /** the sync round on the wire, and the one that will follow it */
  #round: Promise<SyncResult> | null = null;
  #nextRound: Promise<SyncResult> | null = null;
  #markSeq = 0;
  /** when the last round had to write a marker (performance.now()) */
  #lastMarkAt = Number.NEGATIVE_INFINITY;
  readonly #markPrefix = randomUUID();

  constructor(options: ScheduleCacheOptions) {
    this.#o = options;
    this.#m = options.metrics ?? noopCacheMetrics;
    this.ready = new Promise((resolve) => {
      this.#readyResolve = resolve;
    });
  }

  /** Starts following MongoDB; `ready` resolves once the first snapshot is in. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#follow();
  }

  async stop(): Promise<void> {
    this.#running = false;
    const feed = this.#feed;
    this.#feed = null;
    await feed?.close();
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
    for (const s of this.#subs) s.lose();
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  status(): { loaded: boolean; schedules: number; invalid: number; position: string } {
    return {
      loaded: this.#loaded,
      schedules: this.#index.size,
      invalid: this.#index.invalid,
      position: this.#position.toString(),
    };
  }

  // --- reads (callers call sync() first for a consistent read) -------------------

  get(id: string): Cached | undefined {
    return this.#index.get(id);
  }

  idByName(namespace: string, name: string): string | undefined {
    return this.#index.idByName(namespace, name);
  }

  list(query: ListSchedulesQuery): Page<Schedule> {
    return this.#index.list(query);
  }

  namespaces(): string[] {
    return this.#index.namespaces();
  }

  get invalidCount(): number {
    return this.#index.invalid;
  }

  /** Every schedule's latest claimed occurrence, as the stream has carried it. */
  claimed(): Map<string, Date> {
    const out = new Map<string, Date>();
    for (const [id, ms] of this.#claimed) out.set(id, new Date(ms));
    return out;
  }

  /**
   * The engine's feed: the changes applied from now on, in order. Subscribe before reading
   * snapshot(), so no change can fall between the two.
   */
  subscribe(): CacheSubscription {
    const sub = new Subscription(() => this.#subs.delete(sub));
    this.#subs.add(sub);
    return sub;
  }

  /** Every stored document as the cache holds it, in id order. */
  snapshot(): DecodedSchedule[] {
    return [...this.#index.all()];
  }

  // --- consistency ---------------------------------------------------------------

  /**
   * Resolves once the cache holds every write that MongoDB acknowledged before this call
   * ('caught-up'), or says why it cannot show that within the timeout. Never rejects.
   */
  async sync(timeoutMs = this.#o.syncTimeoutMs ?? 1000): Promise<SyncResult> {
    const t0 = performance.now();
    const result = await this.#sync(timeoutMs);
    this.#m.sync(result, performance.now() - t0);
    return result;
  }

  async #sync(timeoutMs: number): Promise<SyncResult> {
    if (!this.#loaded) return 'not-ready';
    // A round already on the wire may have read the database's time before this call: only a
    // round that starts after it proves anything for it. Share the next one.
    let round: Promise<SyncResult>;
    if (this.#round === null) round = this.#startRound();
    else {
      this.#nextRound ??= this.#round.then(
        () => this.#startRound(),
        () => this.#startRound(),
      );
      round = this.#nextRound;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      return await Promise.race([
        round.then(
          (r): SyncResult => r,
          (): SyncResult => 'error',
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  #startRound(): Promise<SyncResult> {
    this.#nextRound = null;
    const round = this.#runRound().finally(() => {
      if (this.#round === round) this.#round = null;
    });
    this.#round = round;
    return round;
  }

  /**
   * One consistency round, bounded as a whole by the sync timeout (a ping or a marker write
   * that hangs must not hold every later round). False when it could not show the cache has
   * caught up.
   */
  async #runRound(): Promise<SyncResult> {
    const budgetMs = this.#o.syncTimeoutMs ?? 1000;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), budgetMs);
    });
    const marks: string[] = [];
    try {
      return await Promise.race([
        this.#prove(marks).then((ok): SyncResult => (ok ? 'caught-up' : 'error')),
        expired,
      ]);
    } finally {
      clearTimeout(timer);
      if (marks.length > 0)
        this.#waiters = this.#waiters.filter((w) => w.mark === null || !marks.includes(w.mark));
    }
  }

  async #prove(marks: string[]): Promise<boolean> {
    let at: bigint | null = null;
    // While the database keeps moving (a busy leader writes runs all the time), a ping would
    // only say "write a marker": go straight to the marker for a second after one was needed.
    const busy = performance.now() - this.#lastMarkAt < BUSY_WINDOW_MS;
    if (!busy) {
      try {
        at = await this.#o.source.clusterTime();
      } catch {
        return false;
      }
      if (!this.#running) return false;
      if (at !== null && (at <= this.#proven || at <= this.#position)) {
        if (at > this.#proven) this.#proven = at;
        return true;
      }
    }
    // The database has moved on since the stream last proved itself: either the stream
    // brings a change at or after `at`, or the marker written now comes back through it.
    this.#lastMarkAt = performance.now();
    const mark = `${this.#markPrefix}:${++this.#markSeq}`;
    marks.push(mark);
    const reached = new Promise<void>((resolve) => this.#waiters.push({ at, mark, resolve }));
    try {
      await this.#o.source.mark(this.#o.identity, mark);
    } catch {
      return false;
    }
    await reached;
    if (at !== null && at > this.#proven) this.#proven = at;
    return this.#running;
  }

  #wakeWaiters(mark: string | null): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if ((w.at !== null && this.#position >= w.at) || (mark !== null && w.mark === mark)) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  // --- following the stream --------------------------------------------------------

  async #follow(): Promise<void> {
    let backoffMs = 100;
    let resync = true;
    while (this.#running) {
      try {
        if (resync || !this.#feed) {
          const old = this.#feed;
          this.#feed = null;
          await old?.close();
          if (!this.#running) return;
          if (resync || this.#token === null) {
            await this.#load();
            resync = false;
          } else {
            this.#feed = await this.#o.source.open(this.#token);
          }
          continue;
        }
        const feed = this.#feed;
        const e = await feed.next();
        if (!this.#running) return;
        this.#apply(e);
        this.#token = feed.resumeToken ?? this.#token;
        backoffMs = 100;
      } catch (err) {
        if (!this.#running) return;
        const lost = err instanceof ChangeHistoryLostError;
        this.#m.streamRestart(lost ? 'history-lost' : 'error');
        this.#o.logger.warn({ err, resync: lost }, 'schedule cache: change stream failed; reopening');
        if (lost) resync = true;
        const old = this.#feed;
        this.#feed = null;
        await old?.close().catch(() => {});
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    }
  }

  /** Opens a fresh stream, then reads everything; the stream covers whatever changes meanwhile. */
  async #load(): Promise<void> {
    const t0 = performance.now();
    const feed = await this.#o.source.open(null);
    if (!this.#running) {
      await feed.close();
      return;
    }
    this.#feed = feed;
    this.#token = feed.resumeToken;
    const [claimed, index] = await Promise.all([
      this.#o.source.claimed(),
      ScheduleIndex.load(this.#o.source.schedules()),
    ]);
    if (!this.#running) return;
    const reload = this.#loaded;
    // Reads go on from the old index until the new one is complete.
    this.#index = index;
    this.#claimed.clear();
    for (const [id, at] of claimed) this.#claimed.set(id, at.getTime());
    this.#m.size(this.#index.size);
    if (reload) for (const s of this.#subs) s.lose();
    this.#loaded = true;
    this.#readyResolve();
    this.#o.logger.info(
      { schedules: this.#index.size, invalid: this.#index.invalid, ms: Math.round(performance.now() - t0) },
      reload ? 'schedule cache reloaded' : 'schedule cache loaded; following the change stream',
    );
  }

  #apply(e: FeedEvent): void {
    if (e.kind === 'schedule') {
      const c = e.change;
      let changed = false;
      let forward: ScheduleChange = c;
      if (c.kind === 'upsert') {
        changed = this.#index.put({ ok: true, schedule: c.schedule }) === 'changed';
        // the index's compact copy, which the engine keeps as it is (one copy per replica)
        const held = this.#index.get(c.schedule.id);
        if (changed && held?.ok) forward = { ...c, schedule: held.schedule };
      } else if (c.kind === 'invalid')
        changed =
          this.#index.put({ ok: false, id: c.id, version: c.version, errors: c.errors }) === 'changed';
      else if (c.kind === 'delete') {
        changed = this.#index.delete(c.id) === 'changed';
        this.#claimed.delete(c.id);
      }
      // The engine decides by version itself; it sees every change the index took.
      if (changed) for (const s of this.#subs) s.push(forward);
      this.#m.streamEvent(c.kind, this.#o.commitTime?.(e) ?? c.clusterTime);
      this.#m.size(this.#index.size);
    } else if (e.kind === 'claimed') {
      if (e.last === null) this.#claimed.delete(e.scheduleId);
      else {
        const ms = e.last.getTime();
        if (ms > (this.#claimed.get(e.scheduleId) ?? Number.NEGATIVE_INFINITY))
          this.#claimed.set(e.scheduleId, ms);
      }
    }
    if (e.at !== null && e.at > this.#position) this.#position = e.at;
    this.#wakeWaiters(e.kind === 'mark' ? e.mark : null);
  }
}
