// Top of the hour (issue 13): N one-shot schedules all due at the same instant T, a few
// seconds after an in-process leader engine armed them; half of them post to a webhook
// sink on 127.0.0.1 (a child process), the rest log (silently). Per run, from T:
//   last claim returned: the last RunStore claim call (any claim* method) resolved
//   last action started: the instrumented ActionRunner was called for the last time
//   last delivery: the sink's last arrival; delivered lateness = arrival − T (http ones)
//   all recorded: the last RunStore finish call resolved
// and the database server's CPU over the burst, the leader's RSS (after arming, peak), and
// every schedule checked for exactly one run and every http one for exactly one delivery.
// In the same run, before the burst: the server's own rate for one unordered bulk insert
// (insertMany, ordered: false) of N run-shaped documents into a scratch collection with the
// `runs` indexes. Claim throughput is given as a share of it (target ≥ 80 %).
// Each size runs once per store mode, each in a fresh process (the leader), side by side: per-fire (one insert + one counter upsert
// per claim) and batched (claims and finishes in batches); see bench/lib/engine-options.ts.
//
//   node bench/burst.ts [--sizes=1000,10000] [--large] [--modes=batched,per-fire]
//                       [--http-share=0.5] [--lead-ms=0] [--max-concurrent-runs=0]
//   --large adds 50,000. --lead-ms: T − the schedules' insert (0: 3 s + 1.5 ms per schedule).
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Db } from 'mongodb';
import pino from 'pino';
import type { ActionRunner } from '../src/actions/types.ts';
import { createApp } from '../src/api/app.ts';
import { openAuth } from '../src/auth/api-auth.ts';
import { Engine } from '../src/engine/engine.ts';
import type { FireResult } from '../src/engine/types.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { ensureIndexes } from '../src/store/indexes.ts';
import { MongoRunStore } from '../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../src/store/mongo-schedule-store.ts';
import type { RunStore } from '../src/store/types.ts';
import type { StackInfo } from '../stack/stack.ts';
import { sinkActionRunner } from '../test/helpers/egress.ts';
import { engineOptions, type RunStoreMode, runStore } from './lib/engine-options.ts';
import {
  args,
  banner,
  fmt,
  mib,
  procCpuSeconds,
  round,
  type Summary,
  sleep,
  summarize,
  table,
  wallNow,
  writeResult,
} from './lib/report.ts';
import { burstSchedules, insertAll } from './lib/schedules.ts';
import { type Sink, startSinkProcess } from './lib/sink.ts';
import { benchStack, connectDb } from './lib/stack.ts';

const opts = args({
  sizes: [1000, 10000],
  /** adds a 50,000 run */
  large: false,
  modes: 'batched,per-fire',
  'http-share': 0.5,
  /** T − the moment the schedules are inserted, ms; 0: 3 s + 1.5 ms per schedule */
  'lead-ms': 0,
  /** the engine's maxConcurrentRuns once it exists (0: its default) */
  'max-concurrent-runs': 0,
  /** keep the driver's retryable writes on (SecantusDB then slows down past 10,000 writes) */
  'retry-writes': false,
});
const sizes = [...opts.sizes, ...(opts.large ? [50_000] : [])];
const modes = opts.modes.split(',').map((m) => {
  if (m !== 'batched' && m !== 'per-fire') throw new Error(`--modes: batched or per-fire, not ${m}`);
  return m as RunStoreMode;
});

/** One unordered bulk insert of n run-shaped documents into a scratch copy of `runs` (same indexes). */
async function bulkInsertBaseline(db: Db, n: number): Promise<number> {
  const scratch = db.collection<{ _id: string }>('bulk_insert_scratch');
  await scratch.drop().catch(() => {});
  for (const ix of await db.collection('runs').listIndexes().toArray()) {
    if (ix.name === '_id_') continue;
    const { key, v: _v, ns: _ns, ...options } = ix;
    await scratch.createIndex(key, options);
  }
  const at = new Date(Date.now() + 60_000);
  const now = new Date();
  const docs = Array.from({ length: n }, (_, i) => {
    const id = randomUUID();
    return {
      _id: id,
      scheduleId: randomUUID(),
      scheduleName: `burst-${i}`,
      scheduledFor: at,
      createdAt: now,
      firedAt: now,
      finishedAt: null,
      status: 'running',
      attempts: 0,
      trigger: 'schedule',
      leader: 'bench-burst',
      epoch: 1,
      latenessMs: 0,
      error: null,
      response: null,
      job: null,
      occurrence: true,
      instance: randomUUID(),
      claimId: id,
    };
  });
  // warm: the client's connection and the new collection, so the timed insert is the insert alone
  await scratch.insertMany(docs.slice(0, 100), { ordered: false });
  await scratch.deleteMany({});
  const t0 = performance.now();
  await scratch.insertMany(docs, { ordered: false });
  const ms = performance.now() - t0;
  await scratch.drop();
  return ms;
}

