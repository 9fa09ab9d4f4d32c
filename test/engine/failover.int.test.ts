// The product's promise, tested with real processes: three replicas, a schedule
// every second with an http action, and failovers of the current leader by SIGTERM
// and by SIGKILL (each restarted as a follower, as a Deployment would). Every
// occurrence in the window must be claimed exactly once, and the receiver must
// never see the same occurrence or idempotency key twice.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../stack/ports.ts';
import {
  clusterView,
  type Replica,
  startReplica,
  stopReplica,
  waitForLeader,
  waitReady,
} from '../../stack/replicas.ts';
import { createNamespace, freshDb, stack, uniqueName } from '../helpers/clients.ts';

const LEASE = { LEASE_DURATION_SECONDS: '3', RENEW_DEADLINE_SECONDS: '2', RETRY_PERIOD_SECONDS: '0.5' };
const PLAN: ('SIGTERM' | 'SIGKILL')[] = ['SIGTERM', 'SIGKILL', 'SIGTERM', 'SIGKILL', 'SIGTERM', 'SIGTERM'];

let client: MongoClient;
let db: Db;
let sink: Server;
let sinkUrl: string;
const received: { key: string; scheduledFor: string; at: number }[] = [];
let replicas: Replica[] = [];

beforeAll(async () => {
  ({ client, db } = await freshDb('failover'));
  sink = createServer((req, res) => {
    received.push({
      key: String(req.headers['idempotency-key']),
      scheduledFor: String(req.headers['x-leasecron-scheduled-for']),
      at: Date.now(),
    });
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => stopReplica(r, 'SIGKILL')));
  sink.close();
  await db.dropDatabase();
  await client.close();
});

describe('failover with three replica processes', () => {
  it('claims every occurrence exactly once across SIGTERM and SIGKILL failovers', {
    timeout: 180_000,
  }, async () => {
    const s = stack();
    const namespace = await createNamespace('failover');
    const logDir = join(s.dir, 'failover-replicas');
    mkdirSync(logDir, { recursive: true });
    const env = { ...LEASE, POD_NAMESPACE: namespace, MONGODB_DB: db.databaseName, LOG_LEVEL: 'warn' };
    for (let i = 0; i < 3; i++) {
      const spec = {
        identity: `replica-${i}`,
        port: await freePort(),
        logFile: join(logDir, `replica-${i}.log`),
      };
      replicas.push(startReplica(s, spec, { entry: 'src/main.ts', env }));
    }
    await Promise.all(replicas.map((r) => waitReady(r)));
    await waitForLeader(replicas, { timeoutMs: 20_000 });

    const create = await fetch(`http://127.0.0.1:${replicas[0]!.port}/api/v1/schedules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: uniqueName('every-second'),
        schedule: { every: '1s' },
        action: { type: 'http', url: sinkUrl, method: 'POST', timeoutMs: 2000 },
        concurrency: 'allow',
        misfire: { policy: 'fireAll', graceSeconds: 300 },
      }),
    });
    expect(create.status).toBe(201);
    const schedule = (await create.json()) as { id: string; createdAt: string };
    const runs = db.collection('runs');
    const succeeded = () => runs.countDocuments({ scheduleId: schedule.id, status: 'succeeded' });
    const waitFires = async (n: number) => {
      const target = (await succeeded()) + n;
      const deadline = Date.now() + 30_000;
      while ((await succeeded()) < target) {
        if (Date.now() > deadline) throw new Error(`fewer than ${n} new fires within 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await waitFires(2);

    const handovers: { signal: string; from: string; to: string; ms: number }[] = [];
    for (const signal of PLAN) {
      const { leader } = await waitForLeader(replicas, { timeoutMs: 20_000 });
      const t0 = performance.now();
      const stopping = stopReplica(leader, signal);
      const next = await waitForLeader(
        replicas.filter((r) => r !== leader),
        { timeoutMs: 20_000, not: leader.identity, pollMs: 20 },
      );
      handovers.push({
        signal,
        from: leader.identity,
        to: next.view.identity,
        ms: Math.round(performance.now() - t0),
      });
      await stopping;
      const restarted = startReplica(s, leader, { entry: 'src/main.ts', env });
      replicas = replicas.map((r) => (r === leader ? restarted : r));
      await waitReady(restarted);
      expect((await clusterView(restarted.port))?.role).not.toBe('leader');
      await waitFires(2);
    }
    await waitFires(2);
    for (const h of handovers)
      console.log(`[failover] ${h.signal.padEnd(7)} ${h.from} → ${h.to}: ${h.ms} ms`);

    // Stop firing before judging, so the window is closed.
    await Promise.all(replicas.map((r) => stopReplica(r, 'SIGTERM')));
    const all = await runs
      .find({ scheduleId: schedule.id })
      .project<{ scheduledFor: Date; status: string; leader: string; _id: string }>({
        scheduledFor: 1,
        status: 1,
        leader: 1,
      })
      .toArray();
    const times = all.map((r) => r.scheduledFor.getTime()).sort((a, b) => a - b);
    const first = times[0]!;
    const last = times.at(-1)!;
    const expected: number[] = [];
    for (let t = Date.parse(schedule.createdAt); t <= last; t += 1000) if (t >= first) expected.push(t);
    const claimed = new Set(times);
    // Delivered is what the sink received, not what was claimed: a claimed run that was
    // abandoned before its request went out is a missed occurrence for the user.
    const delivered = new Set(received.map((r) => Date.parse(r.scheduledFor)));
    const missed = expected.filter((t) => !delivered.has(t));
    const duplicateClaims = times.length - claimed.size;
    const keys = received.map((r) => r.key);
    const duplicateKeys = keys.length - new Set(keys).size;
    const sinkOccurrences = received.map((r) => r.scheduledFor);
    const duplicateDeliveries = sinkOccurrences.length - new Set(sinkOccurrences).size;
    const leaders = new Set(all.map((r) => r.leader));
    console.log(
      `[failover] window ${new Date(first).toISOString()} … ${new Date(last).toISOString()}: ` +
        `${expected.length} occurrences, ${all.length} claims, missed ${missed.length}, duplicate claims ${duplicateClaims}, ` +
        `duplicate deliveries ${duplicateDeliveries}, leaders ${[...leaders].join(', ')}, ` +
        `statuses ${JSON.stringify(
          Object.groupBy(all, (r) => r.status),
          (_k, v) => (Array.isArray(v) ? v.length : v),
        )}`,
    );
    expect(missed.map((t) => new Date(t).toISOString())).toEqual([]);
    expect(duplicateClaims).toBe(0);
    expect(duplicateKeys).toBe(0);
    expect(duplicateDeliveries).toBe(0);
    expect(all.length).toBe(expected.length);
    expect(leaders.size).toBeGreaterThanOrEqual(3);
    // Graceful handovers are fast (watch on release); crash handovers wait for expiry.
    const term = handovers.filter((h) => h.signal === 'SIGTERM').map((h) => h.ms);
    expect(Math.min(...term)).toBeLessThan(3000);
  });
});
