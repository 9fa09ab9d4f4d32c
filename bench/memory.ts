// Where a replica's memory goes: real replica processes (stack/replicas.ts) started
// from `src/main.ts` (Node strips the types) and from `dist/main.js` (what the image runs,
// built here with `npm run build`), as a follower (idle) and as the leader with N armed
// schedules (inserted straight into `schedules`; every 24h spread over the day plus 20%
// daily crons at an hour far from now, so nothing fires). After the replica has settled:
// RSS from /proc, then through the inspector (--inspect on loopback) process.memoryUsage()
// and V8's heap spaces, and on the first repetition a heap snapshot summarised by
// bench/tools/heap-top.ts (by constructor, and the objects that retain the most), plus the
// scripts the process has loaded. Each case runs --repeat times in a fresh process; the
// table shows medians.
//
// Since the schedule cache (issue 14) every replica holds every schedule: `--follower-sizes` measures
// followers with that many stored schedules too (another replica leads the same database), and
// the per-schedule table gives (case − the same role at 0) ÷ N for RSS and for the heap after a
// full GC (HeapProfiler.collectGarbage through the inspector, then process.memoryUsage()).
//
//   node bench/memory.ts [--sizes=0,1000,10000] [--entries=src/main.ts,dist/main.js] [--repeat=3]
//                        [--settle=5] [--node-options='--max-semi-space-size=2'] [--snapshot=false] [--follower=false] [--top=12]
//                        [--follower-sizes=0]
//   issue 14's figure: node bench/memory.ts --sizes=0,100000 --follower-sizes=0,100000 --entries=src/main.ts --repeat=1 --name=memory-100k
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ensureIndexes } from '../src/store/indexes.ts';
import { installScheduleCrd } from '../stack/crd.ts';
import { freePort } from '../stack/ports.ts';
import { type Replica, startReplica, stopReplica, waitForLeader, waitReady } from '../stack/replicas.ts';
import {
  args,
  BENCH_DIR,
  banner,
  mib,
  procRss,
  REPO_ROOT,
  sleep,
  summarize,
  table,
  writeResult,
} from './lib/report.ts';
import { insertAll, spreadSchedules } from './lib/schedules.ts';
import { benchStack, connectDb, ensureNamespace } from './lib/stack.ts';
import { type HeapSummary, summarizeHeapSnapshot } from './tools/heap-top.ts';

const opts = args({
  sizes: [0, 1000, 10000],
  /** entry points, comma-separated; dist/main.js is built first */
  entries: 'src/main.ts,dist/main.js',
  repeat: 3,
  /** seconds to wait after ready (follower) or armed (leader) before measuring */
  settle: 5,
  /** extra NODE_OPTIONS for the measured replicas (e.g. V8 flags to compare) */
  'node-options': '',
  /** also measure a follower (idle) replica per entry */
  follower: true,
  /** stored schedules of the followers measured (each size a follower of its own leader) */
  'follower-sizes': [0],
  /** take and summarise a heap snapshot on the first repetition of each case */
  snapshot: true,
  /** rows per heap-snapshot table */
  top: 12,
  /** name of the result file (bench/results/<name>.json) */
  name: 'memory',
});

interface Measure {
  rss: number;
  heapUsed: number;
  /** heap used right after a full GC (HeapProfiler.collectGarbage) */
  heapAfterGc: number;
  /** RSS 1 s after that GC (V8 may hand back pages it no longer needs) */
  rssAfterGc: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  codeSpace: number;
  /** leader: from being leader (as /api/v1/cluster says) to all N armed, ms */
  armMs?: number;
  newSpace: number;
  oldSpace: number;
  scripts?: number;
  scriptBytes?: number;
  heap?: HeapSummary;
  topScripts?: { url: string; bytes: number }[];
}

interface CaseResult {
  entry: string;
  role: 'follower' | 'leader';
  n: number;
  runs: Measure[];
}

/** A minimal Chrome DevTools Protocol client on the replica's inspector. */
async function inspect(port: number) {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(list[0]!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('inspector: cannot connect'));
  });
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<string, (params: Record<string, unknown>) => void>();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data)) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
      method?: string;
      params?: Record<string, unknown>;
    };
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result);
    } else if (msg.method) listeners.get(msg.method)?.(msg.params ?? {});
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    send,
    on: (method: string, f: (params: Record<string, unknown>) => void) => listeners.set(method, f),
    async evaluate<T>(expression: string): Promise<T> {
      const r = (await send('Runtime.evaluate', { expression, returnByValue: true })) as {
        result: { value: T };
        exceptionDetails?: unknown;
      };
      if (r.exceptionDetails) throw new Error(`inspector: ${JSON.stringify(r.exceptionDetails)}`);
      return r.result.value;
    },
    close: () => ws.close(),
  };
}

