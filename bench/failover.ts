// Failover, end to end: three replica processes (src/main.ts) on the real stack, one
// `every: 1s` schedule whose http action hits a sink on 127.0.0.1, and N SIGTERM plus
// N SIGKILL failovers of whoever leads (restarted as a follower each time, as a
// Deployment would). Per failover: handover (signal → another replica reports itself
// leader), signal → first fire of the new leader, the gap between the old leader's
// last fire and the new one's first, and the lateness of that first fire. At the end:
// every occurrence in the window against the runs claimed and the requests the sink
// saw — missed (no run) and duplicates (two runs, or one occurrence delivered twice).
//
//   node bench/failover.ts [--n=10] [--lease=3 --renew=2 --retry=0.5]
//                          [--default-kills=3 --default-terms=2]   (a second run at 15/10/2)
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { occurrencesBetween } from '../src/schedule/occurrences.ts';
import { isAlive } from '../stack/processes.ts';
import { type Replica, startReplica, stopReplica, waitForLeader, waitReady } from '../stack/replicas.ts';
import type { StackInfo } from '../stack/stack.ts';
import { args, banner, fmt, type Summary, sleep, summarize, table, writeResult } from './lib/report.ts';
import { benchStack, connectDb, ensureNamespace } from './lib/stack.ts';

const opts = args({
  n: 10,
  lease: 3,
  renew: 2,
  retry: 0.5,
  /** failovers of each kind in a second run at the default timings (15/10/2); 0 skips it */
  'default-kills': 3,
  'default-terms': 2,
  /** seconds to let the new leader fire before the next failover */
  settle: 2.5,
  entry: 'src/main.ts',
  'base-port': 18180,
});

type Signal = 'SIGTERM' | 'SIGKILL';

interface Failover {
  signal: Signal;
  from: string;
  to: string;
  signalAt: number;
  /** signal → another replica reports role=leader (ms) */
  handoverMs: number;
  /** filled in from the runs collection */
  signalToFirstFireMs?: number;
  gapMs?: number;
  firstFireLatenessMs?: number;
  catchupRuns?: number;
}

interface Hit {
  key: string;
  scheduledFor: string;
  at: number;
}

interface RunRow {
  scheduledFor: Date;
  firedAt: Date | null;
  leader: string | null;
  epoch: number | null;
  status: string;
  trigger: string;
  _id: string;
}

interface Timings {
  lease: number;
  renew: number;
  retry: number;
}

function startSink(): Promise<{ server: Server; url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    hits.push({
      key: String(req.headers['idempotency-key']),
      scheduledFor: String(req.headers['x-leasecron-scheduled-for']),
      at: Date.now(),
    });
    req.resume();
    res.end('ok');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits }),
    ),
  );
}

