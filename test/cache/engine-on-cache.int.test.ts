// The engine fed from a replica's schedule cache (issue 14), as main.ts wires it, against the
// real MongoDB-protocol server: it arms what the cache holds, follows edits, pauses and deletes
// through it, starts over when the cache reloads, and a second replica taking over from its
// own warm cache continues where the first stopped: every occurrence run once, none missed.
import type { Db, MongoClient } from 'mongodb';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachedScheduleStore } from '../../src/cache/cached-schedule-store.ts';
import { ScheduleCache } from '../../src/cache/schedule-cache.ts';
import { Engine } from '../../src/engine/engine.ts';
import { occurrencesBetween } from '../../src/schedule/occurrences.ts';
import { type ScheduleInput, validateScheduleInput } from '../../src/schedule/schema.ts';
import { ensureIndexes } from '../../src/store/indexes.ts';
import { MongoFeedSource } from '../../src/store/mongo-feed.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import { freshDb } from '../helpers/clients.ts';
import { sinkActionRunner } from '../helpers/egress.ts';
import { until } from '../helpers/until.ts';

const logger = pino({ level: 'silent' });

function input(name: string, extra: Record<string, unknown> = {}): ScheduleInput {
  const r = validateScheduleInput({
    name,
    schedule: { every: '1s' },
    action: { type: 'log' },
    concurrency: 'allow',
    misfire: { policy: 'fireAll', graceSeconds: 300 },
    ...extra,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

interface Replica {
  client: MongoClient;
  cache: ScheduleCache;
  engine: Engine;
  armed: Map<string, Date | null>;
}

let setup: { client: MongoClient; db: Db };
let writer: MongoScheduleStore;
let runs: MongoRunStore;

async function replica(identity: string): Promise<Replica> {
  const { client } = await freshDb();
  const db = client.db(setup.db.databaseName);
  const cache = new ScheduleCache({ source: new MongoFeedSource(db), logger, identity });
  cache.start();
  await cache.ready;
  const replicaRuns = new MongoRunStore(db);
  const armed = new Map<string, Date | null>();
  const engine = new Engine({
    schedules: new CachedScheduleStore(new MongoScheduleStore(db), cache),
    runs: replicaRuns,
    lastClaimed: async () =>
      (await cache.sync()) === 'caught-up'
        ? replicaRuns.lastClaimed(undefined, cache.claimed())
        : replicaRuns.lastClaimed(),
    actions: sinkActionRunner(),
    identity,
    logger,
    now: () => new Date(),
    manualPollMs: 100,
    onArmed: (id, _v, next) => armed.set(id, next),
  });
  return { client, cache, engine, armed };
}

async function close(r: Replica | undefined): Promise<void> {
  if (!r) return;
  await r.engine.stop();
  await r.cache.stop();
  await r.client.close();
}

beforeAll(async () => {
  setup = await freshDb('enginecache');
  await ensureIndexes(setup.db, { runRetentionDays: 7 });
  writer = new MongoScheduleStore(setup.db);
  runs = new MongoRunStore(setup.db);
});

afterAll(async () => {
  await setup?.db.dropDatabase();
  await setup?.client.close();
});

describe('engine fed from the schedule cache', () => {
  it('arms what the cache holds, follows edits, pauses and deletes, and re-arms after a reload', async () => {
    const before = await writer.create(
      input('cache-before-start', { schedule: { every: '1h' } }),
      new Date(),
    );
    const r = await replica('cache-engine-a');
    try {
      await r.engine.start(1);
      expect(r.engine.armedFor(before.id)?.next).toBeInstanceOf(Date);

      const later = await writer.create(
        input('cache-after-start', { schedule: { every: '1h' } }),
        new Date(),
      );
      await until('the new schedule armed', () => r.engine.armedFor(later.id)?.next);
      await writer.replace(
        later.id,
        input('cache-after-start', { schedule: { every: '1h' }, paused: true }),
        {
          now: new Date(),
        },
      );
      await until('paused: disarmed', () => r.engine.armedFor(later.id)?.next === null);
      await writer.delete(before.id);
      await until('deleted: gone', () => r.engine.armedFor(before.id) === undefined);

      // The collection goes away (a restore, a drop): the cache reloads and the engine with it.
      await setup.db.collection('schedules').drop();
      await ensureIndexes(setup.db, { runRetentionDays: 7 });
      const afterDrop = await writer.create(
        input('cache-after-drop', { schedule: { every: '1h' } }),
        new Date(),
      );
      await until('armed after the reload', () => r.engine.armedFor(afterDrop.id)?.next);
      await until('the dropped schedule disarmed', () => r.engine.armedFor(later.id) === undefined);
    } finally {
      await close(r);
    }
  });

  it('a replica taking over from its warm cache continues where the last leader stopped: every occurrence once', async () => {
    const a = await replica('cache-takeover-a');
    const b = await replica('cache-takeover-b');
    try {
      const s = await writer.create(input('cache-takeover'), new Date());
      await a.engine.start(1);
      await until(
        'a has claimed 3 occurrences',
        async () =>
          (await runs.list(s.id, { limit: 100 })).items.filter((x) => x.leader === 'cache-takeover-a')
            .length >= 3,
      );
      await a.engine.drain(5000);
      await a.engine.stop();
      const stoppedAt = Date.now();
      await new Promise((res) => setTimeout(res, 3000)); // occurrences fall due with nobody leading
      await b.engine.start(2);
      await until(
        'b has claimed 3 occurrences',
        async () =>
          (await runs.list(s.id, { limit: 100 })).items.filter(
            (x) => x.leader === 'cache-takeover-b' && x.scheduledFor.getTime() > stoppedAt + 3000,
          ).length >= 3,
      );
      await b.engine.stop();
      const all = (await runs.list(s.id, { limit: 500 })).items;
      const claimed = all.map((x) => x.scheduledFor.getTime()).sort((x, y) => x - y);
      const expected = occurrencesBetween(s, new Date(claimed[0]! - 1), new Date(claimed.at(-1)!), 1000).map(
        (d) => d.getTime(),
      );
      expect(claimed).toEqual(expected); // none missed, none twice
      // the gap was caught up by b, as fireAll says
      expect(all.some((x) => x.leader === 'cache-takeover-b' && x.trigger === 'catchup')).toBe(true);
      expect(b.cache.claimed().get(s.id)?.getTime()).toBe(claimed.at(-1));
    } finally {
      await close(a);
      await close(b);
    }
  });
});
