// MAX_CONCURRENT_RUNS against real servers (issue 13): many occurrences due at once run at most
// that many actions at a time, each still exactly once; a drain gives back the runs still waiting
// for a slot and the next leader runs them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db, MongoClient } from 'mongodb';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { validateScheduleInput } from '../../src/schedule/schema.ts';
import { ensureIndexes } from '../../src/store/indexes.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import { freshDb } from '../helpers/clients.ts';
import { loopbackSinks, sinkActionRunner } from '../helpers/egress.ts';

let client: MongoClient;
let db: Db;
let schedules: MongoScheduleStore;
let runs: MongoRunStore;
let sink: Server;
let sinkUrl: string;
const logger = pino({ level: 'silent' });
/** per schedule id, how many requests arrived; and the most ever open at once */
const delivered = new Map<string, number>();
let open = 0;
let mostOpen = 0;
let holdMs = 300;

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function engine(identity: string, maxConcurrentRuns: number): Engine {
  return new Engine({
    schedules,
    runs,
    actions: sinkActionRunner(),
    identity,
    logger,
    now: () => new Date(),
    maxConcurrentRuns,
  });
}

/** `n` one-shot schedules all due at `at`, posting to the sink. */
async function dueTogether(prefix: string, n: number, at: Date): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = validateScheduleInput(
      {
        name: `${prefix}-${i}`,
        schedule: { at: [at.toISOString()] },
        action: { type: 'http', url: sinkUrl, timeoutMs: 30_000 },
        concurrency: 'allow',
      },
      { egress: loopbackSinks },
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    ids.push((await schedules.create(r.value, new Date())).id);
  }
  return ids;
}

beforeAll(async () => {
  ({ client, db } = await freshDb('pool'));
  await ensureIndexes(db, { runRetentionDays: 7 });
  schedules = new MongoScheduleStore(db);
  runs = new MongoRunStore(db);
  sink = createServer((req, res) => {
    const id = String(req.headers['x-leasecron-schedule-id']);
    delivered.set(id, (delivered.get(id) ?? 0) + 1);
    open++;
    mostOpen = Math.max(mostOpen, open);
    req.resume();
    setTimeout(() => {
      open--;
      res.end('ok');
    }, holdMs);
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  sink.close();
  await db.dropDatabase();
  await client.close();
});

describe('MAX_CONCURRENT_RUNS', () => {
  it('runs at most that many actions at once; every occurrence still runs exactly once', async () => {
    const e = engine('leader-a', 3);
    await e.start(1);
    try {
      const ids = await dueTogether('pool', 12, new Date(Date.now() + 1500));
      await until('12 deliveries', async () => ids.every((id) => delivered.get(id) === 1));
      expect(mostOpen).toBe(3);
      const recorded = await until('12 runs recorded', async () => {
        const all = await Promise.all(ids.map(async (id) => (await runs.list(id, { limit: 5 })).items));
        return all.every((l) => l[0]?.status !== 'running') && all;
      });
      for (const list of recorded) {
        expect(list).toHaveLength(1);
        expect(list[0]).toMatchObject({ status: 'succeeded' });
      }
    } finally {
      await e.stop();
    }
  });

  it('a drain gives back the runs still waiting for a slot; the next leader runs each of them once', async () => {
    holdMs = 1000;
    mostOpen = 0;
    const a = engine('leader-b', 2);
    await a.start(2);
    const ids = await dueTogether('drain', 8, new Date(Date.now() + 1500));
    await until('the first two under way', async () => open === 2);
    const drained = await a.drain(5000);
    expect(drained.aborted).toBe(0); // the two under way finished within the budget
    await a.stop();
    const given = await Promise.all(
      ids.map(async (id) => (await runs.list(id, { limit: 5 })).items[0]?.status),
    );
    expect(given.filter((s) => s === 'succeeded')).toHaveLength(2);
    expect(given.filter((s) => s === 'released')).toHaveLength(6); // claimed, never started

    holdMs = 50;
    const b = engine('leader-c', 2);
    await b.start(3);
    try {
      await until('every occurrence delivered', async () => ids.every((id) => delivered.get(id) === 1));
      const final = await until('every run recorded', async () => {
        const all = await Promise.all(ids.map(async (id) => (await runs.list(id, { limit: 5 })).items));
        return all.every((l) => l[0]?.status !== 'running' && l[0]?.status !== 'released') && all;
      });
      for (const list of final) {
        expect(list).toHaveLength(1); // a released claim is taken over in place, never a second run
        expect(list[0]?.status).toBe('succeeded');
      }
      expect(mostOpen).toBe(2);
    } finally {
      await b.stop();
    }
  });
});
