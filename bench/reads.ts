// API reads per replica, the schedule cache (issue 14) against the design before it, in one
// run: one replica process at a time on the same stack and database, first this tree's
// `src/main.ts` (reads from the cache after a consistent-read sync), then `--baseline` (a
// worktree of the commit before the cache, where every read is a MongoDB query), each with
// `--sizes` stored schedules, loaded by autocannon:
//   get          GET /api/v1/schedules/{id}, a random id of the stored ones per request
//   list         GET /api/v1/schedules?limit=50 (the first page)
//   list-cursor  the same with a cursor from the middle of the list order
// at each of `--connections`. Idle: the stored schedules are daily crons at an hour far from
// now, so nothing fires and nothing writes while reads are measured (the database's cluster
// time stands still, so a sync round is one ping). Busy (`--busy`): 1,000 more schedules every
// 10 s with the log action (100 fires/s on the same replica, each a `runs` insert), so the
// cluster time moves all the time and every sync round needs a marker write. Beside req/s and
// latency: replica and database CPU, the replica's leasecron_cache_reads_total by result and the
// mean sync wait (from /metrics), the pings and marker writes the database saw (serverStatus
// opcounters, and a change stream on cache_marks), per second.
//
// The baseline worktree: `git worktree add --detach /work/wt-baseline 5f56d94` and a symlink of
// node_modules into it (read-only use).
//
//   node bench/reads.ts [--sizes=10000,100000] [--connections=10,50,200] [--duration=5]
//                       [--routes=get,list,list-cursor] [--repeat=1] [--busy=true]
//                       [--busy-connections=50] [--baseline=/work/wt-baseline/src/main.ts]
//                       [--builds=cache,baseline] [--log-level=info] [--profile]
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import autocannon from 'autocannon';
import type { ChangeStream, Db } from 'mongodb';
import { encodeCursor } from '../src/store/cursor.ts';
import { ensureIndexes } from '../src/store/indexes.ts';
import type { ScheduleDoc } from '../src/store/mongo-schedule-store.ts';
import { freePort } from '../stack/ports.ts';
import { type Replica, startReplica, stopReplica, waitForLeader, waitReady } from '../stack/replicas.ts';
import {
  args,
  BENCH_DIR,
  banner,
  fmt,
  procCpuSeconds,
  REPO_ROOT,
  round,
  sleep,
  summarize,
  table,
  writeResult,
} from './lib/report.ts';
import { insertAll, spreadSchedules } from './lib/schedules.ts';
import { benchStack, connectDb, ensureNamespace } from './lib/stack.ts';

const opts = args({
  sizes: [10_000, 100_000],
  connections: [10, 50, 200],
  duration: 5,
  /** runs per (build, size, route, connections); the table shows the median req/s run */
  repeat: 1,
  routes: 'get,list,list-cursor',
  /** also measure with the leader firing 100/s on the same replica */
  busy: true,
  'busy-connections': [50],
  /** routes of the busy scenario */
  'busy-routes': 'get,list',
  /** the baseline's routes (default: --routes); its lists at 100,000 take SecantusDB seconds each */
  'baseline-routes': '',
  baseline: '/work/wt-baseline/src/main.ts',
  builds: 'cache,baseline',
  'log-level': 'info',
  /** the result file: bench/results/<name>.json */
  name: 'reads',
  /** print the table from this result file's rows instead of measuring */
  render: '',
  /** write each replica's CPU profile to bench/results/profiles/reads-<build>-<n>.cpuprofile */
  profile: false,
  /**
   * above this many schedules the baseline's list routes run at the lowest connection count only:
   * SecantusDB sorts the whole collection for each page (~1.5 s at 10k), and 200 such queries
   * queued keep the database busy for minutes after the run (measured), spoiling the next ones
   */
  'baseline-list-max': 1000,
});

type Build = 'cache' | 'baseline';
const builds = opts.builds.split(',').filter(Boolean) as Build[];
for (const b of builds) if (b !== 'cache' && b !== 'baseline') throw new Error(`unknown build ${b}`);
const baselineAbs = resolve(opts.baseline);
if (builds.includes('baseline') && !existsSync(baselineAbs))
  throw new Error(
    `--baseline=${opts.baseline} does not exist: git worktree add --detach /work/wt-baseline 5f56d94 && ln -s $PWD/node_modules /work/wt-baseline/node_modules`,
  );