/** The store as is, with the time each claim* and finish* call resolved (the batched store may add methods). */
function timedStore(store: RunStore) {
  const t = { lastClaim: 0, lastFinish: 0, claimCalls: 0, finishCalls: 0 };
  const proxy = new Proxy(store, {
    get(target, key) {
      const v = Reflect.get(target, key, target);
      if (typeof v !== 'function') return v;
      const name = String(key);
      const kind = /^claim(?!edCount)/.test(name) ? 'claim' : /^finish/.test(name) ? 'finish' : null;
      if (!kind) return v.bind(target);
      return async (...a: unknown[]) => {
        const r = await v.apply(target, a);
        if (kind === 'claim') {
          t.claimCalls++;
          t.lastClaim = wallNow();
        } else {
          t.finishCalls++;
          t.lastFinish = wallNow();
        }
        return r;
      };
    },
  });
  return { store: proxy, t };
}

interface RunRow {
  scheduleId: string;
  status: string;
  createdAt: Date;
  latenessMs: number | null;
}

/**
 * API writes during the burst, as another replica would send them (its own MongoDB client, the
 * API's own deadline, API_DB_TIMEOUT_MS): one create after another, each answer's status counted.
 * Issue 13: no API write may fail because the database is busy with claims.
 */
function apiWriter(apiDb: Db, tag: string) {
  const app = createApp({
    schedules: new MongoScheduleStore(apiDb),
    runs: new MongoRunStore(apiDb),
    auth: openAuth(),
    config: { bodyLimitBytes: 65_536 },
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    now: () => new Date(),
    ready: async () => true,
  });
  const statuses: Record<string, number> = {};
  const ms: number[] = [];
  let stop = false;
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      const t0 = performance.now();
      const res = await app.request('/api/v1/schedules', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // paused: they must not fire, or their runs would count in the burst's figures
        body: JSON.stringify({
          name: `api-${tag}-${i}`,
          schedule: { every: '1h' },
          action: { type: 'log' },
          paused: true,
        }),
      });
      ms.push(performance.now() - t0);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      await sleep(20);
    }
  })();
  return {
    async stop() {
      stop = true;
      await loop;
      return { statuses, latency: summarize(ms) };
    },
  };
}