async function armed(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/^leasecron_armed_schedules(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? -1);
  } catch {
    return -1;
  }
}

/** leasecron_cache_schedules, or null when the replica has no cache (before issue 14) */
async function cached(port: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const m = /^leasecron_cache_schedules(?:\{[^}]*\})? (\d+)/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function measure(r: Replica, inspectorPort: number, withSnapshot: boolean): Promise<Measure> {
  // RSS first, from /proc, before anything talks to the inspector: three samples, median.
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    samples.push(procRss(r.pid) ?? Number.NaN);
    await sleep(500);
  }
  const rss = summarize(samples).median;
  const cdp = await inspect(inspectorPort);
  try {
    const v = await cdp.evaluate<{
      m: NodeJS.MemoryUsage;
      spaces: { space_name: string; space_used_size: number; space_size: number }[];
    }>(
      `({ m: process.memoryUsage(), spaces: process.getBuiltinModule('node:v8').getHeapSpaceStatistics() })`,
    );
    const space = (name: string) => v.spaces.find((s) => s.space_name === name)?.space_size ?? 0;
    await cdp.send('HeapProfiler.collectGarbage');
    const heapAfterGc = await cdp.evaluate<number>('process.memoryUsage().heapUsed');
    await sleep(1000);
    const rssAfterGc = procRss(r.pid) ?? Number.NaN;
    const out: Measure = {
      rss,
      heapUsed: v.m.heapUsed,
      heapAfterGc,
      rssAfterGc,
      heapTotal: v.m.heapTotal,
      external: v.m.external,
      arrayBuffers: v.m.arrayBuffers,
      codeSpace: space('code_space') + space('code_large_object_space'),
      newSpace: space('new_space'),
      oldSpace: space('old_space'),
    };
    if (!withSnapshot) return out;
    const chunks: string[] = [];
    cdp.on('HeapProfiler.addHeapSnapshotChunk', (p) => chunks.push(p.chunk as string));
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    out.heap = summarizeHeapSnapshot(JSON.parse(chunks.join('')), opts.top);
    // Every script the process has compiled (its modules, Node's own excluded), by source size.
    const scripts: { url: string; length: number }[] = [];
    cdp.on('Debugger.scriptParsed', (p) =>
      scripts.push({ url: p.url as string, length: p.length as number }),
    );
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.disable');
    const own = scripts.filter((s) => s.url.startsWith('file:'));
    out.scripts = own.length;
    out.scriptBytes = own.reduce((a, s) => a + s.length, 0);
    const byPackage = new Map<string, number>();
    for (const s of own) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s.url);
      const key = m ? m[1]! : s.url.replace(`file://${REPO_ROOT}/`, '').split('/')[0]!;
      byPackage.set(key, (byPackage.get(key) ?? 0) + s.length);
    }
    out.topScripts = [...byPackage]
      .sort((a, b) => b[1] - a[1])
      .slice(0, opts.top)
      .map(([url, bytes]) => ({ url, bytes }));
    return out;
  } finally {
    cdp.close();
  }
}

