// `leasecron`: a kubectl-like client of the REST API. Everything it knows of the server it
// learns over HTTP (it imports nothing of the server's code), so it works against any replica of
// any version that speaks /api/v1. Exit codes are for scripts; see EXIT and docs/cli.md.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load, loadAll } from 'js-yaml';
import { type Command, type Options, type Parsed, parseArgs, UsageError } from './args.ts';
import { ApiError, Client, UnreachableError } from './client.ts';
import {
  type ClusterView,
  clusterTable,
  formatProblem,
  type RunView,
  runHeaders,
  runRow,
  runsTable,
  type ScheduleView,
  schedulesTable,
  table,
} from './format.ts';
import { NotFoundError, pages, resolveSchedule, schedulePath, schedulesPath } from './resolve.ts';

/** Exit codes: stable, documented in docs/cli.md, so scripts can branch on them. */
export const EXIT = {
  ok: 0,
  /** the server refused the request (400, 5xx, …) or something else went wrong */
  error: 1,
  /** bad command line, unreadable or malformed file */
  usage: 2,
  /** no such schedule (404, or no schedule of that name in the namespace) */
  notFound: 3,
  /** 409 (name taken, a conflicting write) or 412 (someone changed it since it was read) */
  conflict: 4,
  /** 401 or 403: no token, a token the server refuses, or no permission */
  denied: 5,
  /** no API answered at --server within --request-timeout */
  unreachable: 6,
} as const;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  now: () => Date;
  env: NodeJS.ProcessEnv;
  /** resolves when the user interrupts (Ctrl-C) a --watch */
  interrupted?: Promise<void>;
  readStdin?: () => string;
}

/** Fields the server sets; a file or an edit may carry them (from `get -o yaml`), PUT refuses them. */
const SERVER_FIELDS = ['id', 'version', 'createdAt', 'updatedAt', 'nextRunAt', 'source'];

export function inputOf(doc: Record<string, unknown>): Record<string, unknown> {
  const out = { ...doc };
  for (const field of SERVER_FIELDS) delete out[field];
  return out;
}

