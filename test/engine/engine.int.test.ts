// The engine against the real MongoDB-protocol server: arming from the change
// stream, claims, catch-up, pause/update/delete, manual triggers, and two engines
// racing on one database (split brain) still claiming each occurrence once.

import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Db, type MongoClient, MongoServerError } from 'mongodb';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { openAuth } from '../../src/auth/api-auth.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MissedRuns } from '../../src/engine/missed-runs.ts';
import type { EngineMetrics } from '../../src/engine/types.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { type ScheduleInput, validateScheduleInput } from '../../src/schedule/schema.ts';
import { StoreUnavailableError } from '../../src/store/errors.ts';
import { ensureIndexes } from '../../src/store/indexes.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import type { Run } from '../../src/store/types.ts';
import { freshDb } from '../helpers/clients.ts';
import { loopbackSinks, sinkActionRunner } from '../helpers/egress.ts';
import { type Probe, until as poll } from '../helpers/until.ts';

let client: MongoClient;
let db: Db;
let schedules: MongoScheduleStore;
let runs: MongoRunStore;
let sink: Server;
let sinkUrl: string;
const hits: { key: string; scheduledFor: string; scheduleId: string }[] = [];
const logger = pino({ level: 'silent' });

function input(name: string, extra: Record<string, unknown> = {}): ScheduleInput {
  const r = validateScheduleInput(
    { name, schedule: { every: '1s' }, action: { type: 'log' }, ...extra },
    { egress: loopbackSinks },
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

function engine(
  identity: string,
  onArmed?: (id: string, v: number, next: Date | null) => void,
  leaseValid?: () => boolean,
) {
  return new Engine({
    ...(leaseValid ? { leaseValid } : {}),
    schedules,
    runs,
    actions: sinkActionRunner(),
    identity,
    logger,
    now: () => new Date(),
    manualPollMs: 100,
    ...(onArmed ? { onArmed } : {}),
  });
}

async function allRuns(scheduleId: string): Promise<Run[]> {
  return (await runs.list(scheduleId, { limit: 500 })).items;
}

/** Waits as test/helpers/until.ts does, for up to 10 s unless told. */
const until = <T>(what: string, probe: Probe<T>, timeoutMs = 10_000) => poll(what, probe, timeoutMs);

beforeAll(async () => {
  ({ client, db } = await freshDb('engine'));
  await ensureIndexes(db, { runRetentionDays: 7 });
  schedules = new MongoScheduleStore(db);
  runs = new MongoRunStore(db);
  sink = createServer((req, res) => {
    hits.push({
      key: String(req.headers['idempotency-key']),
      scheduledFor: String(req.headers['x-leasecron-scheduled-for']),
      scheduleId: String(req.headers['x-leasecron-schedule-id']),
    });
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  sink.close();
  await db.dropDatabase();
  await client.close();
});

describe('Engine', () => {
  it('arms a schedule created after start within 100 ms and fires it on time with its claims recorded', async () => {
    const armedAt = new Map<string, number>();
    const e = engine('leader-a', (id, _v, next) => {
      if (next && !armedAt.has(id)) armedAt.set(id, performance.now());
    });
    await e.start(1);
    try {
      // Created through the API, as a user would: POST → MongoDB → change stream → armed.
      const app = createApp({
        schedules,
        runs,
        auth: openAuth(),
        config: { bodyLimitBytes: 65536, egress: loopbackSinks },
        logger,
        metrics: createMetrics(),
        now: () => new Date(),
        ready: async () => true,
      });
      const t0 = performance.now();
      const res = await app.request('/api/v1/schedules', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'http-every-second',
          schedule: { every: '1s' },
          action: { type: 'http', url: sinkUrl, method: 'POST' },
        }),
      });
      expect(res.status).toBe(201);
      const created = (await res.json()) as { id: string };
      const s = (await schedules.get(created.id))!;
      const armed = await until('armed', async () => armedAt.get(s.id));
      const propagationMs = armed - t0;
      console.log(`[engine] create → armed on the leader: ${propagationMs.toFixed(1)} ms`);
      expect(propagationMs).toBeLessThan(1000); // the 100 ms target is measured by bench/, not asserted here
      const done = await until('3 runs', async () => {
        const r = (await allRuns(s.id)).filter((x) => x.status === 'succeeded');
        return r.length >= 3 && r;
      });
      for (const r of done) {
        expect(r.leader).toBe('leader-a');
        expect(r.epoch).toBe(1);
        expect(r.attempts).toBe(1);
        expect(r.response?.statusCode).toBe(200);
        expect(r.scheduledFor.getTime() % 1000).toBe(s.createdAt.getTime() % 1000);
      }
      const keys = hits.filter((h) => done.some((r) => r.id === h.key));
      expect(keys.length).toBe(done.length);
      expect(new Set(keys.map((k) => k.scheduledFor)).size).toBe(keys.length);
    } finally {
      await e.stop();
    }
  });

  it('pause disarms, an update re-arms by version, delete disarms', async () => {
    const e = engine('leader-b');
    await e.start(2);
    try {
      const s = await schedules.create(input('lifecycle', { schedule: { every: '1h' } }), new Date());
      await until('armed', async () => e.armedFor(s.id)?.next);
      const p = await schedules.replace(
        s.id,
        input('lifecycle', { schedule: { every: '1h' }, paused: true }),
        {
          now: new Date(),
        },
      );
      await until(
        'disarmed',
        async () => e.armedFor(s.id)?.version === p.version && e.armedFor(s.id)?.next === null,
      );
      const r = await schedules.replace(s.id, input('lifecycle', { schedule: { every: '2h' } }), {
        now: new Date(),
      });
      await until('re-armed', async () => e.armedFor(s.id)?.version === r.version && e.armedFor(s.id)?.next);
      await schedules.delete(s.id);
      await until('removed', async () => e.armedFor(s.id) === undefined);
    } finally {
      await e.stop();
    }
  });

  it('catches up missed occurrences with fireAll when it becomes leader, exactly once each', async () => {
    const createdAt = new Date(Date.now() - 4_500);
    const s = await schedules.create(
      input('catch-up', { misfire: { policy: 'fireAll', graceSeconds: 60 } }),
      createdAt,
    );
    const e = engine('leader-c');
    await e.start(3);
    try {
      const want = [0, 1, 2, 3, 4].map((k) => createdAt.getTime() + k * 1000);
      const r = await until('catch-up runs', async () => {
        const all = await allRuns(s.id);
        const at = new Set(all.map((x) => x.scheduledFor.getTime()));
        return want.every((t) => at.has(t)) && all;
      });
      // every missed occurrence claimed exactly once; the old ones fired as catch-up
      expect(new Set(r.map((x) => x.scheduledFor.getTime())).size).toBe(r.length);
      for (const t of want.slice(0, 3)) {
        expect(r.find((x) => x.scheduledFor.getTime() === t)?.trigger).toBe('catchup');
      }
    } finally {
      await e.stop();
    }
  });

  it('records occurrences the misfire policy passes over as one missed run, outside the claims (issue 15)', async () => {
    const createdAt = new Date(Date.now() - 5_500);
    const s = await schedules.create(
      input('passed-over', { misfire: { policy: 'skip', graceSeconds: 60 } }),
      createdAt,
    );
    const missedRuns = new MissedRuns({ write: (r) => runs.recordMissed(r), logger, flushMs: 100 });
    const e = new Engine({
      schedules,
      runs,
      actions: sinkActionRunner(),
      identity: 'leader-m',
      logger,
      now: () => new Date(),
      missedRuns,
    });
    await e.start(4);
    try {
      const missed = await until('a missed record', async () => {
        const found = (await allRuns(s.id)).filter((r) => r.status === 'missed');
        return found.length > 0 && found;
      });
      expect(missed).toHaveLength(1);
      const [m] = missed;
      // 0 … 4 s after creation are more than the on-time tolerance late at start: passed over by skip
      const count = Number(/^(\d+) occurrences from /.exec(m!.error ?? '')?.[1]);
      expect(count, m!.error ?? '').toBeGreaterThanOrEqual(5);
      expect(m).toMatchObject({
        scheduledFor: createdAt,
        attempts: 0,
        trigger: 'schedule',
        leader: 'leader-m',
        epoch: 4,
        firedAt: null,
        error: expect.stringMatching(
          new RegExp(
            `^\\d+ occurrences from ${createdAt.toISOString()} to \\S+ not run: misfire policy skip$`,
          ),
        ),
      });
      // it fences nothing: the on-time occurrences after it are claimed and run as usual
      await until('runs after the gap', async () =>
        (await allRuns(s.id)).some((r) => r.status === 'succeeded' && r.scheduledFor > createdAt),
      );
      const claimed = (await allRuns(s.id))
        .filter((r) => r.status !== 'missed')
        .map((r) => r.scheduledFor.getTime());
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(Math.min(...claimed)).toBeGreaterThanOrEqual(createdAt.getTime() + 5000);
    } finally {
      await e.stop();
      await missedRuns.close();
    }
  });

  it('keeps firing a schedule edited by a replica whose clock runs a minute ahead (issue 10)', async () => {
    const ahead = () => new Date(Date.now() + 60_000);
    // In the snapshot: edited before this leader starts.
    const snap = await schedules.create(input('skewed-snapshot', { concurrency: 'allow' }), new Date());
    await schedules.replace(snap.id, input('skewed-snapshot', { concurrency: 'allow', labels: { v: '2' } }), {
      now: ahead(),
    });
    // On the stream: armed and firing, then edited.
    const live = await schedules.create(input('skewed-stream', { concurrency: 'allow' }), new Date());
    const e = engine('leader-skew');
    await e.start(12);
    try {
      await until('the snapshot schedule fires', async () => (await allRuns(snap.id)).length > 0, 5_000);
      await until('the stream schedule fires', async () => (await allRuns(live.id)).length > 0, 5_000);
      const edited = await schedules.replace(
        live.id,
        input('skewed-stream', { concurrency: 'allow', labels: { v: '2' } }),
        { now: ahead() },
      );
      await until('armed at the new version', async () => e.armedFor(live.id)?.version === edited.version);
      const editSeenAt = Date.now();
      await until(
        'fires after the edit',
        async () => (await allRuns(live.id)).some((r) => r.scheduledFor.getTime() > editSeenAt),
        5_000,
      );
    } finally {
      await e.stop();
    }
  });

  it('two engines racing on one database claim each occurrence once (split brain is fenced)', async () => {
    const a = engine('split-a');
    const b = engine('split-b');
    await Promise.all([a.start(10), b.start(11)]);
    let s: Awaited<ReturnType<typeof schedules.create>>;
    try {
      // An http action, so a double execution would show at the sink (a log action would not).
      s = await schedules.create(
        input('split-brain', {
          concurrency: 'allow',
          action: { type: 'http', url: sinkUrl, method: 'POST' },
        }),
        new Date(),
      );
      await new Promise((r) => setTimeout(r, 3_500));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    const delivered = hits.filter((h) => h.scheduleId === s.id).map((h) => h.scheduledFor);
    expect(delivered.length).toBeGreaterThanOrEqual(3);
    expect(new Set(delivered).size, `an occurrence delivered twice: ${delivered.join(', ')}`).toBe(
      delivered.length,
    );
    const r = await allRuns(s.id);
    // What the sink got is what the history says succeeded, by both engines together.
    expect(
      r
        .filter((x) => x.status === 'succeeded')
        .map((x) => x.scheduledFor.toISOString())
        .sort(),
    ).toEqual([...delivered].sort());
    expect(new Set(r.map((x) => x.leader))).toSatisfy((set: Set<string>) =>
      [...set].every((l) => l.startsWith('split-')),
    );
  });

  it('honours maxRuns exactly even when catch-up fires many occurrences at once', async () => {
    const s = await schedules.create(
      input('max-runs', { maxRuns: 2, misfire: { policy: 'fireAll', graceSeconds: 60 } }),
      new Date(Date.now() - 10_000),
    );
    const e = engine('leader-e');
    await e.start(6);
    try {
      await until('two runs', async () => (await allRuns(s.id)).length >= 2);
      await new Promise((r) => setTimeout(r, 1500));
      const r = await allRuns(s.id);
      expect(r).toHaveLength(2);
      expect(await runs.claimedCount(s.id)).toBe(2);
      expect(e.armedFor(s.id)?.next).toBeNull();
    } finally {
      await e.stop();
    }
  });

  it('claims nothing while its lease is not valid', async () => {
    let valid = false;
    const s = await schedules.create(input('no-lease'), new Date());
    const e = engine('leader-f', undefined, () => valid);
    await e.start(7);
    try {
      await new Promise((r) => setTimeout(r, 2200));
      expect(await allRuns(s.id)).toEqual([]);
      valid = true;
      await until('a run once the lease is valid', async () => (await allRuns(s.id)).length > 0);
    } finally {
      await e.stop();
    }
  });

  it('keeps firing the others when one stored schedule cannot be planned', async () => {
    const now = new Date();
    await db.collection('schedules').insertOne({
      _id: crypto.randomUUID() as never,
      ...input('poison', { schedule: { cron: '0 0 * * *' } }),
      schedule: { cron: 'this is not cron' },
      version: 1,
      createdAt: now,
      updatedAt: now,
    } as never);
    const good = await schedules.create(input('healthy'), new Date());
    const e = engine('leader-g');
    await e.start(8);
    try {
      await until('the healthy schedule fires', async () => (await allRuns(good.id)).length > 0);
      expect(e.status().leading).toBe(true);
    } finally {
      await e.stop();
      await db.collection('schedules').deleteOne({ name: 'poison' });
    }
  });

  it('runs a manual trigger once, and settles runs left running by another leader as unknown', async () => {
    const s = await schedules.create(input('manual', { schedule: { every: '24h' } }), new Date());
    await runs.claim({
      id: crypto.randomUUID(),
      scheduleId: s.id,
      scheduleName: s.name,
      scheduledFor: new Date(Date.now() - 60_000),
      firedAt: new Date(Date.now() - 60_000),
      trigger: 'schedule',
      leader: 'dead-leader',
      epoch: 4,
      status: 'running',
    });
    const pending = await runs.requestManual(s, new Date());
    const e = engine('leader-d');
    await e.start(5);
    try {
      const done = await until('manual run', async () => {
        const r = (await allRuns(s.id)).find((x) => x.id === pending.id);
        return r?.status === 'succeeded' && r;
      });
      expect(done).toMatchObject({ trigger: 'manual', leader: 'leader-d', epoch: 5 });
      const dead = (await allRuns(s.id)).find((x) => x.leader === 'dead-leader');
      expect(dead?.status).toBe('unknown');
    } finally {
      await e.stop();
    }
  });

  it('drain starts nothing new and lets running actions finish; past its budget it aborts them as unknown (issue 10)', async () => {
    let arrivals = 0;
    const slow = createServer((req, res) => {
      arrivals++;
      req.resume();
      res.on('error', () => {});
      setTimeout(() => res.end('ok'), 700);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`;
    const s = await schedules.create(
      input('drain', {
        action: { type: 'http', url, method: 'POST', timeoutMs: 10_000 },
        concurrency: 'allow',
      }),
      new Date(),
    );
    const inFlight = async () => {
      const seen = arrivals;
      await until('a delivery in flight', async () => arrivals > seen);
    };
    try {
      const e = engine('leader-drain');
      await e.start(11);
      try {
        await inFlight();
        const drained = await e.drain(5_000);
        expect(drained).toMatchObject({ aborted: 0 });
        expect(drained.running).toBeGreaterThan(0);
        const recorded = await allRuns(s.id);
        expect(recorded.map((r) => r.status)).toEqual(recorded.map(() => 'succeeded'));
        const sent = arrivals;
        // Drained, still leading: no timer, no claim, no request any more.
        await new Promise((r) => setTimeout(r, 1500));
        expect((await allRuns(s.id)).length).toBe(recorded.length);
        expect(arrivals).toBe(sent);
      } finally {
        await e.stop();
      }

      const e2 = engine('leader-drain-2');
      await e2.start(12);
      try {
        await inFlight();
        const drained = await e2.drain(100);
        expect(drained.aborted).toBeGreaterThan(0);
        const mine = (await allRuns(s.id)).filter((r) => r.leader === 'leader-drain-2');
        // The sink has those requests: the record must not say they were not delivered.
        // (other tests' schedules run on this engine too, so count only this one's)
        expect(mine.filter((r) => r.status === 'unknown').length).toBeGreaterThan(0);
        // released: a claim that was under way when the drain began is given back, not run;
        // skipped: a catch-up claim that came back late on a loaded machine, superseded by the
        // misfire policy (judgeTurn) and never sent. Neither says a delivered request was not.
        for (const r of mine) expect(['succeeded', 'unknown', 'released', 'skipped']).toContain(r.status);
      } finally {
        await e2.stop();
      }
    } finally {
      await schedules.delete(s.id);
      slow.closeAllConnections();
      slow.close();
    }
  });

  it('a claim given back stays fenced: a stale leader cannot fire it, the next leader catches it up (issue 10)', async () => {
    const at = new Date(Date.now() - 3_000);
    const s = await schedules.create(
      input('given-back', {
        schedule: { at: [at.toISOString()] },
        misfire: { policy: 'fireOnce', graceSeconds: 60 },
      }),
      new Date(Date.now() - 10_000),
    );
    // The leader of epoch 31 claimed the occurrence, then lost its lease before the action.
    const first = randomUUID();
    const claim = {
      id: first,
      scheduleId: s.id,
      scheduleName: s.name,
      scheduledFor: at,
      firedAt: at,
      trigger: 'schedule' as const,
      leader: 'lost-lease',
      epoch: 31,
      status: 'running' as const,
    };
    expect(await runs.claim(claim)).toBe(first);
    await runs.unclaim(first);
    // A leader of an older epoch that starts late decides the occurrence, but cannot claim it.
    const stale = engine('stale-30');
    await stale.start(30);
    await until('the stale leader armed it', async () => stale.armedFor(s.id));
    await new Promise((r) => setTimeout(r, 500));
    await stale.stop();
    expect((await allRuns(s.id)).map((r) => [r.id, r.status])).toEqual([[first, 'released']]);
    // The next leader's catch-up takes it over: one run, the same id, run once.
    const next = engine('next-32');
    await next.start(32);
    try {
      const done = await until('the given-back occurrence ran', async () => {
        const r = await allRuns(s.id);
        return r.length === 1 && r[0]?.status === 'succeeded' && r;
      });
      expect(done[0]).toMatchObject({ id: first, leader: 'next-32', epoch: 32, trigger: 'catchup' });
      expect(await runs.claimedCount(s.id)).toBe(1);
    } finally {
      await next.stop();
    }
  });

  describe('MongoDB errors during a claim or a finish are retried (issue 10)', () => {
    /** The real run store, with `fail(method, call)` deciding which calls fail and how. */
    function flaky(fail: (method: 'claim' | 'finish', call: number) => Error | 'after' | null) {
      const calls = { claim: 0, finish: 0 };
      return new Proxy(runs, {
        get(target, key) {
          const v = Reflect.get(target, key, target);
          if (key !== 'claim' && key !== 'finish') return typeof v === 'function' ? v.bind(target) : v;
          return async (...args: unknown[]) => {
            const how = fail(key, ++calls[key]);
            if (how instanceof Error) throw how;
            const r = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            // the write landed, but its answer is lost with an error that is not transient
            if (how === 'after')
              throw new MongoServerError({ code: 50, errmsg: 'operation exceeded time limit' });
            return r;
          };
        },
      });
    }

    it('a claim whose answer is lost with a non-transient error is retried, found to be ours, and run', async () => {
      const s = await schedules.create(input('claim-answer-lost'), new Date());
      const e = new Engine({
        schedules,
        runs: flaky((m, n) => (m === 'claim' && n === 1 ? 'after' : null)),
        actions: sinkActionRunner(),
        identity: 'leader-claim-retry',
        logger,
        now: () => new Date(),
      });
      await e.start(40);
      try {
        const first = await until('a run', async () => (await allRuns(s.id)).at(-1));
        await until('the first claimed run finished', async () => {
          const r = (await allRuns(s.id)).find((x) => x.id === first.id);
          return r?.status === 'succeeded';
        });
      } finally {
        await e.stop();
      }
    });

    it('a finish that fails during a blip is retried, so a run that succeeded is recorded so', async () => {
      const s = await schedules.create(input('finish-blip', { schedule: { every: '1h' } }), new Date());
      const blip = () => new StoreUnavailableError('MongoDB unavailable: connection reset');
      const e = new Engine({
        schedules,
        runs: flaky((m, n) => (m === 'finish' && n <= 2 ? blip() : null)),
        actions: sinkActionRunner(),
        identity: 'leader-finish-retry',
        logger,
        now: () => new Date(),
      });
      await e.start(41);
      try {
        const pending = await runs.requestManual(s, new Date());
        await until(
          'the run recorded as succeeded',
          async () => (await allRuns(s.id)).find((x) => x.id === pending.id)?.status === 'succeeded',
        );
      } finally {
        await e.stop();
      }
    });
  });

  describe('a malformed document in `schedules` idles only its own schedule (issue 10)', () => {
    type Line = Record<string, unknown> & { msg: string; level: string };

    /** An engine whose warn lines and invalid-schedule count the test can read. */
    function watched(identity: string) {
      const lines: Line[] = [];
      const invalid: number[] = [];
      const metrics: EngineMetrics = {
        fired() {},
        ran() {},
        missed() {},
        armed() {},
        streamEvent() {},
        streamRestart() {},
        invalid: (n: number) => invalid.push(n),
      };
      const e = new Engine({
        schedules,
        runs,
        actions: sinkActionRunner(),
        identity,
        logger: createLogger(
          { level: 'warn', identity },
          { write: (l: string) => lines.push(JSON.parse(l)) },
        ),
        now: () => new Date(),
        manualPollMs: 100,
        metrics,
      });
      return { e, lines, invalidNow: () => invalid.at(-1) };
    }

    /** The broken document from the issue: an id, a name and a version, nothing else. */
    async function insertPoison(name: string): Promise<string> {
      const id = randomUUID();
      await db.collection('schedules').insertOne({ _id: id as never, name, version: 1 });
      return id;
    }

    /** Replaces the broken document by hand with a valid one at a higher version. */
    async function fixPoison(id: string, name: string): Promise<void> {
      const now = new Date();
      const { labels, ...rest } = input(name, { action: { type: 'http', url: sinkUrl } });
      await db
        .collection('schedules')
        .replaceOne(
          { _id: id as never },
          { ...rest, labels, labelPairs: [], version: 2, createdAt: now, updatedAt: now },
        );
    }

    /** Runs of `id` that succeeded and whose request reached the webhook sink. */
    async function delivered(id: string, atLeast: number): Promise<Run[]> {
      return until(`${atLeast} deliveries of ${id}`, async () => {
        const done = (await allRuns(id)).filter((r) => r.status === 'succeeded');
        const got = done.filter((r) => hits.some((h) => h.key === r.id));
        return got.length >= atLeast && got;
      });
    }

    const httpEverySecond = (name: string) =>
      input(name, { action: { type: 'http', url: sinkUrl }, concurrency: 'allow' });

    it('in the snapshot: the engine starts, the valid schedules fire, the bad one is named; fixed it arms, deleted it is forgotten', async () => {
      const poison = await insertPoison('poison-snapshot');
      const good = await schedules.create(httpEverySecond('after-poison-snapshot'), new Date());
      const { e, lines, invalidNow } = watched('leader-poison-snapshot');
      try {
        await e.start(20);
        await delivered(good.id, 2);
        expect(e.armedFor(poison)).toBeUndefined();
        expect(invalidNow()).toBe(1);
        const warn = lines.find((l) => l.level === 'warn' && l.scheduleId === poison);
        expect(warn?.problems).toMatch(/schedule: required/);
        expect(warn?.problems).toMatch(/action: required/);

        await fixPoison(poison, 'poison-snapshot');
        await until('the fixed schedule armed', async () => e.armedFor(poison)?.version === 2);
        await delivered(poison, 1);
        expect(invalidNow()).toBe(0);

        await db.collection('schedules').deleteOne({ _id: poison as never });
        await until('forgotten', async () => e.armedFor(poison) === undefined);
      } finally {
        await e.stop();
        await schedules.delete(good.id);
        await db.collection('schedules').deleteOne({ _id: poison as never });
      }
    });

    it('on the change stream: later creates, edits and deletes still apply; a bad edit idles only that schedule until fixed', async () => {
      const { e, lines, invalidNow } = watched('leader-poison-stream');
      await e.start(21);
      const app = createApp({
        schedules,
        runs,
        auth: openAuth(),
        config: { bodyLimitBytes: 65536, egress: loopbackSinks },
        logger,
        metrics: createMetrics(),
        now: () => new Date(),
        ready: async () => true,
      });
      let goodId: string | undefined;
      let poison: string | undefined;
      try {
        poison = await insertPoison('poison-stream');
        // A valid schedule created through the API after the broken insert must fire.
        const res = await app.request('/api/v1/schedules', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            name: 'after-poison-stream',
            schedule: { every: '1s' },
            action: { type: 'http', url: sinkUrl },
            concurrency: 'allow',
          }),
        });
        expect(res.status).toBe(201);
        goodId = ((await res.json()) as { id: string }).id;
        await delivered(goodId, 2);
        expect(e.armedFor(poison)).toBeUndefined();
        expect(invalidNow()).toBe(1);
        expect(lines.find((l) => l.level === 'warn' && l.scheduleId === poison)?.problems).toMatch(
          /schedule: required/,
        );

        // A hand edit that breaks an armed schedule (and bumps its version) idles it alone.
        await db
          .collection('schedules')
          .updateOne({ _id: goodId as never }, { $unset: { action: '' }, $inc: { version: 1 } });
        await until('the broken schedule disarmed', async () => e.armedFor(goodId!) === undefined);
        expect(invalidNow()).toBe(2);
        // ... and a PUT through the API (version 3) brings it back.
        const put = await app.request(`/api/v1/schedules/${goodId}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            name: 'after-poison-stream',
            schedule: { every: '1s' },
            action: { type: 'http', url: sinkUrl },
            concurrency: 'allow',
          }),
        });
        expect(put.status).toBe(200);
        await until('re-armed after the PUT', async () => e.armedFor(goodId!)?.version === 3);
        const before = (await delivered(goodId, 1)).length;
        await delivered(goodId, before + 1);

        await fixPoison(poison, 'poison-stream');
        await until('the fixed schedule armed', async () => e.armedFor(poison!)?.version === 2);
        await delivered(poison, 1);
        expect(invalidNow()).toBe(0);

        await schedules.delete(poison);
        await until('forgotten', async () => e.armedFor(poison!) === undefined);
      } finally {
        await e.stop();
        if (goodId) await schedules.delete(goodId);
        if (poison) await db.collection('schedules').deleteOne({ _id: poison as never });
      }
    });
  });
});