banner('memory', opts);
const startedAt = new Date();
const entries = opts.entries.split(',').filter(Boolean);
if (entries.includes('dist/main.js')) {
  console.log('  building dist/ (npm run build)');
  const b = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (b.status !== 0) throw new Error('npm run build failed');
}
const stack = await benchStack('memory');
const results: CaseResult[] = [];
const snapDir = join(BENCH_DIR, 'results', 'heap');
mkdirSync(snapDir, { recursive: true });
try {
  await ensureNamespace(stack.info, 'leasecron');
  const kc = new KubeConfig();
  kc.loadFromFile(stack.info.kube.kubeconfig);
  await installScheduleCrd(kc);
  const { client } = await connectDb(stack.info, 'memory');
  try {
    for (const n of [...new Set([...opts.sizes, ...(opts.follower ? opts['follower-sizes'] : [])])]) {
      const db = client.db(`memory_${n}`);
      await db.dropDatabase();
      await ensureIndexes(db, { runRetentionDays: 7 });
      const farHour = (new Date().getUTCHours() + 12) % 24;
      const docs = spreadSchedules({
        n,
        periodMs: 86_400_000,
        cronShare: 0.2,
        cronPatterns: 100,
        cronHour: farHour,
        now: new Date(),
        prefix: 'mem',
      });
      if (n > 0) await insertAll(db, docs);
    }
  } finally {
    await client.close();
  }

  let seq = 0;
  const run = async (
    entry: string,
    role: 'follower' | 'leader',
    n: number,
    lease: string,
    withSnapshot: boolean,
  ): Promise<Measure> => {
    const port = await freePort();
    const inspectorPort = await freePort();
    const identity = `mem-${++seq}`;
    let armMs: number | undefined;
    const r = startReplica(
      stack.info,
      { identity, port, logFile: join(stack.dir, `${identity}.log`) },
      {
        entry,
        env: {
          MONGODB_DB: `memory_${n}`,
          LEASE_NAME: lease,
          NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort} ${opts['node-options']}`.trim(),
        },
      },
    );
    try {
      await waitReady(r);
      if (role === 'leader') {
        await waitForLeader([r], { timeoutMs: 30_000 });
        const t0 = Date.now();
        while ((await armed(port)) !== n) {
          if (Date.now() - t0 > 300_000) throw new Error(`${identity}: not ${n} armed after 300 s`);
          await sleep(50);
        }
        armMs = Date.now() - t0;
      } else {
        // A follower: it has seen the Lease held by the other replica.
        const t0 = Date.now();
        for (;;) {
          const v = (await (await fetch(`http://127.0.0.1:${port}/api/v1/cluster`)).json()) as {
            role: string;
          };
          if (v.role === 'follower') break;
          if (v.role === 'leader') throw new Error(`${identity} leads; it should follow`);
          if (Date.now() - t0 > 30_000) throw new Error(`${identity}: no role after 30 s`);
          await sleep(200);
        }
        // and, with a schedule cache, holds all N
        for (;;) {
          const c = await cached(port);
          if (c === null || c >= n) break;
          if (Date.now() - t0 > 300_000) throw new Error(`${identity}: cache holds ${c} of ${n} after 300 s`);
          await sleep(200);
        }
      }
      await sleep(opts.settle * 1000);
      const m = await measure(r, inspectorPort, withSnapshot);
      return armMs === undefined ? m : { ...m, armMs };
    } finally {
      await stopReplica(r, 'SIGTERM');
    }
  };

  for (const entry of entries) {
    for (const n of opts.sizes) {
      const c: CaseResult = { entry, role: 'leader', n, runs: [] };
      for (let i = 0; i < opts.repeat; i++)
        c.runs.push(await run(entry, 'leader', n, `memory-${++seq}-${Date.now()}`, opts.snapshot && i === 0));
      results.push(c);
      console.log(
        `  ${entry} leader ${n} armed: RSS ${c.runs.map((m) => mib(m.rss)).join(', ')} MiB; armed in ${c.runs.map((m) => m.armMs).join(', ')} ms`,
      );
    }
    if (!opts.follower) continue;
    for (const n of opts['follower-sizes']) {
      // Follower: another replica (from src/) holds the Lease of its own, on the same database.
      const holderLease = `memory-holder-${entry.replace(/\W/g, '-')}-${n}`;
      const holderPort = await freePort();
      const holder = startReplica(
        stack.info,
        { identity: `holder-${seq}`, port: holderPort, logFile: join(stack.dir, `holder-${seq}.log`) },
        { entry: 'src/main.ts', env: { MONGODB_DB: `memory_${n}`, LEASE_NAME: holderLease } },
      );
      try {
        await waitReady(holder, 120_000);
        await waitForLeader([holder], { timeoutMs: 30_000 });
        const c: CaseResult = { entry, role: 'follower', n, runs: [] };
        for (let i = 0; i < opts.repeat; i++)
          c.runs.push(await run(entry, 'follower', n, holderLease, opts.snapshot && i === 0));
        results.push(c);
        console.log(`  ${entry} follower ${n}: RSS ${c.runs.map((m) => mib(m.rss)).join(', ')} MiB`);
      } finally {
        await stopReplica(holder, 'SIGTERM');
      }
    }
  }
} finally {
  await stack.stop();
}

