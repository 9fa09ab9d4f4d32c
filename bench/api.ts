// API throughput of one replica: a real replica process (src/main.ts, default settings,
// LOG_LEVEL=info so every request is logged as in production) on the real stack with
// `--schedules` stored schedules, loaded by autocannon for `--duration` seconds per
// route. GET /healthz (no database) is the ceiling of the HTTP stack itself; the others
// each read or write MongoDB. Beside req/s and latency: the CPU the replica and the
// database server used, which tells which of them saturated.
//
// With --auth=kubernetes the replica checks every request as in deploy/ (TokenReview +
// SubjectAccessReview, answers cached for AUTH_CACHE_TTL_SECONDS) and the load carries the token
// of a ServiceAccount bound to leasecron-editor; --auth-cache-ttl=0 asks the API server every time.
//
//   node bench/api.ts [--duration=10] [--connections=10] [--schedules=1000] [--profile]
//                     [--auth=none|kubernetes] [--auth-cache-ttl=10]
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../stack/ports.ts';
import { startReplica, stopReplica, waitForLeader, waitReady } from '../stack/replicas.ts';
import {
  args,
  BENCH_DIR,
  banner,
  procCpuSeconds,
  type ResultFile,
  table,
  writeResult,
} from './lib/report.ts';
import { insertAll, spreadSchedules } from './lib/schedules.ts';
import { benchStack, connectDb, ensureNamespace, serviceAccountToken } from './lib/stack.ts';

const opts = args({
  duration: 10,
  connections: 10,
  schedules: 1000,
  'log-level': 'info',
  /** write the replica's CPU profile to bench/results/profiles/ */
  profile: false,
  entry: 'src/main.ts',
  /** which routes to load: healthz,list,get,post */
  routes: 'healthz,list,get,post',
  /** none (the tests' replicas) or kubernetes (deploy/'s default) */
  auth: 'none',
  'auth-cache-ttl': 10,
});
if (!['none', 'kubernetes'].includes(opts.auth)) throw new Error('--auth must be none or kubernetes');

interface Scenario {
  key: string;
  name: string;
  requests: autocannon.Request[];
}

