// DESIGN.md's targets beside the latest figures in bench/results/*.json: one table
// for the closing note of a `make bench` run (written to bench/results/summary.json).
//   node bench/summary.ts [--elapsed=seconds] [--readme]   (--readme: also into bench/README.md)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { args, BENCH_DIR, fmt, machine, table, writeResult } from './lib/report.ts';

const opts = args({ elapsed: 0, readme: false });
// biome-ignore lint/suspicious/noExplicitAny: the result files are read as plain JSON
type Json = any;

function load(name: string): Json | null {
  const file = join(BENCH_DIR, 'results', `${name}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

const rows: string[][] = [];
const add = (figure: string, target: string, measured: string, met: boolean | null) =>
  rows.push([figure, target, measured, met === null ? '–' : met ? 'met' : 'MISSED']);
const ms = (x: number) => `${fmt(x)} ms`;

const failover = load('failover');
if (failover) {
  const p = failover.parameters.shortTimings;
  const s = failover.results.summaries.short;
  const lr = (p.lease + p.retry) * 1000;
  add(
    `graceful failover, SIGTERM → next fire by new leader (${p.lease}/${p.renew}/${p.retry} s)`,
    'p50 < 1 s',
    `p50 ${ms(s.SIGTERM.signalToFirstFireMs.median)}, p90 ${ms(s.SIGTERM.signalToFirstFireMs.p90)}, max ${ms(s.SIGTERM.signalToFirstFireMs.max)} (handover p50 ${ms(s.SIGTERM.handoverMs.median)})`,
    s.SIGTERM.signalToFirstFireMs.median < 1000,
  );
  add(
    `crash failover, SIGKILL → new leader (${p.lease}/${p.renew}/${p.retry} s)`,
    `≤ lease + retry = ${ms(lr)}`,
    `p50 ${ms(s.SIGKILL.handoverMs.median)}, max ${ms(s.SIGKILL.handoverMs.max)}; → first fire max ${ms(s.SIGKILL.signalToFirstFireMs.max)}`,
    s.SIGKILL.handoverMs.max <= lr,
  );
  const d = failover.results.summaries.default;
  if (d?.SIGKILL?.n) {
    add(
      'crash failover, SIGKILL → new leader (defaults 15/10/2 s)',
      '≤ 17,000 ms',
      `p50 ${ms(d.SIGKILL.handoverMs.median)}, max ${ms(d.SIGKILL.handoverMs.max)} (n=${d.SIGKILL.n})`,
      d.SIGKILL.handoverMs.max <= 17_000,
    );
  }
  if (d?.SIGTERM?.n) {
    add(
      'graceful failover, SIGTERM → next fire (defaults 15/10/2 s)',
      'p50 < 1 s',
      `p50 ${ms(d.SIGTERM.signalToFirstFireMs.median)}, max ${ms(d.SIGTERM.signalToFirstFireMs.max)} (n=${d.SIGTERM.n})`,
      d.SIGTERM.signalToFirstFireMs.median < 1000,
    );
  }
  const counts = Object.values(failover.results.counts) as Json[];
  const n = Object.values(failover.results.failovers as Record<string, unknown[]>).reduce(
    (a, f) => a + f.length,
    0,
  );
  const missed = counts.reduce((a, c) => a + c.missed, 0);
  const dups = counts.reduce((a, c) => a + c.duplicateRuns + c.duplicateDeliveries + c.duplicateKeys, 0);
  const occ = counts.reduce((a, c) => a + c.occurrences, 0);
  add(
    `missed / duplicate occurrences over ${n} failovers`,
    '0 / 0',
    `${missed} / ${dups} of ${occ} occurrences`,
    missed === 0 && dups === 0,
  );
}

const propagation = load('propagation');
if (propagation) {
  const r = propagation.results.createToArmed;
  add(
    `create → armed on the leader (${propagation.parameters.background} armed)`,
    'p99 < 100 ms',
    `p50 ${ms(r.median)}, p99 ${ms(r.p99)}, max ${ms(r.max)}`,
    r.p99 < 100,
  );
}

const lateness = load('lateness');
if (lateness) {
  for (const r of lateness.results.engine as Json[]) {
    const target = r.n === 10_000;
    add(
      `fire lateness at ${r.n.toLocaleString('en')} armed, ${lateness.parameters.rate} fires/s: timer / claim-inclusive`,
      target ? 'p99 < 20 ms' : '(context)',
      `timer p99 ${ms(r.timer.p99)}; claim-inclusive p50 ${ms(r.claimInclusive.median)}, p99 ${ms(r.claimInclusive.p99)}; loop delay p99 ${ms(r.eventLoop.p99)}`,
      target ? r.timer.p99 < 20 && r.claimInclusive.p99 < 20 : null,
    );
  }
}

const arming = load('arming');
if (arming) {
  for (const r of arming.results as Json[]) {
    const target = r.n === 100_000;
    const perSchedule = (r.rssAfter - r.rssBefore) / r.n;
    add(
      `arm ${r.n.toLocaleString('en')} schedules on becoming leader`,
      target ? '< 3 s, < 1 KiB RSS per schedule' : '(context)',
      `${fmt(r.armedMs / 1000)} s (snapshot read ${fmt(r.snapshotReadMs / 1000)} s, engine ${fmt(r.engineOnlyMs / 1000)} s); ${Math.round(perSchedule)} B RSS, ${Math.round((r.heapAfter - r.heapBefore) / r.n)} B heap per schedule`,
      target ? r.armedMs < 3000 && perSchedule < 1024 : null,
    );
  }
}

const api = load('api');
if (api) {
  for (const r of api.results as Json[]) {
    const read = String(r.scenario).startsWith('GET /api');
    add(
      `API ${r.scenario}`,
      read ? '> 5,000 req/s' : '(context)',
      `${Math.round(r.reqPerSec)} req/s, p99 ${r.latencyMs.p99} ms (replica ${Math.round(r.replicaCpuPercent)}% cpu, db ${Math.round(r.dbServerCpuPercent)}% cpu)`,
      read ? r.reqPerSec > 5000 : null,
    );
  }
}

// Issue 14: reads from the schedule cache against the design before it (bench/reads.ts).
// reads.json from `node bench/reads.ts`, reads-100k.json from a run with --name=reads-100k --sizes=100000
const readsRuns = ['reads', 'reads-100k'].map(load).filter((r) => r !== null);
if (readsRuns.length > 0) {
  const compared = readsRuns.flatMap((r) => r.results.compared as Json[]);
  for (const route of ['get', 'list', 'list-cursor']) {
    const rs = compared.filter((r) => r.scenario === 'idle' && r.route === route && r.cache);
    if (rs.length === 0) continue;
    const best = rs.reduce((a, r) => (r.cache.reqPerSec > a.cache.reqPerSec ? r : a));
    const target = route === 'get' ? 20_000 : 5_000;
    add(
      `API reads from the cache, ${route === 'get' ? 'GET by id' : route === 'list' ? 'list of 50' : 'list of 50 from a mid cursor'} (best of ${rs.length}: ${best.n.toLocaleString('en')} stored, ${best.connections} connections)`,
      `> ${target.toLocaleString('en')} req/s, db near idle`,
      `${Math.round(best.cache.reqPerSec)} req/s, p99 ${best.cache.latencyMs.p99} ms (replica ${Math.round(best.cache.replicaCpuPercent)}%, db ${Math.round(best.cache.dbCpuPercent)}% cpu); baseline ${best.baseline ? `${Math.round(best.baseline.reqPerSec)} req/s` : '–'}`,
      best.cache.reqPerSec > target && best.cache.dbCpuPercent < 10,
    );
  }
}

const lag = load('cache-lag');
if (lag) {
  const r = lag.results;
  add(
    "cache lag: write sent → applied in another replica's cache",
    'p99 < 50 ms',
    `p50 ${ms(r.sentToApplied.median)}, p99 ${ms(r.sentToApplied.p99)} (of which the write itself p99 ${ms(r.writeMs.p99)}; ack → applied p99 ${ms(r.ackToApplied.p99)})`,
    r.sentToApplied.p99 < 50,
  );
}

const mem = load('memory-100k');
if (mem?.results?.perSchedule) {
  for (const p of mem.results.perSchedule as Json[])
    add(
      `memory per schedule, ${p.role} at ${p.n.toLocaleString('en')} (${p.entry})`,
      '< 2 KiB per replica',
      `${Math.round(p.rssBytes)} B RSS, ${Math.round(p.heapAfterGcBytes)} B heap after GC`,
      p.rssBytes < 2048 && p.heapAfterGcBytes < 2048,
    );
}

const burst = load('burst');
if (burst) {
  // Targets are the batched (default) store's; the per-fire path is shown beside it.
  const rs = burst.results as Json[];
  const get = (n: number, mode: string) => rs.find((r) => r.n === n && r.mode === mode) ?? null;
  const sizes = [...new Set(rs.map((r) => r.n as number))].sort((a, b) => a - b);
  const both = (n: number, f: (r: Json) => string) =>
    ['batched', 'per-fire']
      .map((mode) => [mode, get(n, mode)] as const)
      .filter(([, r]) => r)
      .map(([mode, r]) => `${mode} ${f(r)}`)
      .join('; ');
  const small = sizes.find((n) => n >= 500);
  if (small !== undefined) {
    const b = get(small, 'batched');
    add(
      `burst: ${small.toLocaleString('en')} due in the same second (${(b ?? get(small, 'per-fire')).http} http), delivered lateness at a local sink`,
      'p99 < 500 ms (issue 13: 500 due)',
      both(
        small,
        (r) => `p50 ${ms(r.delivered.median)}, p99 ${ms(r.delivered.p99)}, max ${ms(r.delivered.max)}`,
      ),
      b ? b.delivered.p99 < 500 : null,
    );
  }
  for (const n of sizes.filter((x) => x >= 10_000)) {
    const b = get(n, 'batched');
    add(
      `burst: ${n.toLocaleString('en')} due in the same second, T → all claimed`,
      '≤ 1.5 × one bulk insert of as many; 0 missed, 0 duplicate',
      both(
        n,
        (r) =>
          `${ms(r.lastClaimMs)} = ${fmt(r.lastClaimOverBulk)}× bulk (${ms(r.bulkInsertMs)}), missed ${r.missed}, duplicate ${r.duplicateRuns + r.duplicateDeliveries + r.duplicateKeys}`,
      ),
      b
        ? b.lastClaimOverBulk <= 1.5 &&
            b.missed === 0 &&
            b.duplicateRuns + b.duplicateDeliveries + b.duplicateKeys === 0
        : null,
    );
  }
  for (const n of sizes) {
    const b = get(n, 'batched');
    add(
      `burst: claim throughput at ${n.toLocaleString('en')} due, vs the server's unordered bulk insert`,
      '≥ 80 %',
      both(n, (r) => `${r.claimsPerS}/s = ${r.claimThroughputPctOfBulk}% of ${r.bulkInsertPerS}/s`),
      b ? b.claimThroughputPctOfBulk >= 80 : null,
    );
  }
  const large = sizes.at(-1);
  if (large !== undefined)
    add(
      `burst: ${large.toLocaleString('en')} due, database CPU and leader RSS`,
      '(context)',
      both(
        large,
        (r) => `db ${r.dbCpuS} s cpu (${r.dbCpuPct}%), RSS ${r.rssArmedMiB} → peak ${r.rssPeakMiB} MiB`,
      ),
      null,
    );
}

