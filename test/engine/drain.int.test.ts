// Deliveries in flight when a leader goes away (issue 10), with real replica processes and a
// slow webhook sink that counts deliveries by X-Leasecron-Scheduled-For:
// - a rolling restart (SIGTERM to each replica in turn, restarted as a follower as a Deployment
//   does) while a delivery is in flight: the leader drains — starts nothing new, lets running
//   actions finish while it still holds the Lease — then releases it. Every occurrence is
//   delivered exactly once and the runs of delivered occurrences are recorded `succeeded`.
// - a leader frozen (SIGSTOP) with a delivery in flight, woken after another replica took over:
//   the sink got the request, so its run must not say `abandoned` or `failed`; it says
//   `succeeded` or `unknown`, and the woken leader delivers nothing more.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../stack/ports.ts';
import { signal } from '../../stack/processes.ts';
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
/** The sink answers this long after a request arrives: a delivery is always in flight. */
// Longer than RENEW_DEADLINE_SECONDS (2 s): a drain that outlasts the renew deadline must keep
// leading. (With 2 s it did only when the last MongoDB ping happened to be recent: shutdown
// stopped the ping that canLead needs, and the leader handed over mid-drain.)
const ANSWER_AFTER_MS = 3000;

interface RunRow {
  _id: string;
  scheduledFor: Date;
  status: string;
  leader: string;
  error: string | null;
}

let client: MongoClient;
let db: Db;
let sink: Server;
let sinkUrl: string;
/** deliveries per schedule id, then per X-Leasecron-Scheduled-For */
const deliveries = new Map<string, Map<string, number>>();
let inFlight = 0;
let arrivals = 0;
let replicas: Replica[] = [];
const frozen: Replica[] = [];