/** One series of failovers with one set of lease timings, on its own database and Lease. */
async function series(
  stack: StackInfo,
  dir: string,
  label: string,
  t: Timings,
  plan: Signal[],
  sink: { url: string; hits: Hit[] },
  basePort: number,
) {
  const dbName = `failover_${label}`;
  const env = {
    LEASE_DURATION_SECONDS: String(t.lease),
    RENEW_DEADLINE_SECONDS: String(t.renew),
    RETRY_PERIOD_SECONDS: String(t.retry),
    LEASE_NAME: `bench-${label}`,
    MONGODB_DB: dbName,
    LOG_LEVEL: 'info',
  };
  console.log(
    `\n## ${label}: LEASE_DURATION_SECONDS=${t.lease} RENEW_DEADLINE_SECONDS=${t.renew} RETRY_PERIOD_SECONDS=${t.retry}; ${plan.length} failovers (${plan.join(' ')})`,
  );
  const { client, db } = await connectDb(stack, dbName);
  await db.dropDatabase();
  let replicas: Replica[] = [];
  const start = (i: number) =>
    startReplica(
      stack,
      { identity: `${label}-${i}`, port: basePort + i, logFile: join(dir, `${label}-${i}.log`) },
      { entry: opts.entry, env },
    );
  const failovers: Failover[] = [];
  try {
    replicas = [0, 1, 2].map(start);
    await Promise.all(replicas.map((r) => waitReady(r)));
    const first = await waitForLeader(replicas, { timeoutMs: 60_000 });
    console.log(`${first.view.identity} leads`);

    const res = await fetch(`http://127.0.0.1:${first.leader.port}/api/v1/schedules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `failover-${label}`,
        schedule: { every: '1s' },
        action: {
          type: 'http',
          url: sink.url,
          method: 'POST',
          timeoutMs: 2000,
          retry: { maxAttempts: 1, backoffMs: 100 },
        },
        concurrency: 'allow',
        misfire: { policy: 'fireAll', graceSeconds: 300 },
      }),
    });
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
    const schedule = (await res.json()) as { id: string; createdAt: string };
    const hitsFrom = sink.hits.length;
    await waitForRuns(db, schedule.id, first.view.identity, 0, 3);

    for (const [i, signal] of plan.entries()) {
      const { leader } = await waitForLeader(replicas, { timeoutMs: 60_000 });
      const others = replicas.filter((r) => r !== leader);
      const signalAt = Date.now();
      const stopping = stopReplica(leader, signal);
      const next = await waitForLeader(others, { timeoutMs: 60_000, not: leader.identity, pollMs: 20 });
      const handoverMs = Date.now() - signalAt;
      await stopping;
      const f: Failover = {
        signal,
        from: leader.identity,
        to: next.view.identity,
        signalAt,
        handoverMs,
      };
      failovers.push(f);
      // As a Deployment would: the old pod comes back, as a follower.
      const restarted = startReplica(stack, leader, { entry: opts.entry, env });
      replicas = replicas.map((r) => (r.identity === leader.identity ? restarted : r));
      await Promise.all([
        waitReady(restarted),
        waitForRuns(db, schedule.id, next.view.identity, signalAt, 2),
        sleep(opts.settle * 1000),
      ]);
      console.log(
        `  ${String(i + 1).padStart(2)}/${plan.length} ${signal.padEnd(7)} ${f.from} → ${f.to}: handover ${handoverMs} ms`,
      );
    }
    await sleep(1500);
    for (const r of replicas) await stopReplica(r, 'SIGTERM');
    const runs = (await db
      .collection('runs')
      .find({ scheduleId: schedule.id })
      .sort({ scheduledFor: 1 })
      .toArray()) as unknown as RunRow[];
    const hits = sink.hits.slice(hitsFrom);
    return { failovers, ...analyse(schedule, runs, hits, failovers) };
  } finally {
    for (const r of replicas) if (isAlive(r)) await stopReplica(r, 'SIGKILL');
    await client.close();
  }
}

/** Waits until `leader` has claimed at least `count` runs scheduled after `since`. */
async function waitForRuns(db: Db, scheduleId: string, leader: string, since: number, count: number) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const n = await db
      .collection('runs')
      .countDocuments({ scheduleId, leader, firedAt: { $gt: new Date(since) } });
    if (n >= count) return;
    await sleep(100);
  }
  throw new Error(`${leader} fired fewer than ${count} times within 60 s`);
}

function analyse(
  schedule: { id: string; createdAt: string },
  runs: RunRow[],
  hits: Hit[],
  failovers: Failover[],
) {
  const fired = runs.filter((r) => r.firedAt !== null);
  // Terms: each (leader, epoch) that fired, in the order they started firing.
  const terms = new Map<string, { leader: string; epoch: number; first: RunRow; last: RunRow }>();
  for (const r of fired) {
    const k = `${r.leader}#${r.epoch}`;
    const t = terms.get(k);
    if (!t) terms.set(k, { leader: r.leader ?? '?', epoch: r.epoch ?? -1, first: r, last: r });
    else {
      if (r.firedAt! < t.first.firedAt!) t.first = r;
      if (r.firedAt! > t.last.firedAt!) t.last = r;
    }
  }
  const ordered = [...terms.values()].sort((a, b) => a.first.firedAt!.getTime() - b.first.firedAt!.getTime());
  for (const f of failovers) {
    const before = ordered
      .filter((t) => t.first.firedAt!.getTime() < f.signalAt && t.leader === f.from)
      .at(-1);
    const after = ordered.find((t) => t.first.firedAt!.getTime() >= f.signalAt && t.leader === f.to);
    if (!before || !after) continue;
    const firstAt = after.first.firedAt!.getTime();
    f.signalToFirstFireMs = firstAt - f.signalAt;
    f.gapMs = firstAt - before.last.firedAt!.getTime();
    f.firstFireLatenessMs = firstAt - after.first.scheduledFor.getTime();
    f.catchupRuns = fired.filter(
      (r) => r.leader === f.to && r.epoch === after.epoch && r.trigger === 'catchup',
    ).length;
  }

  // Every occurrence between the first and the last claimed one must have exactly one run.
  const claimed = runs.map((r) => r.scheduledFor.getTime());
  const firstMs = Math.min(...claimed);
  const lastMs = Math.max(...claimed);
  const src = {
    schedule: { every: '1s' },
    startAt: null,
    endAt: null,
    createdAt: new Date(schedule.createdAt),
  };
  const expected = occurrencesBetween(src, new Date(firstMs - 1), new Date(lastMs), 100_000).map((d) =>
    d.getTime(),
  );
  const perOccurrence = new Map<number, number>();
  for (const c of claimed) perOccurrence.set(c, (perOccurrence.get(c) ?? 0) + 1);
  const missed = expected.filter((t) => !perOccurrence.has(t)).length;
  const duplicateRuns = [...perOccurrence.values()].filter((n) => n > 1).length;
  const unexpected = claimed.filter((c) => !expected.includes(c)).length;
  const keyCount = new Map<string, number>();
  const forCount = new Map<string, number>();
  for (const h of hits) {
    keyCount.set(h.key, (keyCount.get(h.key) ?? 0) + 1);
    forCount.set(h.scheduledFor, (forCount.get(h.scheduledFor) ?? 0) + 1);
  }
  const duplicateKeys = [...keyCount.values()].filter((n) => n > 1).length;
  const duplicateDeliveries = [...forCount.values()].filter((n) => n > 1).length;
  const runIds = new Set(runs.map((r) => r._id));
  const byStatus: Record<string, number> = {};
  for (const r of runs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const delivered = new Set(hits.map((h) => h.key));
  // Runs that did not simply succeed and reach the sink, with the failover nearest to them.
  const unusual = runs
    .filter((r) => r.status !== 'succeeded' || !delivered.has(r._id))
    .map((r) => {
      const near = failovers.reduce<Failover | null>(
        (best, f) =>
          best === null ||
          Math.abs(f.signalAt - r.scheduledFor.getTime()) < Math.abs(best.signalAt - r.scheduledFor.getTime())
            ? f
            : best,
        null,
      );
      return {
        scheduledFor: r.scheduledFor.toISOString(),
        leader: r.leader,
        epoch: r.epoch,
        trigger: r.trigger,
        status: r.status,
        delivered: delivered.has(r._id),
        nearestFailover: near
          ? { signal: near.signal, from: near.from, msFromSignal: r.scheduledFor.getTime() - near.signalAt }
          : null,
      };
    });
  for (const u of unusual) console.log(`  unusual run: ${JSON.stringify(u)}`);
  return {
    unusual,
    occurrences: expected.length,
    runs: runs.length,
    missed,
    duplicateRuns,
    duplicateKeys,
    duplicateDeliveries,
    unexpectedRuns: unexpected,
    deliveries: hits.length,
    deliveriesWithoutRun: hits.filter((h) => !runIds.has(h.key)).length,
    claimedNotDelivered: runs.filter((r) => !delivered.has(r._id)).length,
    byStatus,
    window: { from: new Date(firstMs).toISOString(), to: new Date(lastMs).toISOString() },
  };
}

function bySignal(failovers: Failover[], signal: Signal) {
  const fs = failovers.filter((f) => f.signal === signal);
  const pick = (k: 'handoverMs' | 'signalToFirstFireMs' | 'gapMs' | 'firstFireLatenessMs') =>
    summarize(fs.map((f) => f[k]).filter((x): x is number => x !== undefined));
  return {
    n: fs.length,
    handoverMs: pick('handoverMs'),
    signalToFirstFireMs: pick('signalToFirstFireMs'),
    gapMs: pick('gapMs'),
    firstFireLatenessMs: pick('firstFireLatenessMs'),
  };
}

function rows(label: string, s: ReturnType<typeof bySignal>, signal: Signal) {
  const r = (what: string, x: Summary) => [`${label} ${signal} ${what}`, x.n, x.median, x.p90, x.max];
  return [
    r('handover (signal → new leader reported)', s.handoverMs),
    r('signal → first fire by new leader', s.signalToFirstFireMs),
    r('gap old last fire → new first fire', s.gapMs),
    r('lateness of new leader first fire', s.firstFireLatenessMs),
  ];
}

const startedAt = new Date();
const short: Timings = { lease: opts.lease, renew: opts.renew, retry: opts.retry };
const defaults: Timings = { lease: 15, renew: 10, retry: 2 };
const alternate = (n: number): Signal[] =>
  Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? 'SIGTERM' : 'SIGKILL'));
