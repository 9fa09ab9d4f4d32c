// The schedule cache (issue 14) against the real MongoDB-protocol server: two caches on their
// own clients stand for two replicas. What a user relies on: a write acknowledged by one
// replica is in the very next read on another (no polling), the cache follows every kind of
// change, reloads when its stream ends, and a read it cannot vouch for comes from MongoDB.
import { randomUUID } from 'node:crypto';
import type { Db, MongoClient } from 'mongodb';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachedScheduleStore } from '../../src/cache/cached-schedule-store.ts';
import { ScheduleCache } from '../../src/cache/schedule-cache.ts';
import { type ScheduleInput, validateScheduleInput } from '../../src/schedule/schema.ts';
import { InvalidStoredScheduleError } from '../../src/store/errors.ts';
import { ensureIndexes } from '../../src/store/indexes.ts';
import { type Feed, type FeedSource, MongoFeedSource } from '../../src/store/mongo-feed.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import { freshDb } from '../helpers/clients.ts';
import { until } from '../helpers/until.ts';

const logger = pino({ level: 'silent' });

function input(name: string, extra: Record<string, unknown> = {}): ScheduleInput {
  const r = validateScheduleInput({ name, schedule: { every: '1h' }, action: { type: 'log' }, ...extra });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

/** The real source, counting what the cache asks of MongoDB for its consistent reads. */
class CountingSource implements FeedSource {
  pings = 0;
  marks = 0;
  /** while set, the stream hands over nothing (a stalled stream) */
  stalled = false;
  readonly #real: FeedSource;
  constructor(real: FeedSource) {
    this.#real = real;
  }
  async open(resumeAfter: unknown): Promise<Feed> {
    const feed = await this.#real.open(resumeAfter);
    const source = this;
    return {
      async next() {
        const e = await feed.next();
        while (source.stalled) await new Promise((r) => setTimeout(r, 20));
        return e;
      },
      get resumeToken() {
        return feed.resumeToken;
      },
      close: () => feed.close(),
    };
  }
  schedules() {
    return this.#real.schedules();
  }
  claimed() {
    return this.#real.claimed();
  }
  clusterTime() {
    this.pings++;
    return this.#real.clusterTime();
  }
  mark(holder: string, mark: string) {
    this.marks++;
    return this.#real.mark(holder, mark);
  }
}

interface Replica {
  client: MongoClient;
  source: CountingSource;
  cache: ScheduleCache;
  store: CachedScheduleStore;
  db: MongoScheduleStore;
}

async function replica(dbName: string, name: string, syncTimeoutMs = 1000): Promise<Replica> {
  const { client } = await freshDb();
  const db = client.db(dbName);
  const source = new CountingSource(new MongoFeedSource(db));
  const cache = new ScheduleCache({ source, logger, identity: name, syncTimeoutMs });
  cache.start();
  await cache.ready;
  const direct = new MongoScheduleStore(db);
  return { client, source, cache, store: new CachedScheduleStore(direct, cache), db: direct };
}

let setup: { client: MongoClient; db: Db };
let a: Replica;
let b: Replica;

beforeAll(async () => {
  setup = await freshDb('cache');
  await ensureIndexes(setup.db, { runRetentionDays: 1 });
  a = await replica(setup.db.databaseName, 'replica-a');
  b = await replica(setup.db.databaseName, 'replica-b');
});

afterAll(async () => {
  for (const r of [a, b]) {
    await r?.cache.stop();
    await r?.client.close();
  }
  await setup?.db.dropDatabase();
  await setup?.client.close();
});

describe('schedule cache: reads on one replica see writes acknowledged by another', () => {
  it('create, replace, pause and delete on A are in the very next read on B, 40 times over', async () => {
    for (let i = 0; i < 10; i++) {
      const created = await a.store.create(input(`rw-${i}`), new Date());
      expect((await b.store.get(created.id))?.version).toBe(1);
      expect((await b.store.list({ limit: 500 })).items.map((s) => s.id)).toContain(created.id);
      const replaced = await a.store.replace(created.id, input(`rw-${i}`, { paused: true }), {
        now: new Date(),
      });
      const seen = await b.store.get(created.id);
      expect(seen?.version).toBe(replaced.version);
      expect(seen?.paused).toBe(true);
      expect((await b.store.list({ limit: 500, paused: true })).items.map((s) => s.id)).toContain(created.id);
      expect(await a.store.delete(created.id)).toBe(true);
      expect(await b.store.get(created.id)).toBeNull();
      expect(await b.store.locate(created.id)).toBeNull();
    }
    expect(b.cache.status().loaded).toBe(true);
  });

  it('reads at once share rounds: 500 concurrent reads cost a handful of pings', async () => {
    const s = await a.store.create(input('shared-rounds'), new Date());
    const before = b.source.pings;
    const got = await Promise.all(Array.from({ length: 500 }, () => b.store.get(s.id)));
    expect(got.every((g) => g?.id === s.id)).toBe(true);
    expect(b.source.pings - before).toBeLessThanOrEqual(5);
  });

  it('while other collections are written (a busy leader), reads still catch up, by marker', async () => {
    const runs = setup.db.collection('runs_noise');
    let writing = true;
    const noise = (async () => {
      while (writing) await runs.insertOne({ at: new Date() });
    })();
    try {
      for (let i = 0; i < 10; i++) {
        const s = await a.store.create(input(`busy-${i}`), new Date());
        expect((await b.store.get(s.id))?.name).toBe(`busy-${i}`);
        await runs.insertOne({ at: new Date() });
        // On a loaded machine one round may take longer than the 1 s timeout (the read then
        // comes from MongoDB, as checked above); the cache itself must keep catching up.
        await until(
          'a consistent read served from the cache',
          async () => (await b.cache.sync()) === 'caught-up',
        );
      }
    } finally {
      writing = false;
      await noise;
    }
    expect(b.source.marks).toBeGreaterThan(0);
  });

  it('a document written around the API that is not a schedule reads as such, as from MongoDB', async () => {
    const id = randomUUID();
    await setup.db.collection('schedules').insertOne({ _id: id as never, name: 'broken', version: 1 });
    await expect(b.store.get(id)).rejects.toBeInstanceOf(InvalidStoredScheduleError);
    await expect(b.db.get(id)).rejects.toBeInstanceOf(InvalidStoredScheduleError);
    expect(await b.store.locate(id)).toEqual(await b.db.locate(id));
    await setup.db.collection('schedules').deleteOne({ _id: id as never });
    expect(await b.store.get(id)).toBeNull();
  });

  it('lists page the same from the cache as from MongoDB, and cursors work across both', async () => {
    for (let i = 0; i < 7; i++)
      await a.store.create(input(`page-${i}`, { labels: { page: 'yes' } }), new Date());
    const fromCache: string[] = [];
    const fromDb: string[] = [];
    let cursor: string | undefined;
    let turn = 0;
    do {
      // alternate the cache and MongoDB page by page: the cursors are the same format
      const src = turn++ % 2 === 0 ? b.store : b.db;
      const page = await src.list({ limit: 3, labels: { page: 'yes' }, ...(cursor ? { cursor } : {}) });
      fromCache.push(...page.items.map((s) => s.name));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    cursor = undefined;
    do {
      const page = await b.db.list({ limit: 3, labels: { page: 'yes' }, ...(cursor ? { cursor } : {}) });
      fromDb.push(...page.items.map((s) => s.name));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(fromCache).toEqual(fromDb);
    expect(fromCache).toHaveLength(7);
  });
});

describe('schedule cache: following MongoDB', () => {
  it('follows each schedule latest claimed occurrence from run_counters', async () => {
    const s = await a.store.create(input('claims'), new Date());
    const runs = new MongoRunStore(setup.db);
    const at = new Date(Date.UTC(2026, 0, 1, 12));
    await runs.claim({
      id: randomUUID(),
      scheduleId: s.id,
      scheduleName: s.name,
      scheduledFor: at,
      firedAt: new Date(),
      trigger: 'schedule',
      leader: 'x',
      epoch: 1,
      status: 'running',
      exactCount: true,
    });
    expect(await b.cache.sync()).toBe('caught-up');
    expect(b.cache.claimed().get(s.id)?.getTime()).toBe(at.getTime());
    expect((await runs.lastClaimed([s.id], b.cache.claimed())).get(s.id)?.getTime()).toBe(at.getTime());
  });

  it('reloads when its stream ends (the collection dropped), and says so to subscribers', async () => {
    const s = await a.store.create(input('before-drop'), new Date());
    expect(await b.store.get(s.id)).not.toBeNull();
    const sub = b.cache.subscribe();
    await setup.db.collection('schedules').drop();
    await ensureIndexes(setup.db, { runRetentionDays: 1 });
    const after = await a.store.create(input('after-drop'), new Date());
    await expect(sub.next()).rejects.toThrow(/reloaded/);
    expect(await b.store.get(s.id)).toBeNull();
    expect((await b.store.get(after.id))?.name).toBe('after-drop');
  });

  it('a stalled stream makes reads fall back to MongoDB after the timeout: never a stale answer', async () => {
    const slow = await replica(setup.db.databaseName, 'replica-slow', 300);
    try {
      const s = await a.store.create(input('stall'), new Date());
      expect((await slow.store.get(s.id))?.version).toBe(1);
      slow.source.stalled = true;
      const replaced = await a.store.replace(s.id, input('stall', { description: 'new' }), {
        now: new Date(),
      });
      expect(await slow.cache.sync()).toBe('timeout');
      const read = await slow.store.get(s.id); // the cache still holds version 1
      expect(read?.version).toBe(replaced.version);
      expect(read?.description).toBe('new');
      // many at once go to MongoDB a few at a time, and each still gets the new version
      const many = await Promise.all(Array.from({ length: 12 }, () => slow.store.get(s.id)));
      expect(many.map((m) => m?.version)).toEqual(many.map(() => replaced.version));
      slow.source.stalled = false;
      await until('the stalled cache caught up', async () => (await slow.cache.sync()) === 'caught-up');
      expect(slow.cache.get(s.id)).toMatchObject({ ok: true, schedule: { version: replaced.version } });
    } finally {
      slow.source.stalled = false;
      await slow.cache.stop();
      await slow.client.close();
    }
  });
});
