// Issue 10: a MongoDB outage must not turn a misfire policy into a burst. While the database is
// frozen, each timer wake-up of an every-second schedule queued another claim behind the stuck
// one; on recovery all of them fired within a second, whatever the policy (25 deliveries for a
// 25 s freeze with fireOnce). The misfire policy decides what a gap means, whatever caused it:
// fireOnce → one catch-up, skip → none, fireAll → each, capped. Asserted at a webhook sink.
// The database is a dedicated server started by this file: freezing the shared one would stall
// every other test file.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Db, MongoClient } from 'mongodb';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { validateScheduleInput } from '../../src/schedule/schema.ts';
import { ensureIndexes } from '../../src/store/indexes.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import { type StartedMongo, startMongo } from '../../stack/mongo.ts';
import { isAlive, signal, stopProcess } from '../../stack/processes.ts';
import { provisionMongo } from '../../stack/stack.ts';
import { stack, uniqueName } from '../helpers/clients.ts';
import { loopbackSinks, sinkActionRunner } from '../helpers/egress.ts';

/** fireAll's cap for this engine (MAX_CATCHUP_PER_SCHEDULE). */
const CAP = 3;
const FREEZE_MS = 8_000;
/** A delivery later than this after its occurrence is a catch-up, not an on-time fire. */
const ON_TIME_MS = 1_500;

interface Delivery {
  schedule: string;
  scheduledFor: number;
  receivedAt: number;
}

let mongo: StartedMongo;
let client: MongoClient;
let db: Db;
let sink: Server;
let sinkUrl: string;
const deliveries: Delivery[] = [];
let frozen = false;

const server = () => mongo.procs[0]!;
function thaw(): void {
  if (frozen) signal(server(), 'SIGCONT');
  frozen = false;
}

beforeAll(async () => {
  const { secantusVenv } = provisionMongo();
  const { MONGODB_URI: _shared, ...env } = process.env;
  mongo = await startMongo(join(stack().dir, uniqueName('db-outage')), { env, secantusVenv });
  // The client options main.ts uses.
  client = new MongoClient(mongo.info.uri, { appName: 'leasecron', serverSelectionTimeoutMS: 5000 });
  db = client.db('leasecron_outage');
  await ensureIndexes(db, { runRetentionDays: 7 });
  sink = createServer((req, res) => {
    deliveries.push({
      schedule: String(req.headers['x-leasecron-schedule-id']),
      scheduledFor: Date.parse(String(req.headers['x-leasecron-scheduled-for'])),
      receivedAt: Date.now(),
    });
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  if (!mongo) return;
  thaw();
  sink?.close();
  await client?.close(true);
  await mongo.stop?.();
  for (const p of mongo.procs) if (isAlive(p)) await stopProcess(p);
});

describe('MongoDB frozen for 8 s under an every-second schedule per misfire policy', () => {
  it('fireOnce delivers one catch-up, skip none, fireAll at most its cap; none twice; firing resumes', {
    timeout: 60_000,
  }, async () => {
    const schedules = new MongoScheduleStore(db);
    const ids: Record<string, string> = {};
    for (const policy of ['fireOnce', 'skip', 'fireAll'] as const) {
      const r = validateScheduleInput(
        {
          name: `every-second-${policy.toLowerCase()}`,
          schedule: { every: '1s' },
          action: { type: 'http', url: sinkUrl, method: 'POST', timeoutMs: 2000 },
          misfire: { policy, graceSeconds: 300 },
          concurrency: 'allow',
        },
        { egress: loopbackSinks },
      );
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      ids[policy] = (await schedules.create(r.value, new Date())).id;
    }
    const engine = new Engine({
      schedules,
      runs: new MongoRunStore(db),
      actions: sinkActionRunner(),
      identity: 'leader-outage',
      logger: pino({ level: 'silent' }),
      now: () => new Date(),
      maxCatchUp: CAP,
    });
    await engine.start(1);
    let freezeAt = 0;
    let thawAt = 0;
    try {
      await sleep(3_000);
      freezeAt = Date.now();
      signal(server(), 'SIGSTOP');
      frozen = true;
      await sleep(FREEZE_MS);
      thawAt = Date.now();
      thaw();
      await sleep(5_000);
    } finally {
      thaw();
      await engine.stop();
    }

    const runStore = new MongoRunStore(db);
    const report: Record<string, unknown> = {};
    for (const [policy, id] of Object.entries(ids)) {
      const mine = deliveries.filter((d) => d.schedule === id);
      const times = mine.map((d) => d.scheduledFor);
      expect(new Set(times).size, `${policy}: an occurrence delivered twice`).toBe(times.length);
      const late = mine.filter((d) => d.receivedAt - d.scheduledFor > ON_TIME_MS);
      const inGap = mine.filter((d) => d.scheduledFor > freezeAt && d.scheduledFor < thawAt);
      const after = mine.filter((d) => d.scheduledFor > thawAt + ON_TIME_MS);
      report[policy] = {
        delivered: mine.length,
        late: late.length,
        inGap: inGap.length,
        after: after.length,
      };
      // The history says what happened: a succeeded run per delivery, every other claim skipped.
      const history = (await runStore.list(id, { limit: 200 })).items;
      const ran = history.filter((r) => r.status === 'succeeded').map((r) => r.scheduledFor.getTime());
      expect(ran.sort(), `${policy}: succeeded runs are the deliveries`).toEqual([...times].sort());
      expect(history.filter((r) => r.status !== 'succeeded' && r.status !== 'skipped')).toEqual([]);
      // Firing carries on after the outage, on time.
      expect(after.length, `${policy}: fires after the outage`).toBeGreaterThanOrEqual(2);
      if (policy === 'fireOnce') {
        expect(late.length, `${policy}: catch-ups`).toBeLessThanOrEqual(1);
        // The newest missed occurrence as the one catch-up, beside an on-time one that may
        // have fallen due in the freeze's last second.
        expect(inGap.length, `${policy}: deliveries from the gap`).toBeGreaterThanOrEqual(1);
        expect(inGap.length, `${policy}: deliveries from the gap`).toBeLessThanOrEqual(2);
      } else if (policy === 'skip') {
        expect(late.length, `${policy}: catch-ups`).toBe(0);
        // At most the one occurrence that fell due in the last second of the freeze is on time.
        expect(inGap.length, `${policy}: deliveries from the gap`).toBeLessThanOrEqual(1);
      } else {
        expect(late.length, `${policy}: catch-ups`).toBeLessThanOrEqual(CAP);
        expect(inGap.length, `${policy}: deliveries from the gap`).toBeGreaterThanOrEqual(CAP);
        expect(inGap.length, `${policy}: deliveries from the gap`).toBeLessThanOrEqual(CAP + 1);
      }
    }
    console.log(`[db-outage] frozen ${thawAt - freezeAt} ms: ${JSON.stringify(report)}`);
  });
});