export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(argv, io.env);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}\nRun 'leasecron help' for usage.`);
      return EXIT.usage;
    }
    throw error;
  }
  const client = new Client(parsed.options);
  try {
    return await execute(parsed.command, parsed.options, client, io);
  } catch (error) {
    return report(error, parsed.options, io);
  }
}

function report(error: unknown, options: Options, io: Io): number {
  if (error instanceof UsageError) {
    io.err(`error: ${error.message}`);
    return EXIT.usage;
  }
  if (error instanceof NotFoundError) {
    io.err(`error: ${error.message}`);
    return EXIT.notFound;
  }
  if (error instanceof UnreachableError) {
    io.err(
      `error: No leasecron API answered at ${options.server} (${error.reason}).\n` +
        'Set --server or LEASECRON_SERVER to a replica or the Service (in this repository: make local-up starts three).',
    );
    return EXIT.unreachable;
  }
  if (error instanceof ApiError) {
    io.err(formatProblem(error.status, error.body, error.statusText));
    if (error.status === 401)
      io.err(
        options.token
          ? 'The server refused the token (--token / LEASECRON_TOKEN).'
          : 'The API needs a bearer token: pass --token or set LEASECRON_TOKEN.',
      );
    if (error.status === 404) return EXIT.notFound;
    if (error.status === 409 || error.status === 412) return EXIT.conflict;
    if (error.status === 401 || error.status === 403) return EXIT.denied;
    return EXIT.error;
  }
  io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
  return EXIT.error;
}

function print(io: Io, options: Options, value: unknown, asTable: () => string): void {
  if (options.output === 'json') io.out(JSON.stringify(value, null, 2));
  else if (options.output === 'yaml') io.out(dump(value, { noRefs: true, lineWidth: -1 }).trimEnd());
  else io.out(asTable());
}

async function execute(command: Command, options: Options, client: Client, io: Io): Promise<number> {
  const wide = options.output === 'wide';
  switch (command.kind) {
    case 'help':
      io.out(HELP);
      return EXIT.ok;
    case 'version': {
      io.out(`leasecron CLI ${VERSION}`);
      return EXIT.ok;
    }
    case 'cluster': {
      const { body } = await client.request<ClusterView>('GET', '/api/v1/cluster');
      print(io, options, body, () => clusterTable(body, io.now(), wide));
      return EXIT.ok;
    }
    case 'runs':
      return runs(command, options, client, io);
    case 'schedules':
      break;
  }
  switch (command.verb) {
    case 'list': {
      const path = options.allNamespaces ? '/api/v1/schedules' : schedulesPath(options.namespace);
      const query = new URLSearchParams({ limit: '500' });
      for (const l of options.labels) query.append('label', l);
      const items: ScheduleView[] = [];
      for await (const page of pages(client, path, query)) items.push(...page.items);
      if (options.output === 'json' || options.output === 'yaml') {
        print(io, options, { items }, () => '');
        return EXIT.ok;
      }
      if (items.length === 0) {
        io.err(
          options.allNamespaces
            ? 'No schedules found.'
            : `No schedules found in namespace ${options.namespace}.`,
        );
        return EXIT.ok;
      }
      io.out(schedulesTable(items, io.now(), { wide, namespaces: options.allNamespaces }));
      return EXIT.ok;
    }
    case 'get': {
      const s = await resolveSchedule(client, command.ref, options.namespace);
      print(io, options, s, () => schedulesTable([s], io.now(), { wide }));
      return EXIT.ok;
    }
    case 'create':
    case 'apply':
      return createOrApply(command.verb, command.file, options, client, io);
    case 'edit':
      return edit(command.ref, options, client, io);
    case 'pause':
    case 'resume': {
      const s = await resolveSchedule(client, command.ref, options.namespace);
      const { body } = await client.request<ScheduleView>('POST', `${schedulePath(s.id)}/${command.verb}`);
      if (options.output === 'table') io.out(`schedule/${body.name} ${command.verb}d`);
      else print(io, options, body, () => schedulesTable([body], io.now(), { wide }));
      return EXIT.ok;
    }
    case 'trigger': {
      const s = await resolveSchedule(client, command.ref, options.namespace);
      const { body } = await client.request<RunView>('POST', `${schedulePath(s.id)}/trigger`);
      if (options.output === 'table') io.out(`schedule/${s.name} triggered (run ${body.id}, ${body.status})`);
      else print(io, options, body, () => runsTable([body], io.now(), wide));
      return EXIT.ok;
    }
    case 'delete': {
      const s = await resolveSchedule(client, command.ref, options.namespace);
      // If-Match: the schedule deleted is the one just resolved, not one re-created meanwhile.
      await client.request('DELETE', schedulePath(s.id), { headers: { 'if-match': `"${s.version}"` } });
      io.out(`schedule/${s.name} deleted`);
      return EXIT.ok;
    }
  }
}

async function runs(
  command: Extract<Command, { kind: 'runs' }>,
  options: Options,
  client: Client,
  io: Io,
): Promise<number> {
  const wide = options.output === 'wide';
  const s = await resolveSchedule(client, command.ref, options.namespace);
  const path = `${schedulePath(s.id)}/runs?limit=${command.limit}`;
  const first = (await client.request<{ items: RunView[] }>('GET', path)).body.items;
  if (!command.watch) {
    print(io, options, { items: first }, () => runsTable(first, io.now(), wide));
    if (first.length === 0 && options.output === 'table') io.err(`No runs of schedule ${s.name} yet.`);
    return EXIT.ok;
  }
  // --watch, as kubectl's: the table once (oldest first, so the newest ends at the bottom), then
  // one line per run that appears or changes status, until interrupted.
  const seen = new Map<string, string>();
  const emit = (r: RunView) => {
    const key = `${r.status}/${r.attempts}/${r.finishedAt ?? ''}`;
    if (seen.get(r.id) === key) return;
    seen.set(r.id, key);
    if (options.output === 'json') io.out(JSON.stringify(r));
    else if (options.output === 'yaml') io.out(`---\n${dump(r, { lineWidth: -1 }).trimEnd()}`);
    else io.out(table(runHeaders(wide), [runRow(r, io.now(), wide)]).split('\n')[1]!);
  };
  const ordered = [...first].reverse();
  if (options.output === 'table' || options.output === 'wide') {
    io.out(runsTable(ordered, io.now(), wide));
    for (const r of ordered) seen.set(r.id, `${r.status}/${r.attempts}/${r.finishedAt ?? ''}`);
  } else ordered.forEach(emit);
  let stop = false;
  void io.interrupted?.then(() => {
    stop = true;
  });
  while (!stop) {
    await Promise.race([new Promise((res) => setTimeout(res, options.intervalMs)), io.interrupted]);
    if (stop) break;
    try {
      const page = (await client.request<{ items: RunView[] }>('GET', path)).body.items;
      [...page].reverse().forEach(emit);
    } catch (error) {
      // A watch outlives a failover or a restart: say so and keep polling.
      if (error instanceof UnreachableError || (error instanceof ApiError && error.status >= 500))
        io.err(`warning: ${error.message}; retrying`);
      else throw error;
    }
  }
  return EXIT.ok;
}

function readDocs(file: string, io: Io): Record<string, unknown>[] {
  let text: string;
  try {
    text = file === '-' ? (io.readStdin ?? (() => readFileSync(0, 'utf8')))() : readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let docs: unknown[];
  try {
    // YAML is a superset of JSON, so one parser reads both; `---` separates schedules.
    docs = loadAll(text).filter((d) => d !== null && d !== undefined);
  } catch (error) {
    throw new UsageError(`${file} is neither YAML nor JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (docs.length === 0) throw new UsageError(`${file} holds no schedule`);
  // `get -o yaml` of a list gives { items: [...] }: accept it back, as kubectl does for a List.
  const flat = docs.flatMap((d) =>
    d !== null &&
    typeof d === 'object' &&
    !Array.isArray(d) &&
    Array.isArray((d as { items?: unknown }).items)
      ? (d as { items: unknown[] }).items
      : [d],
  );
  return flat.map((d, i) => {
    if (d === null || typeof d !== 'object' || Array.isArray(d))
      throw new UsageError(`${file}: document ${i + 1} is not an object`);
    return d as Record<string, unknown>;
  });
}

