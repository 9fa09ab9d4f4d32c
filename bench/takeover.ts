// Failover at scale (issue 14): three replica processes on the real stack with N armed
// schedules (1k, 10k, 100k), `every` schedules with the log action whose anchors are spread so
// that together they fire `--rate` times a second whatever N is. Per size, SIGTERM and SIGKILL
// failovers of whoever leads (restarted as a follower, as a Deployment would). Per failover:
//   - arming: the new leader's own figure ("engine started: snapshot armed", ms from gaining
//     the Lease to every schedule armed), read from its log;
//   - signal → first on-time fire by the new leader (a run of trigger `schedule` that was at most
//     ON_TIME_MS late);
//   - the occurrences due in the takeover window (signal → first on-time fire + 2 s): how many
//     fired more than 1 s late (or as catch-ups), the latest lateness, and how many have no run.
// With --baseline-entry the same sizes run again on another build (e.g. the commit before the
// schedule cache, checked out in a worktree), so the ratio comes from one run on one machine.
//
//   node bench/takeover.ts [--sizes=1000,10000,100000] [--terms=3] [--kills=2] [--rate=100]
//                          [--lease=3 --renew=2 --retry=0.5] [--baseline-entry=/work/wt-baseline/src/main.ts]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { isAlive } from '../stack/processes.ts';
import { type Replica, startReplica, stopReplica, waitForLeader, waitReady } from '../stack/replicas.ts';
import type { StackInfo } from '../stack/stack.ts';
import { args, banner, fmt, mib, procRss, sleep, summarize, table, writeResult } from './lib/report.ts';
import { insertAll, spreadSchedules } from './lib/schedules.ts';
import { benchStack, connectDb, ensureNamespace } from './lib/stack.ts';

const opts = args({
  sizes: '1000,10000,100000',
  terms: 3,
  kills: 2,
  /** fires per second across all schedules */
  rate: 100,
  lease: 3,
  renew: 2,
  retry: 0.5,
  entry: 'src/main.ts',
  'baseline-entry': '',
  'base-port': 18280,
  /** seconds of steady firing after a failover before the next one */
  settle: 6,
});

const ON_TIME_MS = 100;
const LATE_MS = 1000;
type Signal = 'SIGTERM' | 'SIGKILL';

interface Failover {
  build: string;
  n: number;
  signal: Signal;
  from: string;
  to: string;
  signalAt: number;
  handoverMs: number;
  armingMs: number | null;
  signalToOnTimeMs: number | null;
  windowOccurrences: number;
  late: number;
  catchups: number;
  unrun: number;
  maxLatenessMs: number | null;
}

interface RunRow {
  scheduleId: string;
  scheduledFor: Date;
  firedAt: Date | null;
  leader: string | null;
  trigger: string;
  latenessMs: number | null;
}

/** The last `engine started` line's `ms` in a replica's log written after `since`. */
function armingMs(logFile: string, since: number): number | null {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return null;
  }
  let found: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.includes('engine started')) continue;
    try {
      const j = JSON.parse(line) as { time?: number | string; ms?: number };
      const t = typeof j.time === 'number' ? j.time : Date.parse(String(j.time));
      if (t >= since && typeof j.ms === 'number') found = j.ms;
    } catch {
      // not a JSON line
    }
  }
  return found;
}

/** Occurrences of the spread schedules due in [from, to): each anchor + k·period. */
function expectedIn(
  anchors: Map<string, number>,
  periodMs: number,
  from: number,
  to: number,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [id, anchor] of anchors) {
    let k = Math.ceil((from - anchor) / periodMs);
    for (let t = anchor + k * periodMs; t < to; k++, t = anchor + k * periodMs) {
      const list = out.get(id);
      if (list) list.push(t);
      else out.set(id, [t]);
    }
  }
  return out;
}