const med = (c: CaseResult, k: keyof Measure) => summarize(c.runs.map((m) => m[k] as number)).median;
const rows = results.map((c) => [
  c.entry,
  c.role === 'follower' ? `follower, ${c.n} stored` : `leader, ${c.n} armed`,
  mib(med(c, 'rss')),
  mib(med(c, 'heapUsed')),
  mib(med(c, 'heapAfterGc')),
  mib(med(c, 'rssAfterGc')),
  mib(med(c, 'heapTotal')),
  mib(med(c, 'newSpace')),
  mib(med(c, 'external')),
  mib(med(c, 'arrayBuffers')),
  mib(med(c, 'codeSpace')),
  c.role === 'leader' ? med(c, 'armMs') : null,
  c.runs.map((m) => mib(m.rss)).join(' / '),
  c.runs[0]?.scripts ?? null,
  c.runs[0]?.scriptBytes !== undefined ? mib(c.runs[0].scriptBytes) : null,
]);
const t = table(
  [
    'entry',
    'replica',
    'RSS MiB',
    'heap used',
    'heap after GC',
    'RSS after GC',
    'heap total',
    'of which new space',
    'external',
    'arrayBuffers',
    'code space',
    'armed in ms',
    'RSS runs',
    'scripts',
    'script MiB',
  ],
  rows,
);
console.log(`\n${t}`);
// Bytes per schedule: each case against the same entry and role at 0 schedules.
const perSchedule = results
  .filter((c) => c.n > 0)
  .map((c) => {
    const zero = results.find((z) => z.entry === c.entry && z.role === c.role && z.n === 0);
    if (!zero) return null;
    return {
      entry: c.entry,
      role: c.role,
      n: c.n,
      rssBytes: (med(c, 'rss') - med(zero, 'rss')) / c.n,
      rssAfterGcBytes: (med(c, 'rssAfterGc') - med(zero, 'rssAfterGc')) / c.n,
      heapAfterGcBytes: (med(c, 'heapAfterGc') - med(zero, 'heapAfterGc')) / c.n,
      heapUsedBytes: (med(c, 'heapUsed') - med(zero, 'heapUsed')) / c.n,
    };
  })
  .filter((x) => x !== null);
const tPer = table(
  [
    'entry',
    'replica',
    'RSS B/schedule',
    'RSS after GC B/schedule',
    'heap after GC B/schedule',
    'heap used (no GC) B/schedule',
    'target',
  ],
  perSchedule.map((p) => [
    p.entry,
    `${p.role}, ${p.n}`,
    Math.round(p.rssBytes),
    Math.round(p.rssAfterGcBytes),
    Math.round(p.heapAfterGcBytes),
    Math.round(p.heapUsedBytes),
    `< 2,048: ${p.rssBytes < 2048 && p.heapAfterGcBytes < 2048 ? 'met' : 'MISSED'}`,
  ]),
);
if (perSchedule.length > 0) console.log(`\n${tPer}`);
for (const c of results) {
  const h = c.runs[0]?.heap;
  if (!h) continue;
  const label = `${c.entry} ${c.role === 'follower' ? `follower ${c.n}` : `leader ${c.n}`}`;
  const file = join(snapDir, `${opts.name}-${label.replace(/\W+/g, '-')}.txt`);
  const lines = [
    `${label}: ${h.nodes} reachable heap nodes, ${mib(h.totalSelf)} MiB`,
    `by type: ${h.byType
      .slice(0, 6)
      .map((r) => `${r.name} ${mib(r.self)}`)
      .join(', ')} (MiB)`,
    'by constructor (self / retained MiB, count):',
    ...h.byConstructor.map((r) => `  ${mib(r.self)} / ${mib(r.retained)}  ${r.count}  ${r.name}`),
    'retaining the most (retained MiB: object ← its dominators):',
    ...h.top.map((x) => `  ${mib(x.retained)}  ${x.name} ← ${x.dominators.join(' ← ')}`),
    `source loaded by package (MiB): ${(c.runs[0]?.topScripts ?? []).map((s) => `${s.url} ${mib(s.bytes)}`).join(', ')}`,
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  console.log(`\n${lines.slice(0, 4 + Math.min(8, h.byConstructor.length)).join('\n')}`);
  console.log(lines.slice(3 + h.byConstructor.length, 3 + h.byConstructor.length + 9).join('\n'));
  console.log(lines.at(-1));
}
const file = writeResult(
  {
    name: opts.name,
    parameters: {
      ...opts,
      schedules:
        'every 24h spread over the day, 20% daily crons from 100 patterns at an hour far from now; log action',
    },
    results: { cases: results, perSchedule },
    notes: [
      'per schedule: (median of the case − median of the same entry and role at 0 schedules) ÷ N; heap after GC: HeapProfiler.collectGarbage, then process.memoryUsage().heapUsed',
      'RSS: /proc/<pid>/status VmRSS, median of 3 samples 0.5 s apart, --settle s after ready (follower) or all N armed (leader)',
      'heap/external/arrayBuffers: process.memoryUsage() in the replica through the inspector, right after; code space = code_space + code_large_object_space',
      'heap snapshot (first repetition): HeapProfiler.takeHeapSnapshot, summarised by bench/tools/heap-top.ts; full text in bench/results/heap/',
      'scripts: Debugger.scriptParsed for file: URLs (the modules the process compiled) and their source size',
    ],
    table: perSchedule.length > 0 ? `${t}\n\n${tPer}` : t,
  },
  startedAt,
);
console.log(`wrote ${file}`);