async function createOrApply(
  verb: 'create' | 'apply',
  file: string,
  options: Options,
  client: Client,
  io: Io,
): Promise<number> {
  const docs = readDocs(file, io);
  let code: number = EXIT.ok;
  for (const doc of docs) {
    const body = inputOf(doc);
    const namespace = typeof body.namespace === 'string' ? body.namespace : options.namespace;
    const name = typeof body.name === 'string' ? body.name : undefined;
    try {
      let existing: ScheduleView | undefined;
      if (verb === 'apply') {
        if (name === undefined) throw new UsageError(`${file}: apply needs a name in every schedule`);
        existing = await resolveSchedule(client, name, namespace).catch((error: unknown) => {
          if (error instanceof NotFoundError) return undefined;
          throw error;
        });
      }
      const res = existing
        ? await client.request<ScheduleView>('PUT', schedulePath(existing.id), {
            body,
            headers: { 'if-match': `"${existing.version}"` },
          })
        : await client.request<ScheduleView>('POST', schedulesPath(namespace), { body });
      const s = res.body;
      if (options.output === 'table' || options.output === 'wide')
        io.out(
          `schedule/${s.name} ${existing ? 'configured' : 'created'} (namespace ${s.namespace ?? namespace}, id ${s.id})`,
        );
      else print(io, options, s, () => '');
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && verb === 'create')
        io.err(`(use 'leasecron schedules apply -f ${file}' to replace an existing schedule)`);
      code = Math.max(code, report(error, options, io));
    }
  }
  return code;
}