const m = machine();
const t = table(['figure', 'target', 'measured', ''], rows);
console.log(
  `## DESIGN targets — ${m.cpus} × ${m.model}, ${m.memGiB} GiB, Node ${m.node}, ${new Date().toISOString()}${opts.elapsed ? `; make bench took ${Math.floor(opts.elapsed / 60)} min ${opts.elapsed % 60} s` : ''}\n`,
);
console.log(t);
writeResult(
  { name: 'summary', parameters: { elapsedS: opts.elapsed }, results: rows, table: t },
  new Date(Date.now() - opts.elapsed * 1000),
);

if (opts.readme) {
  const readme = join(BENCH_DIR, 'README.md');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const text = readFileSync(readme, 'utf8');
  const detail = ['failover', 'lateness', 'arming', 'propagation', 'api', 'burst', 'reads', 'cache-lag']
    .map((name) => [name, load(name)] as const)
    .filter(([, r]) => r)
    .map(([name, r]) => `\`node bench/${name}.ts\` (${r.date}, ${r.durationS} s):\n\n${r.table}`);
  const block = [
    start,
    `Targets${opts.elapsed ? ` (\`make bench\` took ${Math.floor(opts.elapsed / 60)} min ${opts.elapsed % 60} s)` : ''}:`,
    '',
    t,
    '',
    ...detail.flatMap((d) => [d, '']),
    end,
  ].join('\n');
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a === -1 || b === -1) throw new Error(`bench/README.md lacks the ${start} … ${end} markers`);
  writeFileSync(readme, text.slice(0, a) + block + text.slice(b + end.length));
  console.log('\nupdated bench/README.md');
}