const startedAt = new Date();
banner('api', opts);
const stack = await benchStack('api');
const measured: Record<string, unknown>[] = [];
let t = '';
try {
  await ensureNamespace(stack.info, 'leasecron');
  const { client, db } = await connectDb(stack.info, 'api');
  await db.dropDatabase();
  const docs = spreadSchedules({ n: opts.schedules, periodMs: 3_600_000, now: new Date(), prefix: 'api' });
  await insertAll(db, docs);
  const ids = docs.map((d) => d._id);
  await client.close();

  const profDir = join(BENCH_DIR, 'results', 'profiles');
  if (opts.profile) mkdirSync(profDir, { recursive: true });
  const port = await freePort();
  const token =
    opts.auth === 'kubernetes'
      ? await serviceAccountToken(stack.info, {
          namespace: 'leasecron',
          name: 'bench',
          clusterRole: 'leasecron-editor',
        })
      : null;
  const authHeaders: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const replica = startReplica(
    stack.info,
    // apiToken: the bearer token waitForLeader sends to /api/v1/cluster
    { identity: 'api-0', port, logFile: join(stack.dir, 'api-0.log'), ...(token ? { apiToken: token } : {}) },
    {
      entry: opts.entry,
      env: {
        MONGODB_DB: 'api',
        LOG_LEVEL: opts['log-level'],
        AUTH: opts.auth,
        AUTH_CACHE_TTL_SECONDS: String(opts['auth-cache-ttl']),
        ...(opts.profile
          ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir} --cpu-prof-name=api-replica.cpuprofile` }
          : {}),
      },
    },
  );
  try {
    await waitReady(replica);
    await waitForLeader([replica], { timeoutMs: 30_000 });
    const base = `http://127.0.0.1:${port}`;
    const tag = randomBytes(3).toString('hex');
    let seq = 0;
    const scenarios: Scenario[] = [
      { key: 'healthz', name: 'GET /healthz (no database)', requests: [{ method: 'GET', path: '/healthz' }] },
      {
        key: 'list',
        name: 'GET /api/v1/schedules?limit=50',
        requests: [{ method: 'GET', path: '/api/v1/schedules?limit=50', headers: authHeaders }],
      },
      {
        key: 'get',
        name: 'GET /api/v1/schedules/{id}',
        requests: [
          {
            method: 'GET',
            headers: authHeaders,
            setupRequest: (req) => ({
              ...req,
              path: `/api/v1/schedules/${ids[Math.floor(Math.random() * ids.length)]}`,
            }),
          },
        ],
      },
      {
        key: 'post',
        name: 'POST /api/v1/schedules',
        requests: [
          {
            method: 'POST',
            path: '/api/v1/schedules',
            headers: { 'content-type': 'application/json', ...authHeaders },
            setupRequest: (req) => ({
              ...req,
              body: JSON.stringify({
                name: `load-${tag}-${seq++}`,
                schedule: { every: '1h' },
                action: { type: 'log' },
              }),
            }),
          },
        ],
      },
    ];
    const dbPid = stack.info.pids.find((p) => /secantus|mongod/.test(p.name))?.pid;
    const wanted = new Set(opts.routes.split(','));
    for (const s of scenarios.filter((x) => wanted.has(x.key))) {
      // a short warm-up so the JIT and connection pools are not what is measured
      await autocannon({ url: base, connections: opts.connections, duration: 1, requests: s.requests });
      const c0 = procCpuSeconds(replica.pid);
      const d0 = dbPid ? procCpuSeconds(dbPid) : null;
      const r = await autocannon({
        url: base,
        connections: opts.connections,
        duration: opts.duration,
        requests: s.requests,
      });
      const c1 = procCpuSeconds(replica.pid);
      const d1 = dbPid ? procCpuSeconds(dbPid) : null;
      const ok = (r['2xx'] as number) ?? 0;
      const row = {
        scenario: s.name,
        reqPerSec: ok / r.duration,
        requests: r.requests.total,
        ok,
        non2xx: r.non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
        latencyMs: {
          p50: r.latency.p50,
          p90: r.latency.p90,
          p99: r.latency.p99,
          max: r.latency.max,
          mean: r.latency.average,
        },
        replicaCpuPercent: c0 !== null && c1 !== null ? ((c1 - c0) / r.duration) * 100 : null,
        dbServerCpuPercent: d0 !== null && d1 !== null ? ((d1 - d0) / r.duration) * 100 : null,
        statusCodes: r.statusCodeStats,
      };
      measured.push(row);
      console.log(
        `  ${s.name}: ${Math.round(row.reqPerSec)} req/s, p99 ${row.latencyMs.p99} ms, non-2xx ${row.non2xx}, errors ${row.errors}`,
      );
    }
  } finally {
    await stopReplica(replica, 'SIGTERM');
  }
} finally {
  await stack.stop();
}

t = table(
  ['route', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'non-2xx', 'replica cpu', 'db cpu'],
  measured.map((m) => {
    const l = m.latencyMs as Record<string, number>;
    return [
      String(m.scenario),
      String(Math.round(m.reqPerSec as number)),
      String(l.p50),
      String(l.p99),
      String(l.max),
      String(m.non2xx),
      `${Math.round(m.replicaCpuPercent as number)}%`,
      `${Math.round(m.dbServerCpuPercent as number)}%`,
    ];
  }),
);
console.log(`\n${t}`);
const reads = measured.filter((m) => String(m.scenario).startsWith('GET /api'));
const worst = Math.min(...reads.map((m) => m.reqPerSec as number));
console.log(
  `\ntarget API reads per replica > 5,000 req/s: ${worst > 5000 ? 'met' : 'MISSED'} (slowest read route ${Math.round(worst)} req/s)`,
);
const out: ResultFile = {
  name: 'api',
  parameters: {
    ...opts,
    loadGenerator:
      'autocannon 9 in the benchmark process, on the same machine as the replica and the database',
  },
  results: measured,
  notes: [
    'req/s: 2xx responses / duration; latency percentiles from autocannon (ms)',
    'replica cpu / db cpu: CPU seconds used by the replica process and the database server during the run ÷ duration (100% = one core)',
  ],
  table: t,
};
console.log(`wrote ${writeResult(out, startedAt)}`);