const defaultPlan: Signal[] = [
  ...Array.from({ length: opts['default-terms'] }, () => 'SIGTERM' as const),
  ...Array.from({ length: opts['default-kills'] }, () => 'SIGKILL' as const),
];
banner('failover', { ...opts, shortTimings: short, defaultTimings: defaults });
const stack = await benchStack('failover');
const sink = await startSink();
try {
  await ensureNamespace(stack.info, 'leasecron');
  const main = await series(
    stack.info,
    stack.dir,
    'short',
    short,
    alternate(opts.n),
    sink,
    opts['base-port'],
  );
  const dflt =
    defaultPlan.length > 0
      ? await series(stack.info, stack.dir, 'default', defaults, defaultPlan, sink, opts['base-port'] + 10)
      : null;

  const summaries = {
    short: { SIGTERM: bySignal(main.failovers, 'SIGTERM'), SIGKILL: bySignal(main.failovers, 'SIGKILL') },
    ...(dflt
      ? {
          default: {
            SIGTERM: bySignal(dflt.failovers, 'SIGTERM'),
            SIGKILL: bySignal(dflt.failovers, 'SIGKILL'),
          },
        }
      : {}),
  };
  const tRows = [
    ...rows(`${short.lease}/${short.renew}/${short.retry}`, summaries.short.SIGTERM, 'SIGTERM'),
    ...rows(`${short.lease}/${short.renew}/${short.retry}`, summaries.short.SIGKILL, 'SIGKILL'),
    ...(dflt && summaries.default
      ? [
          ...(summaries.default.SIGTERM.n ? rows('15/10/2', summaries.default.SIGTERM, 'SIGTERM') : []),
          ...(summaries.default.SIGKILL.n ? rows('15/10/2', summaries.default.SIGKILL, 'SIGKILL') : []),
        ]
      : []),
  ];
  const countRows = [main, ...(dflt ? [dflt] : [])].map((s, i) => [
    i === 0 ? `${short.lease}/${short.renew}/${short.retry}` : '15/10/2',
    s.failovers.length,
    s.occurrences,
    s.runs,
    s.missed,
    s.duplicateRuns + s.duplicateDeliveries + s.duplicateKeys,
    s.claimedNotDelivered,
    Object.entries(s.byStatus)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  ]);
  const t1 = table(['failover (lease/renew/retry s), ms', 'n', 'median', 'p90', 'max'], tRows);
  const t2 = table(
    [
      'timings',
      'failovers',
      'occurrences',
      'runs',
      'missed',
      'duplicates',
      'claimed not delivered',
      'run status',
    ],
    countRows,
  );
  console.log(`\n${t1}\n\n${t2}`);
  const targets = {
    gracefulP50Below1s: summaries.short.SIGTERM.signalToFirstFireMs.median < 1000,
    crashWithinLeasePlusRetry: summaries.short.SIGKILL.handoverMs.max <= (short.lease + short.retry) * 1000,
    missedZero: main.missed === 0 && (dflt?.missed ?? 0) === 0,
    duplicatesZero:
      main.duplicateRuns + main.duplicateDeliveries + main.duplicateKeys === 0 &&
      (dflt ? dflt.duplicateRuns + dflt.duplicateDeliveries + dflt.duplicateKeys : 0) === 0,
  };
  console.log(
    `\ntargets: SIGTERM → next fire p50 < 1 s: ${targets.gracefulP50Below1s ? 'met' : 'MISSED'} (${fmt(summaries.short.SIGTERM.signalToFirstFireMs.median)} ms); ` +
      `SIGKILL handover ≤ lease + retry (${(short.lease + short.retry) * 1000} ms): ${targets.crashWithinLeasePlusRetry ? 'met' : 'MISSED'} (max ${fmt(summaries.short.SIGKILL.handoverMs.max)} ms); ` +
      `missed 0: ${targets.missedZero ? 'met' : 'MISSED'}; duplicates 0: ${targets.duplicatesZero ? 'met' : 'MISSED'}`,
  );
  const file = writeResult(
    {
      name: 'failover',
      parameters: {
        ...opts,
        shortTimings: short,
        defaultTimings: defaults,
        schedule: 'every 1s, http to a local sink, misfire fireAll/300s, concurrency allow',
      },
      results: {
        summaries,
        counts: {
          short: { ...main, failovers: undefined },
          ...(dflt ? { default: { ...dflt, failovers: undefined } } : {}),
        },
        failovers: { short: main.failovers, ...(dflt ? { default: dflt.failovers } : {}) },
        targets,
      },
      notes: [
        'handover: signal sent → another replica answers GET /api/v1/cluster with role=leader (polled every 20 ms)',
        'gap: firedAt of the old leader’s last run → firedAt of the new leader’s first run (≥ 1 s by construction for an every-1s schedule)',
        'missed: occurrences between the first and last claimed one without a run; duplicates: occurrences with two runs + scheduledFor or Idempotency-Key seen twice by the sink',
      ],
      table: `${t1}\n\n${t2}`,
    },
    startedAt,
  );
  console.log(`wrote ${file}`);
} finally {
  sink.server.close();
  await stack.stop();
}
