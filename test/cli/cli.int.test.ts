// The `leasecron` CLI as a user runs it: bin/leasecron.mjs as a child process, against a replica
// process (with a token, as `make local-up` runs them) on the real stack. Every verb, by name,
// its tables and -o json|yaml, edit through $EDITOR with If-Match, and the exit codes scripts
// branch on.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../stack/ports.ts';
import { type Replica, startReplica, stopReplica, waitForLeader, waitReady } from '../../stack/replicas.ts';
import { REPO_ROOT } from '../../stack/stack.ts';
import { type CommandResult, run } from '../deploy/commands.ts';
import { createNamespace, dropDb, stack, uniqueName } from '../helpers/clients.ts';

const TOKEN = 'cli-test-token-0123456789';
const LEASE = { LEASE_DURATION_SECONDS: '3', RENEW_DEADLINE_SECONDS: '2', RETRY_PERIOD_SECONDS: '0.5' };
const BIN = join(REPO_ROOT, 'bin/leasecron.mjs');

let replica: Replica;
let server: string;
let dir: string;
let mongoDb: string;
let podNamespace: string;
const ns = 'team-cli';
const name = uniqueName('cli-every');

function cli(args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
  return run(process.execPath, [BIN, ...args], {
    timeoutMs: 30_000,
    env: { LEASECRON_SERVER: server, LEASECRON_TOKEN: TOKEN, LEASECRON_NAMESPACE: ns, ...env },
  });
}

function file(base: string, text: string): string {
  const path = join(dir, base);
  writeFileSync(path, text);
  return path;
}

beforeAll(async () => {
  const s = stack();
  podNamespace = await createNamespace('lc-cli');
  mongoDb = uniqueName('cli').replace(/-/g, '_');
  dir = join(s.dir, podNamespace);
  mkdirSync(dir, { recursive: true });
  replica = startReplica(
    s,
    { identity: 'cli-0', port: await freePort(), logFile: join(dir, 'cli-0.log'), apiToken: TOKEN },
    {
      entry: 'src/main.ts',
      env: { ...LEASE, POD_NAMESPACE: podNamespace, MONGODB_DB: mongoDb, AUTH: 'token', API_TOKEN: TOKEN },
    },
  );
  server = `http://127.0.0.1:${replica.port}`;
  await waitReady(replica);
  await waitForLeader([replica], { timeoutMs: 30_000 });
});

afterAll(async () => {
  if (replica) await stopReplica(replica, 'SIGTERM');
  if (mongoDb) await dropDb(mongoDb);
});