async function burst(
  db: Db,
  apiDb: Db,
  n: number,
  mode: RunStoreMode,
  sink: Sink,
  dbPid: number | undefined,
) {
  await db.dropDatabase();
  await ensureIndexes(db, { runRetentionDays: 7 });
  const bulkMs = await bulkInsertBaseline(db, n);

  const leadMs = opts['lead-ms'] > 0 ? opts['lead-ms'] : 3000 + 1.5 * n;
  const now = new Date();
  const T = Math.ceil((now.getTime() + leadMs) / 1000) * 1000;
  const { docs, http } = burstSchedules({
    n,
    at: new Date(T),
    httpShare: opts['http-share'],
    sinkUrl: sink.url,
    prefix: `burst-${mode}`,
    now,
  });
  const index = new Map(docs.map((d, i) => [d._id, i]));
  const insertMs = await insertAll(db, docs);
  await sink.take();

  const { store, t } = timedStore(runStore(db, mode));
  let actionsStarted = 0;
  let actionsDone = 0;
  let lastActionStart = 0;
  const inner = sinkActionRunner();
  const actions: ActionRunner = {
    async run(action, ctx) {
      actionsStarted++;
      lastActionStart = wallNow();
      try {
        return await inner.run(action, ctx);
      } finally {
        actionsDone++;
      }
    },
  };
  const fired: Partial<Record<FireResult, number>> = {};
  let missedByPolicy = 0;
  const engine = new Engine({
    schedules: new MongoScheduleStore(db),
    runs: store,
    actions,
    identity: 'bench-burst',
    logger: pino({ level: 'silent' }),
    now: () => new Date(),
    metrics: {
      fired: (r) => {
        fired[r] = (fired[r] ?? 0) + 1;
      },
      missed: (k) => {
        missedByPolicy += k;
      },
      armed() {},
      streamEvent() {},
      streamRestart() {},
      invalid() {},
      ran() {},
    },
    ...engineOptions({ maxConcurrentRuns: opts['max-concurrent-runs'] }),
  });
  const rss0 = process.memoryUsage().rss;
  await engine.start(1);
  const armedAt = wallNow();
  const armed = engine.status().armed;
  const rssArmed = process.memoryUsage().rss;
  if (armedAt > T - 500)
    console.log(`  warning: armed ${Math.round(armedAt - T)} ms after T − 500 ms; raise --lead-ms`);
  let rssPeak = rssArmed;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 50);

  await sleep(Math.max(0, T - 300 - wallNow()));
  const writer = apiWriter(apiDb, `${mode}-${n}`);
  const dbCpu0 = dbPid ? procCpuSeconds(dbPid) : null;
  const cpu0 = process.cpuUsage();
  const w0 = wallNow();
  // Done when every schedule's action has run and every run is recorded, or when nothing has
  // moved for 30 s (a missed occurrence never runs: the check below reports it).
  let progress = -1;
  let stalledSince = wallNow();
  const unsettled = () => db.collection('runs').countDocuments({ status: { $in: ['running', 'released'] } });
  for (;;) {
    await sleep(200);
    const p = actionsDone + t.claimCalls + t.finishCalls;
    if (p !== progress) {
      progress = p;
      stalledSince = wallNow();
    }
    if (actionsDone >= n && (await unsettled()) === 0) break;
    if (wallNow() - stalledSince > 30_000) {
      console.log(`  warning: no progress for 30 s (${actionsDone}/${n} actions done); judging as is`);
      break;
    }
  }
  const w1 = wallNow();
  const api = await writer.stop();
  // the store's finish* calls, or (a store that records finishes some other way) when the check saw it
  const lastRecorded = t.lastFinish || w1;
  const dbCpu1 = dbPid ? procCpuSeconds(dbPid) : null;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  await engine.stop();

  const runs = (await db
    .collection('runs')
    .find({}, { projection: { scheduleId: 1, status: 1, createdAt: 1, latenessMs: 1 } })
    .toArray()) as unknown as RunRow[];
  const hits = await sink.take();

  // exactly once: every schedule one run, every http one delivered once
  const runsPer = new Map<string, number>();
  for (const r of runs) runsPer.set(r.scheduleId, (runsPer.get(r.scheduleId) ?? 0) + 1);
  const missed = docs.filter((d) => !runsPer.has(d._id)).length;
  const duplicateRuns = [...runsPer.values()].reduce((a, k) => a + (k > 1 ? k - 1 : 0), 0);
  const strayRuns = runs.filter((r) => !index.has(r.scheduleId)).length;
  const deliveredPer = new Map<number, number>();
  for (const [path] of hits) {
    const i = Number(path.slice(path.lastIndexOf('/') + 1));
    deliveredPer.set(i, (deliveredPer.get(i) ?? 0) + 1);
  }
  const undelivered = [...http].filter((i) => !deliveredPer.has(i)).length;
  const duplicateDeliveries = [...deliveredPer.values()].reduce((a, k) => a + (k > 1 ? k - 1 : 0), 0);
  const duplicateKeys = hits.length - new Set(hits.map((h) => h[1])).size;
  const byStatus: Record<string, number> = {};
  for (const r of runs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;

  const claimMs = t.lastClaim - T;
  const claimsPerS = runs.length / (claimMs / 1000);
  const bulkPerS = n / (bulkMs / 1000);
  const windowS = (w1 - w0) / 1000;
  return {
    n,
    mode,
    http: http.size,
    T: new Date(T).toISOString(),
    insertMs: round(insertMs, 0),
    armed,
    armedAheadOfTMs: round(T - armedAt, 0),
    bulkInsertMs: round(bulkMs, 0),
    bulkInsertPerS: round(bulkPerS, 0),
    lastClaimMs: round(claimMs, 0),
    claimsPerS: round(claimsPerS, 0),
    claimThroughputPctOfBulk: round((claimsPerS / bulkPerS) * 100, 0),
    lastClaimOverBulk: round(claimMs / bulkMs, 2),
    lastActionStartMs: round(lastActionStart - T, 0),
    lastDeliveryMs: hits.length ? round(hits.reduce((a, h) => Math.max(a, h[2]), 0) - T, 0) : null,
    allRecordedMs: round(lastRecorded - T, 0),
    recordedCreatedAtMaxMs: runs.length
      ? runs.reduce((a, r) => Math.max(a, r.createdAt.getTime()), 0) - T
      : null,
    recordedLateness: summarize(runs.flatMap((r) => (r.latenessMs === null ? [] : [r.latenessMs]))),
    delivered: summarize(hits.map((h) => h[2] - T)),
    runs: runs.length,
    missed,
    duplicateRuns,
    strayRuns,
    deliveries: hits.length,
    undelivered,
    duplicateDeliveries,
    duplicateKeys,
    byStatus,
    fired,
    missedByPolicy,
    claimCalls: t.claimCalls,
    finishCalls: t.finishCalls,
    actionsStarted,
    windowS: round(windowS, 1),
    dbCpuS: dbCpu0 !== null && dbCpu1 !== null ? round(dbCpu1 - dbCpu0, 1) : null,
    dbCpuPct: dbCpu0 !== null && dbCpu1 !== null ? round(((dbCpu1 - dbCpu0) / windowS) * 100, 0) : null,
    leaderCpuS: round((cpu.user + cpu.system) / 1e6, 1),
    rssBeforeMiB: mib(rss0),
    rssArmedMiB: mib(rssArmed),
    rssPeakMiB: mib(rssPeak),
    apiCreates: api.statuses,
    apiCreateMs: api.latency,
  };
}