/** stack/replicas.ts joins the entry to the repository root: an absolute path goes in as a relative one */
const entryOf = (b: Build) =>
  b === 'cache' ? 'src/main.ts' : isAbsolute(baselineAbs) ? relative(REPO_ROOT, baselineAbs) : opts.baseline;

interface Row {
  build: Build;
  n: number;
  scenario: 'idle' | 'busy';
  route: string;
  connections: number;
  run: number;
  reqPerSec: number;
  ok: number;
  non2xx: number;
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  replicaCpuPercent: number | null;
  dbCpuPercent: number | null;
  /** the replica's main (JavaScript) thread runnable but waiting for a core, % of the run (/proc/<pid>/schedstat) */
  replicaRunQueuePercent: number | null;
  /** CPU of the benchmark process (autocannon, the load generator), % of one core */
  loadGenCpuPercent: number;
  /** leasecron_cache_reads_total by result, during the run (cache build) */
  cacheReads: Record<string, number> | null;
  /** mean leasecron_cache_sync_seconds during the run, ms */
  meanSyncMs: number | null;
  /** database operations per second during the run (serverStatus opcounters), null if unsupported */
  dbOpsPerSec: Record<string, number> | null;
  /** marker writes into cache_marks per second (from a change stream on it) */
  markersPerSec: number;
  /** fires per second during the run (runs inserted) */
  firesPerSec: number | null;
  /** ms waited before the run for the database to go quiet (< 25% CPU over 1 s; at most 30 s) */
  settleMs: number;
  /** the replica's role (GET /api/v1/cluster) right after the run */
  role: string | null;
}

async function scrape(
  port: number,
): Promise<{ reads: Record<string, number>; syncSum: number; syncCount: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const reads: Record<string, number> = {};
  for (const m of text.matchAll(/^leasecron_cache_reads_total\{result="([^"]+)"\} (\S+)$/gm))
    reads[m[1]!] = Number(m[2]);
  const syncSum = Number(/^leasecron_cache_sync_seconds_sum(?:\{\})? (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  const syncCount = Number(
    /^leasecron_cache_sync_seconds_count(?:\{\})? (\S+)$/m.exec(text)?.[1] ?? Number.NaN,
  );
  return { reads, syncSum, syncCount };
}

async function armed(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/^leasecron_armed_schedules(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? -1);
  } catch {
    return -1;
  }
}

/** The benchmark's own probes give up after 5 s: a database working off a backlog must not stall the run. */
function within<T>(p: Promise<T>, ms = 5000): Promise<T | null> {
  return Promise.race([p.catch(() => null), sleep(ms).then(() => null)]);
}

async function opcounters(db: Db): Promise<Record<string, number> | null> {
  try {
    const s = await within(db.admin().command({ serverStatus: 1 }));
    if (!s) return null;
    const o = s.opcounters as Record<string, unknown> | undefined;
    if (!o) return null;
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(o)) out[k] = Number(v);
    return out;
  } catch {
    return null;
  }
}

/** Waits until the database server used < 25% of a core over one second (at most 30 s): a run
 * must not start while the database still works off the queries of the one before. */
async function settle(pid: number | undefined): Promise<number> {
  const t0 = Date.now();
  if (pid === undefined) return 0;
  while (Date.now() - t0 < 30_000) {
    const a = procCpuSeconds(pid);
    await sleep(1000);
    const b = procCpuSeconds(pid);
    if (a === null || b === null || b - a < 0.25) break;
  }
  return Date.now() - t0;
}

/** The main thread's time waiting in the run queue, seconds (Linux schedstat), or null. */
function runQueueSeconds(pid: number): number | null {
  try {
    const f = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/);
    return Number(f[1]) / 1e9;
  } catch {
    return null;
  }
}

async function role(port: number): Promise<string | null> {
  try {
    const v = (await (await fetch(`http://127.0.0.1:${port}/api/v1/cluster`)).json()) as { role: string };
    return v.role;
  } catch {
    return null;
  }
}

