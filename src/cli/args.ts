// The command line of `leasecron`, parsed without I/O: argv → a command and its options, or a
// UsageError saying what is wrong. Flags go anywhere, as kubectl's do (`get -o yaml NAME`,
// `-n team-a get NAME`); `--flag=value` and `--flag value` both work.

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

export type Command =
  | { kind: 'help'; topic?: string }
  | { kind: 'version' }
  | { kind: 'schedules'; verb: 'list' }
  | { kind: 'schedules'; verb: 'create' | 'apply'; file: string }
  | {
      kind: 'schedules';
      verb: 'get' | 'edit' | 'pause' | 'resume' | 'trigger' | 'delete';
      ref: string;
    }
  | { kind: 'runs'; ref: string; watch: boolean; limit: number }
  | { kind: 'cluster' };

export interface Options {
  server: string;
  token: string | undefined;
  namespace: string;
  allNamespaces: boolean;
  output: OutputFormat;
  /** list filters: `-l k=v` (repeatable, ANDed) */
  labels: string[];
  /** per request, ms */
  timeoutMs: number;
  /** --watch poll interval, ms */
  intervalMs: number;
}

export interface Parsed {
  command: Command;
  options: Options;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
export const DEFAULT_NAMESPACE = 'default';
const DEFAULT_RUNS_LIMIT = 20;

const VALUE_FLAGS: Record<string, string> = {
  '--server': 'server',
  '-s': 'server',
  '--token': 'token',
  '--namespace': 'namespace',
  '-n': 'namespace',
  '--output': 'output',
  '-o': 'output',
  '--filename': 'file',
  '-f': 'file',
  '--selector': 'label',
  '-l': 'label',
  '--limit': 'limit',
  '--request-timeout': 'timeout',
  '--interval': 'interval',
};
const BOOL_FLAGS: Record<string, string> = {
  '--all-namespaces': 'all',
  '-A': 'all',
  '--watch': 'watch',
  '-w': 'watch',
  '--help': 'help',
  '-h': 'help',
};

const VERBS = ['list', 'get', 'create', 'apply', 'edit', 'pause', 'resume', 'trigger', 'delete'] as const;
/** kubectl habits: `ls`, and the resource's short names. */
const VERB_ALIASES: Record<string, (typeof VERBS)[number]> = { ls: 'list' };
const SCHEDULES_NOUNS = ['schedules', 'schedule', 'sc'];

/** Environment variables the command line falls back to. */
export interface CliEnv {
  LEASECRON_SERVER?: string | undefined;
  LEASECRON_TOKEN?: string | undefined;
  LEASECRON_NAMESPACE?: string | undefined;
}

export function parseArgs(argv: readonly string[], env: CliEnv = {}): Parsed {
  const positional: string[] = [];
  const values: Record<string, string[]> = {};
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 && arg.startsWith('--') ? arg.slice(0, eq) : arg;
    const valueFlag = VALUE_FLAGS[name];
    if (valueFlag !== undefined) {
      let value: string | undefined;
      if (eq > 0 && arg.startsWith('--')) value = arg.slice(eq + 1);
      else {
        value = argv[i + 1];
        if (value === undefined) throw new UsageError(`flag ${name} needs a value`);
        i++;
      }
      values[valueFlag] = [...(values[valueFlag] ?? []), value];
      continue;
    }
    const boolFlag = BOOL_FLAGS[name];
    if (boolFlag !== undefined && name === arg) {
      flags.add(boolFlag);
      continue;
    }
    throw new UsageError(`unknown flag ${name}`);
  }