beforeAll(async () => {
  ({ client, db } = await freshDb('drain'));
  sink = createServer((req, res) => {
    const id = String(req.headers['x-leasecron-schedule-id']);
    const at = String(req.headers['x-leasecron-scheduled-for']);
    const byTime = deliveries.get(id) ?? new Map<string, number>();
    deliveries.set(id, byTime);
    byTime.set(at, (byTime.get(at) ?? 0) + 1);
    arrivals++;
    inFlight++;
    req.resume();
    res.on('error', () => {});
    setTimeout(() => {
      inFlight--;
      res.end('ok');
    }, ANSWER_AFTER_MS);
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  for (const r of frozen) signal(r, 'SIGCONT');
  await Promise.all(replicas.map((r) => stopReplica(r, 'SIGKILL')));
  sink.closeAllConnections();
  sink.close();
  await db.dropDatabase();
  await client.close();
});

// A test that failed leaves its replicas running; the next one starts its own.
beforeEach(async () => {
  await Promise.all(replicas.map((r) => stopReplica(r, 'SIGKILL')));
  replicas = [];
});

async function until<T>(what: string, f: () => Promise<T | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startReplicas(
  n: number,
  prefix: string,
  env: Record<string, string>,
): Promise<{ logDir: string; env: Record<string, string> }> {
  const s = stack();
  const namespace = await createNamespace(prefix);
  const logDir = join(s.dir, `${prefix}-replicas`);
  mkdirSync(logDir, { recursive: true });
  const full = { ...LEASE, POD_NAMESPACE: namespace, MONGODB_DB: db.databaseName, LOG_LEVEL: 'info', ...env };
  for (let i = 0; i < n; i++) {
    const spec = {
      identity: `${prefix}-${i}`,
      port: await freePort(),
      logFile: join(logDir, `${prefix}-${i}.log`),
    };
    replicas.push(startReplica(s, spec, { entry: 'src/main.ts', env: full }));
  }
  await Promise.all(replicas.map((r) => waitReady(r)));
  await waitForLeader(replicas, { timeoutMs: 20_000 });
  return { logDir, env: full };
}

async function createEverySecond(port: number, prefix: string): Promise<{ id: string; createdAt: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/schedules`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: uniqueName(prefix),
      schedule: { every: '1s' },
      // One attempt, a timeout far above the sink's delay: any second delivery is a duplicate.
      action: {
        type: 'http',
        url: sinkUrl,
        method: 'POST',
        timeoutMs: 20_000,
        retry: { maxAttempts: 1, backoffMs: 100 },
      },
      concurrency: 'allow',
      misfire: { policy: 'fireAll', graceSeconds: 300 },
    }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; createdAt: string };
}

function runsOf(scheduleId: string): Promise<RunRow[]> {
  return db
    .collection('runs')
    .find({ scheduleId })
    .project<RunRow>({ scheduledFor: 1, status: 1, leader: 1, error: 1 })
    .toArray();
}

function statusCounts(rows: RunRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}

describe('deliveries in flight when the leader goes away (issue 10)', () => {
  it('a rolling restart drains: every occurrence delivered once, recorded succeeded', {
    timeout: 240_000,
  }, async () => {
    const s = stack();
    // Drain budget (SHUTDOWN_TIMEOUT minus the release margin) well above the sink's 2 s.
    const { env } = await startReplicas(3, 'rolling', { SHUTDOWN_TIMEOUT_SECONDS: '10' });
    const schedule = await createEverySecond(replicas[0]!.port, 'rolling');
    const succeeded = async () => (await runsOf(schedule.id)).filter((r) => r.status === 'succeeded').length;
    const waitSucceeded = async (n: number) => {
      const target = (await succeeded()) + n;
      await until(`${n} more succeeded runs`, async () => (await succeeded()) >= target);
    };
    await waitSucceeded(2);

    // A Deployment's rolling update: each pod in turn, SIGTERM, then a new one (same identity
    // here). The leader goes first, so its successor is among those still to be restarted.
    const { leader } = await waitForLeader(replicas, { timeoutMs: 20_000 });
    const order = [leader, ...replicas.filter((r) => r !== leader)];
    let leaderStops = 0;
    for (const victim of order) {
      const view = await clusterView(victim.port);
      if (view?.role === 'leader') leaderStops++;
      await until('a delivery in flight', async () => inFlight > 0);
      const t0 = performance.now();
      await stopReplica(victim, 'SIGTERM', 30_000);
      console.log(
        `[drain] SIGTERM ${victim.identity} (${view?.role}) exited after ${Math.round(performance.now() - t0)} ms`,
      );
      const restarted = startReplica(s, victim, { entry: 'src/main.ts', env });
      replicas = replicas.map((r) => (r === victim ? restarted : r));
      await waitReady(restarted);
      await waitForLeader(replicas, { timeoutMs: 20_000 });
      await waitSucceeded(2);
    }
    expect(leaderStops).toBeGreaterThanOrEqual(2);

    // Close the window: followers first, then the leader (which drains its last deliveries).
    const last = await waitForLeader(replicas, { timeoutMs: 20_000 });
    await Promise.all(
      replicas.filter((r) => r !== last.leader).map((r) => stopReplica(r, 'SIGTERM', 30_000)),
    );
    await stopReplica(last.leader, 'SIGTERM', 30_000);
    await until('the sink to answer everything', async () => inFlight === 0);

    const all = await runsOf(schedule.id);
    const times = all.map((r) => r.scheduledFor.getTime()).sort((a, b) => a - b);
    const first = times[0]!;
    const end = times.at(-1)!;
    const expected: string[] = [];
    for (let t = Date.parse(schedule.createdAt); t <= end; t += 1000)
      if (t >= first) expected.push(new Date(t).toISOString());
    const got = deliveries.get(schedule.id) ?? new Map<string, number>();
    const missing = expected.filter((t) => !got.has(t));
    const twice = [...got].filter(([, n]) => n > 1).map(([t]) => t);
    const notSucceeded = all
      .filter((r) => got.has(r.scheduledFor.toISOString()) && r.status !== 'succeeded')
      .map((r) => `${r.scheduledFor.toISOString()} ${r.status} by ${r.leader}: ${r.error}`);
    console.log(
      `[drain] rolling: ${expected.length} occurrences, ${got.size} delivered, missing ${missing.length}, ` +
        `twice ${twice.length}, statuses ${JSON.stringify(statusCounts(all))}`,
    );
    expect(twice).toEqual([]);
    expect(missing).toEqual([]);
    expect(notSucceeded).toEqual([]);
    expect(statusCounts(all)).toEqual({ succeeded: expected.length });
  });

  it('a leader frozen with a delivery in flight records what is known, and delivers nothing more', {
    timeout: 120_000,
  }, async () => {
    await startReplicas(2, 'frozen', { SHUTDOWN_TIMEOUT_SECONDS: '10' });
    const schedule = await createEverySecond(replicas[0]!.port, 'frozen');
    await until('two deliveries', async () => (deliveries.get(schedule.id)?.size ?? 0) >= 2);

    const { leader } = await waitForLeader(replicas, { timeoutMs: 20_000 });
    const other = replicas.find((r) => r !== leader)!;
    // Freeze right after a request arrived: its answer comes while the leader sleeps.
    const seen = arrivals;
    await until('a fresh delivery', async () => arrivals > seen, 5_000);
    frozen.push(leader);
    expect(signal(leader, 'SIGSTOP')).toBe(true);
    const deliveredBeforeWake = new Set(deliveries.get(schedule.id)!.keys());
    try {
      await waitForLeader([other], { timeoutMs: 20_000, not: leader.identity });
      // The new leader has started its engine once it claims something.
      await until('a claim by the new leader', async () =>
        (await runsOf(schedule.id)).some((r) => r.leader === other.identity),
      );
      await until('the sink to answer the frozen leader', async () => inFlight === 0 || arrivals > seen + 1);
    } finally {
      signal(leader, 'SIGCONT');
      frozen.pop();
    }
    // Awake: it must notice it no longer leads, and record what it knows.
    await until(
      'the woken replica to follow',
      async () => (await clusterView(leader.port))?.role === 'follower',
    );
    await new Promise((r) => setTimeout(r, 1500));

    const all = await runsOf(schedule.id);
    const byFrozen = all.filter(
      (r) => r.leader === leader.identity && deliveredBeforeWake.has(r.scheduledFor.toISOString()),
    );
    console.log(
      `[drain] frozen: statuses of the frozen leader's delivered runs ${JSON.stringify(statusCounts(byFrozen))}, ` +
        `all ${JSON.stringify(statusCounts(all))}`,
    );
    expect(byFrozen.length).toBeGreaterThan(0);
    for (const r of byFrozen) expect(['succeeded', 'unknown'], `${r.status}: ${r.error}`).toContain(r.status);
    const got = deliveries.get(schedule.id)!;
    expect([...got].filter(([, n]) => n > 1)).toEqual([]);
    // Delivered occurrences never say they were not.
    for (const r of all)
      if (r.status !== 'running' && got.has(r.scheduledFor.toISOString()))
        expect(['succeeded', 'unknown']).toContain(r.status);
  });
});