const startedAt = new Date();
banner('reads', opts);
async function measureAll(): Promise<Row[]> {
  const stack = await benchStack(opts.name);
  if (opts.profile) mkdirSync(join(BENCH_DIR, 'results', 'profiles'), { recursive: true });
  const rows: Row[] = [];
  const dbPid = stack.info.pids.find((p) => /secantus|mongod/.test(p.name))?.pid;
  let seq = 0;
  try {
    await ensureNamespace(stack.info, 'leasecron');
    const { client } = await connectDb(stack.info, 'reads');
    try {
      for (const n of opts.sizes) {
        const dbName = `reads_${n}`;
        const db = client.db(dbName);
        await db.dropDatabase();
        await ensureIndexes(db, { runRetentionDays: 7 });
        // Daily crons at an hour far from now: armed, but nothing fires during the run.
        const farHour = (new Date().getUTCHours() + 12) % 24;
        const docs = spreadSchedules({
          n,
          periodMs: 86_400_000,
          cronShare: 1,
          cronPatterns: 3600,
          cronHour: farHour,
          now: new Date(),
          prefix: 'reads',
        });
        const insertMs = await insertAll(db, docs);
        console.log(`  ${n} schedules inserted in ${Math.round(insertMs)} ms`);
        const ids = docs.map((d) => d._id);
        // list order is (createdAt, _id): the cursor of the middle item
        const ordered = [...docs].sort(
          (a, b) =>
            a.createdAt.getTime() - b.createdAt.getTime() || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0),
        );
        const mid = ordered[Math.floor(ordered.length / 2)]!;
        const cursor = encodeCursor({ t: mid.createdAt.getTime(), id: mid._id });
        const routes: Record<string, autocannon.Request[]> = {
          get: [
            {
              method: 'GET',
              setupRequest: (req) => ({
                ...req,
                path: `/api/v1/schedules/${ids[Math.floor(Math.random() * ids.length)]}`,
              }),
            },
          ],
          list: [{ method: 'GET', path: '/api/v1/schedules?limit=50' }],
          'list-cursor': [{ method: 'GET', path: `/api/v1/schedules?limit=50&cursor=${cursor}` }],
        };

        // Markers: every write into cache_marks, counted by a change stream of our own.
        let markers = 0;
        const marks: ChangeStream = db.collection('cache_marks').watch([], {});
        marks.on('change', () => {
          markers++;
        });
        marks.on('error', () => {});
        const runsCol = db.collection('runs');
        try {
          for (const build of builds) {
            const port = await freePort();
            const identity = `reads-${build}-${++seq}`;
            const replica: Replica = startReplica(
              stack.info,
              { identity, port, logFile: join(stack.dir, `${identity}.log`) },
              {
                entry: entryOf(build),
                env: {
                  MONGODB_DB: dbName,
                  LEASE_NAME: `reads-${seq}`,
                  LOG_LEVEL: opts['log-level'],
                  ...(opts.profile
                    ? {
                        NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${join(BENCH_DIR, 'results', 'profiles')} --cpu-prof-name=reads-${build}-${n}.cpuprofile`,
                      }
                    : {}),
                },
              },
            );
            try {
              await waitReady(replica, 120_000);
              await waitForLeader([replica], { timeoutMs: 30_000 });
              const t0 = Date.now();
              while ((await armed(port)) < n) {
                if (Date.now() - t0 > 180_000) throw new Error(`${identity}: not ${n} armed after 180 s`);
                await sleep(200);
              }
              console.log(`  ${build}, ${n}: leader, ${n} armed ${Date.now() - t0} ms after leading`);
              await sleep(2000);
              const base = `http://127.0.0.1:${port}`;
              const measure = async (
                scenario: 'idle' | 'busy',
                route: string,
                connections: number,
                run: number,
              ): Promise<void> => {
                const requests = routes[route]!;
                // busy: the database works on the fires by design
                const settleMs = scenario === 'idle' ? await settle(dbPid) : 0;
                await autocannon({ url: base, connections, duration: 1, requests });
                const m0 = build === 'cache' ? await scrape(port) : null;
                const o0 = await opcounters(db);
                const r0 = await within(runsCol.estimatedDocumentCount());
                const k0 = markers;
                const c0 = procCpuSeconds(replica.pid);
                const q0 = runQueueSeconds(replica.pid);
                const g0 = process.cpuUsage();
                const d0 = dbPid ? procCpuSeconds(dbPid) : null;
                const r = await autocannon({ url: base, connections, duration: opts.duration, requests });
                const c1 = procCpuSeconds(replica.pid);
                const q1 = runQueueSeconds(replica.pid);
                const g1 = process.cpuUsage(g0);
                const d1 = dbPid ? procCpuSeconds(dbPid) : null;
                const k1 = markers;
                const o1 = await opcounters(db);
                const r1 = await within(runsCol.estimatedDocumentCount());
                const m1 = build === 'cache' ? await scrape(port) : null;
                const roleAfter = await role(port);
                const secs = r.duration;
                const ok = (r['2xx'] as number) ?? 0;
                let cacheReads: Record<string, number> | null = null;
                let meanSyncMs: number | null = null;
                if (m0 && m1) {
                  cacheReads = {};
                  for (const k of Object.keys(m1.reads))
                    cacheReads[k] = (m1.reads[k] ?? 0) - (m0.reads[k] ?? 0);
                  const dc = m1.syncCount - m0.syncCount;
                  meanSyncMs = dc > 0 ? ((m1.syncSum - m0.syncSum) / dc) * 1000 : null;
                }
                let dbOpsPerSec: Record<string, number> | null = null;
                if (o0 && o1) {
                  dbOpsPerSec = {};
                  // the two serverStatus calls of this benchmark are commands too (−2)
                  for (const k of Object.keys(o1))
                    dbOpsPerSec[k] = round(
                      ((o1[k] ?? 0) - (o0[k] ?? 0) - (k === 'command' ? 2 : 0)) / secs,
                      0,
                    );
                }
                const row: Row = {
                  build,
                  n,
                  scenario,
                  route,
                  connections,
                  run,
                  reqPerSec: ok / secs,
                  ok,
                  non2xx: r.non2xx,
                  errors: r.errors,
                  latencyMs: {
                    p50: r.latency.p50,
                    p90: r.latency.p90,
                    p99: r.latency.p99,
                    max: r.latency.max,
                    mean: r.latency.average,
                  },
                  replicaCpuPercent: c0 !== null && c1 !== null ? ((c1 - c0) / secs) * 100 : null,
                  dbCpuPercent: d0 !== null && d1 !== null ? ((d1 - d0) / secs) * 100 : null,
                  replicaRunQueuePercent: q0 !== null && q1 !== null ? ((q1 - q0) / secs) * 100 : null,
                  loadGenCpuPercent: ((g1.user + g1.system) / 1e6 / secs) * 100,
                  cacheReads,
                  meanSyncMs,
                  dbOpsPerSec,
                  markersPerSec: (k1 - k0) / secs,
                  // runs also includes the cache-free build's fires; the counter is the collection's size
                  firesPerSec: r0 !== null && r1 !== null ? (r1 - r0) / secs : null,
                  settleMs,
                  role: roleAfter,
                };
                rows.push(row);
                console.log(
                  `  ${build} n=${n} ${scenario} ${route} c=${connections}: ${Math.round(row.reqPerSec)} req/s, p50 ${row.latencyMs.p50} p99 ${row.latencyMs.p99} ms, cpu ${fmt(row.replicaCpuPercent)}% / db ${fmt(row.dbCpuPercent)}% / load gen ${fmt(row.loadGenCpuPercent)}%, replica waited for a core ${fmt(row.replicaRunQueuePercent)}%, non-2xx ${row.non2xx}, ${roleAfter}, settle ${settleMs} ms, markers ${fmt(row.markersPerSec)}/s, ops ${JSON.stringify(dbOpsPerSec)}${cacheReads ? `, reads ${JSON.stringify(cacheReads)} sync ${fmt(meanSyncMs)} ms` : ''}`,
                );
              };
              const routeList =
                build === 'baseline' && opts['baseline-routes'] ? opts['baseline-routes'] : opts.routes;
              for (const route of routeList.split(',').filter(Boolean))
                for (const c of opts.connections) {
                  const heavy =
                    build === 'baseline' && route.startsWith('list') && n > opts['baseline-list-max'];
                  if (heavy && c !== Math.min(...opts.connections)) continue;
                  for (let i = 0; i < opts.repeat; i++) await measure('idle', route, c, i);
                }
              if (opts.busy) {
                // 1,000 schedules every 10 s (100 fires/s), the log action, armed from the stream.
                const tag = randomBytes(3).toString('hex');
                const busy = spreadSchedules({
                  n: 1000,
                  periodMs: 10_000,
                  now: new Date(),
                  prefix: `busy-${tag}`,
                });
                await insertAll(db, busy);
                const t1 = Date.now();
                while ((await armed(port)) < n + 1000) {
                  if (Date.now() - t1 > 60_000) {
                    console.log(
                      `  ${identity}: busy schedules not armed after 60 s (role ${await role(port)})`,
                    );
                    break;
                  }
                  await sleep(100);
                }
                await sleep(3000);
                try {
                  for (const route of opts['busy-routes'].split(',').filter(Boolean))
                    for (const c of opts['busy-connections'])
                      for (let i = 0; i < opts.repeat; i++) await measure('busy', route, c, i);
                } finally {
                  await db
                    .collection<ScheduleDoc>('schedules')
                    .deleteMany({ _id: { $in: busy.map((d) => d._id) } });
                }
              }
            } finally {
              await stopReplica(replica, 'SIGTERM');
            }
          }
        } finally {
          await marks.close();
        }
      }
    } finally {
      await client.close();
    }
  } finally {
    await stack.stop();
  }
  return rows;
}

// --render=<reads.json>: the table again from a result file's rows, without measuring.
const rendered = opts.render ? JSON.parse(readFileSync(opts.render, 'utf8')) : null;
const rows: Row[] = rendered ? rendered.results.rows : await measureAll();

// One line per (n, scenario, route, connections): the median-req/s run of each build, and the ratio.
const key = (r: Row) => `${r.n}|${r.scenario}|${r.route}|${r.connections}`;
const pick = (rs: Row[]): Row | undefined => {
  if (rs.length === 0) return undefined;
  const med = summarize(rs.map((r) => r.reqPerSec)).median;
  return rs.find((r) => r.reqPerSec === med) ?? rs[0];
};
/** CPU per 2xx response, µs, of the replica and of the database: what a core's worth would serve */
const cpuPerRequest = (r: Row): string => {
  const per = (pct: number | null) =>
    pct === null || r.reqPerSec <= 0 ? '–' : fmt(((pct / 100) * 1e6) / r.reqPerSec, 0);
  return `${per(r.replicaCpuPercent)} / ${per(r.dbCpuPercent)}`;
};
const keys = [...new Set(rows.map(key))];
const lines: (string | number | null)[][] = [];
const compared: Record<string, unknown>[] = [];
for (const k of keys) {
  const c = pick(rows.filter((r) => key(r) === k && r.build === 'cache'));
  const b = pick(rows.filter((r) => key(r) === k && r.build === 'baseline'));
  const any = (c ?? b)!;
  const reads = c?.cacheReads;
  const fallbacks = reads
    ? Object.entries(reads)
        .filter(([r]) => r !== 'caught-up')
        .reduce((a, [, v]) => a + v, 0)
    : null;
  const pings = c?.dbOpsPerSec?.command ?? null;
  compared.push({
    n: any.n,
    scenario: any.scenario,
    route: any.route,
    connections: any.connections,
    cache: c ?? null,
    baseline: b ?? null,
    ratio: c && b && b.reqPerSec > 0 ? c.reqPerSec / b.reqPerSec : null,
  });
  lines.push([
    String(any.n),
    any.scenario,
    any.route,
    any.connections,
    c ? Math.round(c.reqPerSec) : null,
    c ? `${c.latencyMs.p50} / ${c.latencyMs.p99}` : '–',
    c ? `${fmt(c.replicaCpuPercent, 0)}% / ${fmt(c.dbCpuPercent, 0)}%` : '–',
    c ? `${fmt(c.replicaRunQueuePercent, 0)}% / ${fmt(c.loadGenCpuPercent, 0)}%` : '–',
    c ? cpuPerRequest(c) : '–',
    b ? Math.round(b.reqPerSec) : null,
    b ? `${b.latencyMs.p50} / ${b.latencyMs.p99}` : '–',
    b ? `${fmt(b.replicaCpuPercent, 0)}% / ${fmt(b.dbCpuPercent, 0)}%` : '–',
    b ? cpuPerRequest(b) : '–',
    c && b && b.reqPerSec > 0 ? `${fmt(c.reqPerSec / b.reqPerSec, 1)}×` : '–',
    c ? `${reads?.['caught-up'] ?? '–'} / ${fallbacks ?? '–'}` : '–',
    c ? `${fmt(c.meanSyncMs, 2)}` : '–',
    c ? `${pings === null ? '–' : fmt(pings, 0)} / ${fmt(c.markersPerSec, 0)}` : '–',
    c?.firesPerSec !== null && c?.firesPerSec !== undefined ? fmt(c.firesPerSec, 0) : '–',
  ]);
}
const t = table(
  [
    'schedules',
    'load',
    'route',
    'conns',
    'cache req/s',
    'cache p50 / p99 ms',
    'cache cpu replica / db',
    'cache replica waits for a core / load gen cpu',
    'cache cpu µs per read replica / db',
    'baseline req/s',
    'baseline p50 / p99 ms',
    'baseline cpu replica / db',
    'baseline cpu µs per read replica / db',
    'cache ÷ baseline',
    'cache reads / fallbacks',
    'mean sync ms',
    'db commands / markers per s',
    'fires/s',
  ],
  lines,
);
console.log(`\n${t}`);
const idleCache = (route: string) =>
  rows
    .filter((r) => r.build === 'cache' && r.scenario === 'idle' && r.route === route)
    .map((r) => r.reqPerSec);
const verdict = (label: string, target: number, xs: number[]) =>
  console.log(
    xs.length === 0
      ? `${label}: not measured in this run`
      : `${label}: ${Math.max(...xs) > target ? 'met' : 'MISSED'} (best ${Math.round(Math.max(...xs))} req/s)`,
  );
console.log('');
verdict('target GET by id > 20,000 req/s per replica', 20_000, idleCache('get'));
verdict('target list of 50 > 5,000 req/s per replica', 5000, [
  ...idleCache('list'),
  ...idleCache('list-cursor'),
]);
const file = writeResult(
  {
    name: opts.name,
    parameters: {
      ...(rendered ? rendered.parameters : opts),
      ...(rendered
        ? { renderedFrom: opts.render, measuredAt: rendered.date, machineThen: rendered.machine }
        : {}),
      cacheEntry: 'src/main.ts',
      baselineEntry: baselineAbs,
      schedules: 'daily crons at an hour 12 h from now (nothing fires); busy: +1,000 every 10 s, log action',
      loadGenerator:
        'autocannon in the benchmark process, on the same 2 cores as the replica and the database',
    },
    results: { rows, compared },
    notes: [
      'one replica process (the leader) per build, started in turn on the same database; the other build is not running',
      'req/s: 2xx ÷ duration; latency p50/p99 from autocannon, ms; the table shows the run with the median req/s when --repeat > 1',
      'replica waits for a core: time its main thread was runnable but not running (/proc/<pid>/schedstat), % of the run; load gen cpu: the benchmark process (autocannon), % of one core',
      'cpu µs per read: replica (or database) CPU seconds ÷ 2xx responses: the cost of a read, which holds on a shared machine where req/s does not; 1e6 ÷ it is what one core would serve',
      'cpu: CPU seconds of the replica process and of the database server during the run ÷ duration (100% = one core)',
      "cache reads / fallbacks: the replica's leasecron_cache_reads_total during the run, caught-up vs. timeout+not-ready+error",
      "mean sync ms: leasecron_cache_sync_seconds sum ÷ count during the run (a read's wait for the cache to vouch)",
      'db commands per s: serverStatus opcounters.command delta ÷ duration (pings, and the getMores of change streams if the server counts them there); markers per s: writes into cache_marks seen by a change stream of the benchmark',
      'fires/s: runs inserted during the run ÷ duration',
    ],
    table: t,
  },
  startedAt,
);
console.log(`wrote ${file}`);