async function size(
  stack: StackInfo,
  dir: string,
  build: { name: string; entry: string },
  n: number,
  basePort: number,
): Promise<{ failovers: Failover[]; rssMiB: Record<string, number | null> }> {
  const label = `${build.name}-${n}`;
  const dbName = `takeover_${build.name}_${n}`;
  const periodMs = Math.round((n / opts.rate) * 1000);
  const env = {
    LEASE_DURATION_SECONDS: String(opts.lease),
    RENEW_DEADLINE_SECONDS: String(opts.renew),
    RETRY_PERIOD_SECONDS: String(opts.retry),
    LEASE_NAME: `takeover-${label}`,
    MONGODB_DB: dbName,
    LOG_LEVEL: 'info',
  };
  const { client, db } = await connectDb(stack, dbName);
  await db.dropDatabase();
  const docs = spreadSchedules({ n, periodMs, now: new Date(), prefix: 'takeover' });
  const anchors = new Map(docs.map((d) => [d._id, d.createdAt.getTime()]));
  const insertMs = await insertAll(db, docs);
  console.log(
    `\n## ${label}: ${n} schedules every ${periodMs / 1000} s (${opts.rate}/s), stored in ${fmt(insertMs / 1000, 1)} s`,
  );
  let replicas: Replica[] = [];
  const start = (i: number) =>
    startReplica(
      stack,
      { identity: `${label}-${i}`, port: basePort + i, logFile: join(dir, `${label}-${i}.log`) },
      { entry: build.entry, env },
    );
  const failovers: Failover[] = [];
  const plan: Signal[] = [];
  for (let i = 0; i < Math.max(opts.terms, opts.kills); i++) {
    if (i < opts.terms) plan.push('SIGTERM');
    if (i < opts.kills) plan.push('SIGKILL');
  }
  const rssMiB: Record<string, number | null> = {};
  try {
    const t0 = Date.now();
    replicas = [0, 1, 2].map(start);
    await Promise.all(replicas.map((r) => waitReady(r, 300_000)));
    const first = await waitForLeader(replicas, { timeoutMs: 300_000 });
    // At a cold start a replica may win the Lease and hand it over (its MongoDB ping too slow
    // while three replicas load their caches): wait for fires by whoever ends up leading.
    await waitForFires(db, t0, Math.min(20, opts.rate));
    const steady = await waitForLeader(replicas, { timeoutMs: 60_000 });
    console.log(
      `  ${first.view.identity} won first, ${steady.view.identity} leads; armed in ${armingMs(steady.leader.logFile, t0)} ms from a cold start`,
    );
    // A cold start catches up what fell due while the replicas loaded (thousands of fires at
    // 100,000): fail over only once the leader fires on time again, and the followers are warm.
    await waitSteady(db, 180_000);
    await sleep(3000);
    for (const r of replicas)
      rssMiB[r.identity === steady.view.identity ? 'leader' : 'follower'] = mib(procRss(r.pid) ?? 0);
    for (const [i, signal] of plan.entries()) {
      const { leader } = await waitForLeader(replicas, { timeoutMs: 60_000 });
      const others = replicas.filter((r) => r !== leader);
      const signalAt = Date.now();
      const stopping = stopReplica(leader, signal, 60_000);
      const next = await waitForLeader(others, { timeoutMs: 120_000, not: leader.identity, pollMs: 20 });
      const handoverMs = Date.now() - signalAt;
      await stopping;
      const restarted = startReplica(stack, leader, { entry: build.entry, env });
      replicas = replicas.map((r) => (r.identity === leader.identity ? restarted : r));
      await Promise.all([waitReady(restarted, 300_000), sleep(opts.settle * 1000)]);
      // judge only once the takeover window can have closed, and the next leader is steady again
      await waitSteady(db, 180_000);
      const nextReplica = replicas.find((r) => r.identity === next.view.identity)!;
      const f = await judge(db, anchors, periodMs, {
        build: build.name,
        n,
        signal,
        from: leader.identity,
        to: next.view.identity,
        signalAt,
        handoverMs,
        armingMs: armingMs(nextReplica.logFile, signalAt),
      });
      failovers.push(f);
      console.log(
        `  ${String(i + 1).padStart(2)}/${plan.length} ${signal.padEnd(7)} handover ${handoverMs} ms, armed ${fmt(f.armingMs)} ms, ` +
          `signal → on-time fire ${fmt(f.signalToOnTimeMs)} ms; window ${f.windowOccurrences}: ${f.late} late > 1 s ` +
          `(${f.catchups} catch-ups), ${f.unrun} without a run, max lateness ${fmt(f.maxLatenessMs)} ms`,
      );
    }
    for (const r of replicas) await stopReplica(r, 'SIGTERM', 60_000);
    return { failovers, rssMiB };
  } finally {
    for (const r of replicas) if (isAlive(r)) await stopReplica(r, 'SIGKILL');
    await db.dropDatabase().catch(() => {});
    await client.close();
  }
}

/** Until the runs fired in the last 2 s were all on time (at most ON_TIME_MS late). */
async function waitSteady(db: Db, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const recent = await db
      .collection('runs')
      .find({ firedAt: { $gt: new Date(Date.now() - 2000) } }, { projection: { latenessMs: 1 } })
      .toArray();
    if (recent.length > 0 && recent.every((r) => (r.latenessMs ?? Infinity) <= ON_TIME_MS)) return;
    await sleep(500);
  }
  console.log(`  (not steady within ${timeoutMs / 1000} s: going on)`);
}

async function waitForFires(db: Db, since: number, count: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    const k = await db
      .collection('runs')
      .countDocuments({ firedAt: { $gt: new Date(since) } }, { limit: count });
    if (k >= count) return;
    await sleep(200);
  }
  throw new Error(`fewer than ${count} fires within 300 s`);
}