async function edit(ref: string, options: Options, client: Client, io: Io): Promise<number> {
  const s = await resolveSchedule(client, ref, options.namespace);
  const editor = io.env.LEASECRON_EDITOR || io.env.KUBE_EDITOR || io.env.VISUAL || io.env.EDITOR || 'vi';
  const header = [
    `# Edit schedule ${s.namespace ?? options.namespace}/${s.name} (id ${s.id}, version ${s.version}).`,
    '# Save and quit to replace it (PUT with If-Match); an unchanged or empty file cancels.',
    '# Server fields (id, version, createdAt, updatedAt, nextRunAt) are ignored.',
    '',
  ].join('\n');
  const original = header + dump(inputOf(s as unknown as Record<string, unknown>), { lineWidth: -1 });
  const dir = mkdtempSync(join(tmpdir(), 'leasecron-edit-'));
  const path = join(dir, `${s.name}.yaml`);
  writeFileSync(path, original);
  // The editor command may carry arguments (EDITOR="code --wait"), as kubectl allows.
  const result = spawnSync(`${editor} "${path}"`, { shell: true, stdio: 'inherit' });
  if (result.status !== 0) {
    io.err(`error: the editor (${editor}) exited with ${result.status ?? result.signal}; nothing changed`);
    rmSync(dir, { recursive: true, force: true });
    return EXIT.error;
  }
  const edited = readFileSync(path, 'utf8');
  const withoutComments = edited.replace(/^\s*#.*$/gm, '').trim();
  if (edited === original || withoutComments === '') {
    io.out('Edit cancelled, no changes made.');
    rmSync(dir, { recursive: true, force: true });
    return EXIT.ok;
  }
  let doc: unknown;
  try {
    doc = load(edited);
  } catch (error) {
    io.err(`error: the edited file is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    io.err(`Your changes are kept in ${path}`);
    return EXIT.usage;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    io.err(`error: the edited file is not a schedule object; your changes are kept in ${path}`);
    return EXIT.usage;
  }
  try {
    const { body } = await client.request<ScheduleView>('PUT', schedulePath(s.id), {
      body: inputOf(doc as Record<string, unknown>),
      headers: { 'if-match': `"${s.version}"` },
    });
    io.out(`schedule/${body.name} edited (version ${body.version})`);
    rmSync(dir, { recursive: true, force: true });
    return EXIT.ok;
  } catch (error) {
    const code = report(error, options, io);
    if (error instanceof ApiError && error.status === 412)
      io.err(
        'Someone changed the schedule since it was opened: run edit again to start from its new version.',
      );
    io.err(`Your changes are kept in ${path}`);
    return code;
  }
}

const VERSION = (() => {
  try {
    return (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
})();

export const HELP = `leasecron — a command-line client of the leasecron REST API

Usage:
  leasecron schedules list [-A] [-l key=value]...     list schedules (in -n, or every namespace with -A)
  leasecron schedules get NAME|ID                     one schedule
  leasecron schedules create -f FILE                  create from YAML or JSON (- reads stdin)
  leasecron schedules apply -f FILE                   create, or replace the one of that name
  leasecron schedules edit NAME|ID                    edit in $EDITOR, then PUT with If-Match
  leasecron schedules pause|resume|trigger|delete NAME|ID
  leasecron runs NAME|ID [--watch] [--limit N]        run history, newest first
  leasecron cluster                                   who leads, lease transitions, renew time

Flags:
  -s, --server URL        API base URL (env LEASECRON_SERVER, default http://127.0.0.1:8080)
      --token TOKEN       bearer token (env LEASECRON_TOKEN)
  -n, --namespace NS      where names are looked up and creates go (env LEASECRON_NAMESPACE, default default)
  -A, --all-namespaces    list every namespace you may list
  -o, --output FORMAT     json, yaml or wide (default: a table)
  -w, --watch             runs: keep printing runs as they appear or change
      --interval SECONDS  --watch poll interval (default 2)
      --request-timeout SECONDS  per request (default 10)

Exit codes: 0 ok, 1 error (the server refused, or failed), 2 usage, 3 not found,
4 conflict (409 name taken / 412 changed meanwhile), 5 unauthorized or forbidden, 6 no API answered.`;

/** Run as a program: node src/cli/main.ts …, or the package's `leasecron` bin. */
export async function main(): Promise<void> {
  let interrupt: () => void = () => {};
  const interrupted = new Promise<void>((res) => {
    interrupt = res;
  });
  process.once('SIGINT', () => interrupt());
  process.once('SIGTERM', () => interrupt());
  const code = await runCli(process.argv.slice(2), {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    now: () => new Date(),
    env: process.env,
    interrupted,
  });
  process.exitCode = code;
  // A pending watch timer must not keep the process alive after the answer.
  setImmediate(() => process.exit(code));
}

if (import.meta.main) await main();