  const last = (key: string) => values[key]?.at(-1);
  const options: Options = {
    server: (last('server') ?? env.LEASECRON_SERVER ?? DEFAULT_SERVER).replace(/\/+$/, ''),
    token: last('token') ?? (env.LEASECRON_TOKEN || undefined),
    namespace: last('namespace') ?? (env.LEASECRON_NAMESPACE || DEFAULT_NAMESPACE),
    allNamespaces: flags.has('all'),
    output: parseOutput(last('output')),
    labels: values.label ?? [],
    timeoutMs: parseSeconds('--request-timeout', last('timeout'), 10) * 1000,
    intervalMs: parseSeconds('--interval', last('interval'), 2) * 1000,
  };
  if (!/^https?:\/\/[^/]/.test(options.server))
    throw new UsageError(`--server must be an http:// or https:// URL, got '${options.server}'`);
  for (const label of options.labels)
    if (label.indexOf('=') <= 0) throw new UsageError(`-l wants key=value, got '${label}'`);

  const [noun, ...rest] = positional;
  if (flags.has('help') || noun === undefined || noun === 'help')
    return { command: { kind: 'help', ...topic(noun === 'help' ? rest[0] : noun) }, options };
  if (noun === 'version') return { command: { kind: 'version' }, options };
  if (noun === 'cluster') {
    noExtra(rest, 'cluster');
    return { command: { kind: 'cluster' }, options };
  }
  if (noun === 'runs') {
    const [ref, ...extra] = rest;
    if (ref === undefined) throw new UsageError('runs needs a schedule name or id: leasecron runs NAME');
    noExtra(extra, 'runs NAME');
    const limit = parseLimit(last('limit'));
    return { command: { kind: 'runs', ref, watch: flags.has('watch'), limit }, options };
  }
  if (!SCHEDULES_NOUNS.includes(noun)) throw new UsageError(`unknown command '${noun}'`);

  const [rawVerb, ...args] = rest;
  if (rawVerb === undefined) throw new UsageError(`schedules needs a verb: ${VERBS.join(', ')}`);
  const verb = VERB_ALIASES[rawVerb] ?? rawVerb;
  switch (verb) {
    case 'list':
      noExtra(args, 'schedules list');
      return { command: { kind: 'schedules', verb }, options };
    case 'create':
    case 'apply': {
      noExtra(args, `schedules ${verb} -f FILE`);
      const file = last('file');
      if (file === undefined)
        throw new UsageError(`schedules ${verb} needs -f FILE (YAML or JSON; - for stdin)`);
      return { command: { kind: 'schedules', verb, file }, options };
    }
    case 'get':
      // `get` without a name lists, as `kubectl get` does.
      if (args.length === 0) return { command: { kind: 'schedules', verb: 'list' }, options };
      return { command: { kind: 'schedules', verb, ref: one(args, verb) }, options };
    case 'edit':
    case 'pause':
    case 'resume':
    case 'trigger':
    case 'delete':
      return { command: { kind: 'schedules', verb, ref: one(args, verb) }, options };
    default:
      throw new UsageError(`unknown verb '${rawVerb}' (verbs: ${VERBS.join(', ')})`);
  }
}

function topic(word: string | undefined): { topic?: string } {
  return word === undefined ? {} : { topic: word };
}

function one(args: string[], verb: string): string {
  if (args.length === 0) throw new UsageError(`schedules ${verb} needs a schedule name or id`);
  if (args.length > 1) throw new UsageError(`schedules ${verb} takes one name or id, got ${args.length}`);
  return args[0]!;
}

function noExtra(args: string[], usage: string): void {
  if (args.length > 0) throw new UsageError(`unexpected argument '${args[0]}' (usage: leasecron ${usage})`);
}

function parseOutput(raw: string | undefined): OutputFormat {
  if (raw === undefined) return 'table';
  if (raw === 'json' || raw === 'yaml' || raw === 'wide') return raw;
  throw new UsageError(`-o must be json, yaml or wide, got '${raw}'`);
}

function parseSeconds(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/s$/, ''));
  if (!(Number.isFinite(n) && n > 0 && n <= 3600))
    throw new UsageError(`${flag} wants seconds (0 < s ≤ 3600), got '${raw}'`);
  return n;
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_RUNS_LIMIT;
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= 500)) throw new UsageError(`--limit must be an integer from 1 to 500, got '${raw}'`);
  return n;
}
