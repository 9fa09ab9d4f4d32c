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
//   node bench/memory.ts [--sizes=0,1000,10000] [--entries=src/main.ts,dist/main.js] [--repeat=3]
//                        [--settle=5] [--node-options='--max-semi-space-size=2'] [--snapshot=false] [--follower=false] [--top=12]
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
    const out: Measure = {
      rss,
      heapUsed: v.m.heapUsed,
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
    for (const n of opts.sizes) {
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
          if (Date.now() - t0 > 120_000) throw new Error(`${identity}: not ${n} armed after 120 s`);
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
    // Follower: another replica (from src/) holds the Lease of its own.
    const holderLease = `memory-holder-${entry.replace(/\W/g, '-')}`;
    const holderPort = await freePort();
    const holder = startReplica(
      stack.info,
      { identity: `holder-${seq}`, port: holderPort, logFile: join(stack.dir, `holder-${seq}.log`) },
      { entry: 'src/main.ts', env: { MONGODB_DB: 'memory_0', LEASE_NAME: holderLease } },
    );
    try {
      await waitReady(holder);
      await waitForLeader([holder], { timeoutMs: 30_000 });
      const c: CaseResult = { entry, role: 'follower', n: 0, runs: [] };
      for (let i = 0; i < opts.repeat; i++)
        c.runs.push(await run(entry, 'follower', 0, holderLease, opts.snapshot && i === 0));
      results.push(c);
      console.log(`  ${entry} follower: RSS ${c.runs.map((m) => mib(m.rss)).join(', ')} MiB`);
    } finally {
      await stopReplica(holder, 'SIGTERM');
    }
  }
} finally {
  await stack.stop();
}

const med = (c: CaseResult, k: keyof Measure) => summarize(c.runs.map((m) => m[k] as number)).median;
const rows = results.map((c) => [
  c.entry,
  c.role === 'follower' ? 'follower (idle)' : `leader, ${c.n} armed`,
  mib(med(c, 'rss')),
  mib(med(c, 'heapUsed')),
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
for (const c of results) {
  const h = c.runs[0]?.heap;
  if (!h) continue;
  const label = `${c.entry} ${c.role === 'follower' ? 'follower' : `leader ${c.n}`}`;
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
    results,
    notes: [
      'RSS: /proc/<pid>/status VmRSS, median of 3 samples 0.5 s apart, --settle s after ready (follower) or all N armed (leader)',
      'heap/external/arrayBuffers: process.memoryUsage() in the replica through the inspector, right after; code space = code_space + code_large_object_space',
      'heap snapshot (first repetition): HeapProfiler.takeHeapSnapshot, summarised by bench/tools/heap-top.ts; full text in bench/results/heap/',
      'scripts: Debugger.scriptParsed for file: URLs (the modules the process compiled) and their source size',
    ],
    table: t,
  },
  startedAt,
);
console.log(`wrote ${file}`);
