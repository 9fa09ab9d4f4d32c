// Shared by every benchmark: the machine it ran on, percentile summaries, a plain
// text table on stdout and the JSON file under bench/results/. Benchmarks report;
// they never assert a timing (DESIGN: figures are measured here, not in tests).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(BENCH_DIR, '..');

export interface Summary {
  n: number;
  min: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    n: s.length,
    min: s[0] ?? Number.NaN,
    median: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.at(-1) ?? Number.NaN,
    mean: s.length ? sum / s.length : Number.NaN,
  };
}

export interface Machine {
  cpus: number;
  model: string;
  memGiB: number;
  freeMemGiB: number;
  loadavg1m: number;
  node: string;
  platform: string;
  kernel: string;
}

export function machine(): Machine {
  const c = cpus();
  return {
    cpus: c.length,
    model: c[0]?.model.trim() ?? 'unknown',
    memGiB: round(totalmem() / 2 ** 30, 1),
    freeMemGiB: round(freemem() / 2 ** 30, 1),
    loadavg1m: round(loadavg()[0] ?? 0, 2),
    node: process.version,
    platform: process.platform,
    kernel: release(),
  };
}

export function round(x: number, digits = 1): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Formats a number for a table cell: integers as is, small values with 1–2 decimals. */
export function fmt(x: number | string | null | undefined, digits?: number): string {
  if (x === null || x === undefined) return '–';
  if (typeof x === 'string') return x;
  if (!Number.isFinite(x)) return '–';
  const d = digits ?? (Math.abs(x) >= 100 || Number.isInteger(x) ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toFixed(d);
}

export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'string' ? c : fmt(c))));
  // Laid out as Biome formats Markdown tables, so a table pasted into a README stays as is.
  const widths = headers.map((h, i) => Math.max(3, h.length, ...cells.map((r) => (r[i] ?? '').length)));
  // Columns of numbers are right-aligned, text columns left-aligned.
  const numeric = headers.map((_, i) => i > 0 && cells.every((r) => /^[-–+]?[\d.,]*%?$/.test(r[i] ?? '')));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const sep = `| ${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(headers), sep, ...cells.map(line)].join('\n');
}

export interface ResultFile {
  name: string;
  parameters: Record<string, unknown>;
  results: unknown;
  notes?: string[];
  table: string;
}

/** Writes bench/results/<name>.json (machine, Node, date included) and returns its path. */
export function writeResult(r: ResultFile, startedAt: Date): string {
  const file = join(BENCH_DIR, 'results', `${r.name}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const body = {
    name: r.name,
    date: new Date().toISOString(),
    startedAt: startedAt.toISOString(),
    durationS: round((Date.now() - startedAt.getTime()) / 1000, 1),
    machine: machine(),
    parameters: r.parameters,
    results: r.results,
    notes: r.notes ?? [],
    table: r.table,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/** Prints the heading every benchmark starts with. */
export function banner(name: string, parameters: Record<string, unknown>): void {
  const m = machine();
  console.log(
    `# ${name} — ${m.cpus} × ${m.model}, ${m.memGiB} GiB, Node ${m.node}, load ${m.loadavg1m}, ${new Date().toISOString()}`,
  );
  console.log(`# parameters: ${JSON.stringify(parameters)}`);
}

/**
 * `--key=value` / `--key value` flags over defaults; the type of each default decides
 * how its value is parsed (number, boolean, comma-separated number list, string).
 */
export function args<T extends Record<string, number | boolean | string | number[]>>(defaults: T): T {
  const out: Record<string, unknown> = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    const key = eq === -1 ? a.slice(2) : a.slice(2, eq);
    if (!(key in defaults))
      throw new Error(
        `unknown flag --${key}; known: ${Object.keys(defaults)
          .map((k) => `--${k}`)
          .join(' ')}`,
      );
    const d = defaults[key];
    let raw: string;
    if (eq !== -1) raw = a.slice(eq + 1);
    else if (typeof d === 'boolean' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')))
      raw = 'true';
    else raw = argv[++i] ?? '';
    if (typeof d === 'number') out[key] = Number(raw);
    else if (typeof d === 'boolean') out[key] = raw === 'true' || raw === '1';
    else if (Array.isArray(d)) out[key] = raw.split(',').filter(Boolean).map(Number);
    else out[key] = raw;
    if (typeof d === 'number' && Number.isNaN(out[key])) throw new Error(`--${key} needs a number`);
  }
  return out as T;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** High-resolution wall clock in epoch ms (sub-millisecond, unlike Date.now()). */
export const wallNow = () => performance.timeOrigin + performance.now();

export function mib(bytes: number): number {
  return round(bytes / 2 ** 20, 1);
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); null elsewhere. */
export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12] are utime, stime (fields 14 and 15 of stat), in clock ticks
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Resident set size of a process in bytes, from /proc (Linux); null elsewhere. */
export function procRss(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