describe('leasecron against a live replica', () => {
  let id: string;

  it('cluster: a table naming the leader', async () => {
    const r = await cli(['cluster']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^LEADER +TRANSITIONS +RENEWED +REPLICA +ROLE\n/);
    expect(r.stdout).toMatch(/^cli-0 +\d+ +\S+ ago +cli-0 +leader$/m);
  });

  it('schedules create -f a YAML file, then list and get by name show it', async () => {
    const yaml = file(
      'every.yaml',
      `name: ${name}\nschedule:\n  every: 1s\naction:\n  type: log\nlabels:\n  team: cli\n`,
    );
    const created = await cli(['schedules', 'create', '-f', yaml]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const m = new RegExp(`^schedule/${name} created \\(namespace ${ns}, id ([0-9a-f-]{36})\\)$`).exec(
      created.stdout.trim(),
    );
    expect(m, created.stdout).not.toBeNull();
    id = m![1]!;

    const listed = await cli(['schedules', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^NAME +SCHEDULE +TIMEZONE +PAUSED +NEXT RUN +AGE\n/);
    expect(listed.stdout).toMatch(
      new RegExp(`^${name} +every 1s +<none> +false +(in \\d+s|\\d+s ago) +\\d+s$`, 'm'),
    );

    const wide = await cli(['schedules', 'list', '-o', 'wide', '-l', 'team=cli']);
    expect(wide.stdout).toMatch(new RegExp(`^${name} .* ${id} +log +forbid +1 +team=cli$`, 'm'));
    const otherLabel = await cli(['schedules', 'list', '-l', 'team=other']);
    expect(otherLabel).toMatchObject({ code: 0, stdout: '' });
    expect(otherLabel.stderr).toContain(`No schedules found in namespace ${ns}`);

    const all = await cli(['schedules', 'list', '-A']);
    expect(all.stdout).toMatch(new RegExp(`^${ns} +${name} +every 1s `, 'm'));

    const json = await cli(['schedules', 'get', name, '-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ id, name, namespace: ns, version: 1 });
    const yamlOut = await cli(['schedules', 'get', id, '-o', 'yaml']);
    expect(load(yamlOut.stdout)).toMatchObject({ id, name, schedule: { every: '1s' } });
  });

  it('runs NAME: a table of runs; --watch prints new runs until interrupted', async () => {
    await expect
      .poll(async () => (await cli(['runs', name])).stdout, { timeout: 30_000, interval: 1000 })
      .toMatch(/ succeeded +schedule +cli-0 +\d+ +\d+ms +1 +\d+s$/m);
    const r = await cli(['runs', name]);
    expect(r.stdout).toMatch(/^SCHEDULED FOR +STATUS +TRIGGER +LEADER +EPOCH +LATENESS +ATTEMPTS +AGE\n/);

    // --watch: started as a user would, stopped with Ctrl-C (SIGINT) after runs have streamed in.
    const { spawn } = await import('node:child_process');
    const child = spawn(
      process.execPath,
      [BIN, 'runs', name, '--watch', '--interval', '0.5', '--limit', '1'],
      {
        env: { ...process.env, LEASECRON_SERVER: server, LEASECRON_TOKEN: TOKEN, LEASECRON_NAMESPACE: ns },
      },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    const exited = new Promise<number | null>((res) => child.on('close', res));
    await expect
      .poll(() => out.split('\n').filter((l) => l.includes(' succeeded ')).length, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(3);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^SCHEDULED FOR +STATUS/);
    // one header only; each later line is a run, oldest first
    expect(lines.slice(1).every((l) => /^\d{4}-\d\d-\d\dT/.test(l))).toBe(true);
  });

  it('pause, resume and trigger by name', async () => {
    expect((await cli(['schedules', 'pause', name])).stdout.trim()).toBe(`schedule/${name} paused`);
    expect(JSON.parse((await cli(['schedules', 'get', name, '-o', 'json'])).stdout)).toMatchObject({
      paused: true,
      nextRunAt: null,
    });
    const triggered = await cli(['schedules', 'trigger', name]);
    expect(triggered.code, triggered.stderr).toBe(0);
    expect(triggered.stdout).toMatch(
      new RegExp(`^schedule/${name} triggered \\(run [0-9a-f-]{36}, pending\\)$`, 'm'),
    );
    await expect
      .poll(async () => (await cli(['runs', name])).stdout, { timeout: 20_000 })
      .toMatch(/ succeeded +manual /);
    expect((await cli(['schedules', 'resume', name])).stdout.trim()).toBe(`schedule/${name} resumed`);
  });

  it('apply -f replaces by name; create of a taken name exits 4 with a hint', async () => {
    const yaml = file('every-2s.yaml', `name: ${name}\nschedule: { every: 2s }\naction: { type: log }\n`);
    const applied = await cli(['schedules', 'apply', '-f', yaml]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.trim()).toBe(`schedule/${name} configured (namespace ${ns}, id ${id})`);
    expect(JSON.parse((await cli(['schedules', 'get', name, '-o', 'json'])).stdout)).toMatchObject({
      schedule: { every: '2s' },
      version: 4, // create, pause, resume, apply
    });

    const again = await cli(['schedules', 'create', '-f', yaml]);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('(409 Conflict)');
    expect(again.stderr).toContain(`leasecron schedules apply -f ${yaml}`);

    // apply of a new name creates it (from stdin)
    const other = uniqueName('cli-applied');
    const viaStdin = await run(process.execPath, [BIN, 'schedules', 'apply', '-f', '-'], {
      input: JSON.stringify({ name: other, schedule: { cron: '0 0 1 1 *' }, action: { type: 'log' } }),
      env: { LEASECRON_SERVER: server, LEASECRON_TOKEN: TOKEN, LEASECRON_NAMESPACE: ns },
    });
    expect(viaStdin.code, viaStdin.stderr).toBe(0);
    expect(viaStdin.stdout).toMatch(new RegExp(`^schedule/${other} created `));
    expect((await cli(['schedules', 'delete', other])).code).toBe(0);
  });

  it('edit: $EDITOR changes the YAML, the CLI PUTs it with If-Match; a bad edit lists the field errors', async () => {
    const edited = await cli(['schedules', 'edit', name], { EDITOR: "sed -i 's/every: 2s/every: 3s/'" });
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.stdout.trim()).toBe(`schedule/${name} edited (version 5)`);

    const unchanged = await cli(['schedules', 'edit', name], { EDITOR: 'true' });
    expect(unchanged).toMatchObject({ code: 0, stdout: 'Edit cancelled, no changes made.\n' });

    const bad = await cli(['schedules', 'edit', name], {
      EDITOR: "sed -i -e 's/every: 3s/every: 3 parsecs/' -e 's/type: log/type: telegram/'",
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: the schedule is not valid: .* \(400 Bad Request\)$/m);
    expect(bad.stderr).toMatch(/^ {2}schedule\.every: /m);
    expect(bad.stderr).toMatch(/^ {2}action(\.type)?: /m);
    expect(bad.stderr).toMatch(/^Your changes are kept in \S+\.yaml$/m);
  });

  it('exit codes: 3 not found, 2 usage, 5 no token, 6 no API', async () => {
    const missing = await cli(['schedules', 'get', 'no-such-schedule']);
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim()).toBe(`error: schedule "no-such-schedule" not found in namespace ${ns}`);
    expect((await cli(['runs', 'no-such-schedule'])).code).toBe(3);

    expect((await cli(['schedules', 'frobnicate', name])).code).toBe(2);
    expect((await cli(['schedules', 'create'])).stderr).toContain('needs -f FILE');

    const noToken = await cli(['schedules', 'list'], { LEASECRON_TOKEN: '' });
    expect(noToken.code).toBe(5);
    expect(noToken.stderr).toContain('(401 Unauthorized)');
    expect(noToken.stderr).toContain('pass --token or set LEASECRON_TOKEN');

    const closed = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await cli(['cluster', '--server', closed]);
    expect(unreachable.code).toBe(6);
    expect(unreachable.stderr).toContain(`No leasecron API answered at ${closed}`);
  });

  it('delete by name: gone, and a second delete exits 3', async () => {
    const deleted = await cli(['schedules', 'delete', name]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout.trim()).toBe(`schedule/${name} deleted`);
    expect((await cli(['schedules', 'get', id])).code).toBe(3);
    expect((await cli(['schedules', 'delete', name])).code).toBe(3);
  });
});