type Result = Awaited<ReturnType<typeof burst>>;

/** One run in a process of its own, so its RSS and heap start clean (the leader is this process). */
async function child(): Promise<never> {
  const { info, n, mode } = JSON.parse(process.env.BURST_CHILD!) as {
    info: StackInfo;
    n: number;
    mode: RunStoreMode;
  };
  const sink = await startSinkProcess();
  const { client, db } = await connectDb(info, 'burst', { retryWrites: opts['retry-writes'] });
  const other = await connectDb(info, 'burst');
  try {
    const r = await burst(
      db,
      other.db,
      n,
      mode,
      sink,
      info.pids.find((p) => /secantus|mongod/.test(p.name))?.pid,
    );
    await db.dropDatabase();
    await new Promise((resolve) => process.send!(r, resolve));
  } finally {
    await client.close();
    await other.client.close();
    await sink.stop();
  }
  process.exit(0);
}

function runInChild(info: StackInfo, n: number, mode: RunStoreMode): Promise<Result> {
  const proc = fork(fileURLToPath(import.meta.url), process.argv.slice(2), {
    env: { ...process.env, BURST_CHILD: JSON.stringify({ info, n, mode }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let result: Result | null = null;
    proc.on('message', (m) => {
      result = m as Result;
    });
    proc.once('exit', (code) =>
      result
        ? resolve(result)
        : reject(new Error(`burst run ${n} ${mode} exited (${code}) without a result`)),
    );
  });
}

if (process.env.BURST_CHILD) await child();

const startedAt = new Date();
banner('burst', { ...opts, sizes, modes });
const stack = await benchStack('burst');
const results: Result[] = [];
try {
  for (const n of sizes) {
    for (const mode of modes) {
      console.log(`\n## ${n} due at the same instant, ${mode}`);
      const r = await runInChild(stack.info, n, mode);
      results.push(r);
      console.log(
        `  bulk insert ${r.bulkInsertMs} ms (${r.bulkInsertPerS}/s); T → last claim ${r.lastClaimMs} ms ` +
          `(${r.claimsPerS}/s, ${r.claimThroughputPctOfBulk}% of bulk), → last delivery ${r.lastDeliveryMs} ms, ` +
          `delivered p99 ${fmt(r.delivered.p99)} ms; runs ${r.runs}, missed ${r.missed}, duplicates ${r.duplicateRuns + r.duplicateDeliveries + r.duplicateKeys}`,
      );
    }
  }
} finally {
  await stack.stop();
}

const p = (s: Summary, k: 'median' | 'p99' | 'max') => (s.n ? round(s[k], 0) : null);
const figures: [string, (r: Result) => string | number | null][] = [
  ['bulk insert of N run documents (ms)', (r) => r.bulkInsertMs],
  ['bulk insert rate (docs/s)', (r) => r.bulkInsertPerS],
  ['T → last claim returned (ms)', (r) => r.lastClaimMs],
  ['claims/s', (r) => r.claimsPerS],
  ['claim throughput ÷ bulk insert rate', (r) => `${r.claimThroughputPctOfBulk}%`],
  ['last claim ÷ bulk insert time', (r) => `${r.lastClaimOverBulk}×`],
  ['T → last action started (ms)', (r) => r.lastActionStartMs],
  ['T → last delivery (ms)', (r) => r.lastDeliveryMs],
  ['delivered lateness p50 (ms)', (r) => p(r.delivered, 'median')],
  ['delivered lateness p99 (ms)', (r) => p(r.delivered, 'p99')],
  ['delivered lateness max (ms)', (r) => p(r.delivered, 'max')],
  ['T → last run recorded (ms)', (r) => r.allRecordedMs],
  ['recorded createdAt, max − T (ms)', (r) => r.recordedCreatedAtMaxMs],
  ['runs / missed / duplicate', (r) => `${r.runs} / ${r.missed} / ${r.duplicateRuns}`],
  [
    'http delivered / undelivered / twice',
    (r) => `${r.deliveries} / ${r.undelivered} / ${r.duplicateDeliveries + r.duplicateKeys}`,
  ],
  [
    'run status',
    (r) =>
      Object.entries(r.byStatus)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
  ],
  ['db server CPU (s)', (r) => r.dbCpuS],
  ['db server CPU (% of one core)', (r) => (r.dbCpuPct === null ? null : `${r.dbCpuPct}%`)],
  ['leader CPU (s)', (r) => r.leaderCpuS],
  ['leader RSS armed / peak (MiB)', (r) => `${r.rssArmedMiB} / ${r.rssPeakMiB}`],
  ['armed ahead of T (ms)', (r) => r.armedAheadOfTMs],
  [
    'API creates meanwhile (status: count)',
    (r) =>
      Object.entries(r.apiCreates)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', '),
  ],
  ['API create p99 / max (ms)', (r) => `${round(r.apiCreateMs.p99, 0)} / ${round(r.apiCreateMs.max, 0)}`],
];
const t = table(
  ['burst', ...results.map((r) => `${r.n} ${r.mode}`)],
  figures.map(([label, f]) => [label, ...results.map(f)]),
);
console.log(`\n${t}`);

const best = (n: number) => results.find((r) => r.n === n && r.mode === 'batched') ?? null;
const at10k = best(10_000);
if (at10k) {
  const ok = at10k.lastClaimOverBulk <= 1.5 && at10k.missed === 0 && at10k.duplicateRuns === 0;
  console.log(
    `\ntarget 10,000 due: all claimed within 1.5 × bulk insert, 0 missed, 0 duplicate: ${ok ? 'met' : 'MISSED'} (${at10k.lastClaimOverBulk}×, missed ${at10k.missed}, duplicates ${at10k.duplicateRuns})`,
  );
}
for (const r of results.filter((x) => x.mode === 'batched')) {
  const failed = Object.entries(r.apiCreates).filter(([k]) => k !== '201');
  console.log(
    `target no API write fails during the burst at ${r.n}: ${failed.length === 0 ? 'met' : 'MISSED'} (${Object.entries(
      r.apiCreates,
    )
      .map(([k, v]) => `${v}× ${k}`)
      .join(', ')})`,
  );
}
for (const r of results.filter((x) => x.mode === 'batched'))
  console.log(
    `target claim throughput ≥ 80% of bulk insert at ${r.n}: ${r.claimThroughputPctOfBulk >= 80 ? 'met' : 'MISSED'} (${r.claimThroughputPctOfBulk}%)`,
  );

const file = writeResult(
  {
    name: 'burst',
    parameters: {
      ...opts,
      sizes,
      modes,
      schedules:
        'at: [T], one instant for all; http ones (every 1/http-share-th) POST to a sink process on 127.0.0.1 with one attempt, the rest log silently; misfire fireOnce/300 s, concurrency allow',
      engine: 'in-process leader (src/engine/engine.ts) on the stack’s MongoDB-protocol server',
    },
    results,
    notes: [
      'T → last claim returned: the last RunStore claim* call resolved (the store is wrapped; a batched store’s own claim methods count too)',
      'claims/s: runs ÷ (last claim − T); bulk insert: one insertMany(ordered: false) of N run-shaped documents into a scratch collection with the runs indexes, just before the burst, same client',
      'delivered lateness: arrival at the sink (a child process) − T, for the http schedules only',
      'recorded createdAt: the firedAt the engine took before the claim; in the per-fire path all are ≈ T, so it does not show when claims landed',
      'db server CPU: /proc of the MongoDB-protocol server process from 300 ms before T until every run is recorded; leader CPU and RSS: the run’s own process, one per size and mode (the sink is another one)',
      'mode per-fire vs batched: new MongoRunStore(db, { batch })',
      'API creates: POSTs through createApp on a second MongoDB client (another replica), one after another with 20 ms pauses, from 300 ms before T until every run is recorded',
      `MongoDB client with retryWrites=${opts['retry-writes']} (see lateness.ts: SecantusDB slows down past 10,000 retryable-write records)`,
    ],
    table: t,
  },
  startedAt,
);
console.log(`wrote ${file}`);