async function judge(
  db: Db,
  anchors: Map<string, number>,
  periodMs: number,
  f: Omit<
    Failover,
    'signalToOnTimeMs' | 'windowOccurrences' | 'late' | 'catchups' | 'unrun' | 'maxLatenessMs'
  >,
): Promise<Failover> {
  const runs = (await db
    .collection('runs')
    .find(
      { firedAt: { $gte: new Date(f.signalAt - 60_000) } },
      { projection: { scheduleId: 1, scheduledFor: 1, firedAt: 1, leader: 1, trigger: 1, latenessMs: 1 } },
    )
    .toArray()) as unknown as RunRow[];
  const byNew = runs
    .filter((r) => r.leader === f.to && r.firedAt && r.firedAt.getTime() >= f.signalAt)
    .sort((a, b) => a.firedAt!.getTime() - b.firedAt!.getTime());
  const onTime = byNew.find((r) => r.trigger === 'schedule' && (r.latenessMs ?? Infinity) <= ON_TIME_MS);
  const onTimeAt = onTime?.firedAt?.getTime() ?? null;
  // The takeover window: occurrences due from the signal until 2 s after the first on-time fire.
  const windowEnd = (onTimeAt ?? f.signalAt + 30_000) + 2000;
  const expected = expectedIn(anchors, periodMs, f.signalAt, windowEnd);
  const seen = new Map<string, RunRow>();
  for (const r of runs) seen.set(`${r.scheduleId}@${r.scheduledFor.getTime()}`, r);
  let total = 0;
  let late = 0;
  let catchups = 0;
  let unrun = 0;
  const lateness: number[] = [];
  for (const [id, times] of expected) {
    for (const t of times) {
      total++;
      const r = seen.get(`${id}@${t}`);
      if (!r || r.firedAt === null) {
        unrun++;
        continue;
      }
      const ms = r.firedAt.getTime() - t;
      lateness.push(ms);
      if (ms > LATE_MS) late++;
      if (r.trigger === 'catchup') catchups++;
    }
  }
  return {
    ...f,
    signalToOnTimeMs: onTimeAt === null ? null : onTimeAt - f.signalAt,
    windowOccurrences: total,
    late,
    catchups,
    unrun,
    maxLatenessMs: lateness.length ? Math.max(...lateness) : null,
  };
}

const startedAt = new Date();
banner('takeover', opts);
const sizes = opts.sizes.split(',').map(Number);
const builds = [{ name: 'cache', entry: opts.entry }];
if (opts['baseline-entry']) builds.push({ name: 'baseline', entry: opts['baseline-entry'] });
const stack = await benchStack('takeover');
const all: Failover[] = [];
const rss: Record<string, Record<string, number | null>> = {};
try {
  await ensureNamespace(stack.info, 'leasecron');
  let port = opts['base-port'];
  for (const n of sizes) {
    for (const b of builds) {
      const r = await size(stack.info, stack.dir, b, n, port);
      port += 3;
      all.push(...r.failovers);
      rss[`${b.name}-${n}`] = r.rssMiB;
    }
  }
} finally {
  await stack.stop();
}

const rows: (string | number | null)[][] = [];
const summaries: Record<string, unknown> = {};
for (const n of sizes) {
  for (const b of builds) {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const fs = all.filter((f) => f.n === n && f.build === b.name && f.signal === signal);
      if (fs.length === 0) continue;
      const s = {
        handover: summarize(fs.map((f) => f.handoverMs)),
        arming: summarize(fs.flatMap((f) => (f.armingMs === null ? [] : [f.armingMs]))),
        signalToOnTime: summarize(
          fs.flatMap((f) => (f.signalToOnTimeMs === null ? [] : [f.signalToOnTimeMs])),
        ),
        late: fs.reduce((a, f) => a + f.late, 0),
        window: fs.reduce((a, f) => a + f.windowOccurrences, 0),
        unrun: fs.reduce((a, f) => a + f.unrun, 0),
        maxLateness: Math.max(...fs.map((f) => f.maxLatenessMs ?? 0)),
      };
      summaries[`${b.name}/${n}/${signal}`] = s;
      rows.push([
        b.name,
        n,
        signal,
        fs.length,
        fmt(s.handover.median),
        fmt(s.arming.median),
        fmt(s.signalToOnTime.median),
        fmt(s.signalToOnTime.max),
        `${s.late}/${s.window}`,
        s.unrun,
        fmt(s.maxLateness),
      ]);
    }
  }
}
const tableText = table(
  [
    'build',
    'schedules',
    'signal',
    'n',
    'handover p50 ms',
    'arming p50 ms',
    'signal→on-time fire p50 ms',
    'max ms',
    'late > 1 s / due in window',
    'no run',
    'max lateness ms',
  ],
  rows,
);
console.log(`\n${tableText}`);
console.log(`RSS after warm-up (MiB): ${JSON.stringify(rss)}`);
const file = writeResult(
  {
    name: 'takeover',
    parameters: opts,
    results: { summaries, failovers: all, rssMiB: rss },
    notes: [
      `on time: a run of trigger schedule at most ${ON_TIME_MS} ms late; late: fired more than ${LATE_MS} ms after its occurrence`,
      'window: occurrences due from the signal until 2 s after the new leader first fired on time',
    ],
    table: tableText,
  },
  startedAt,
);
console.log(`wrote ${file}`);
