// The demo a new user runs, through the real Makefile targets: create-schedule → get-schedules
// shows it → runs appear → failover → a different leader → runs continue → update → delete.
// `make local-up` listens on the fixed ports 8080-8082 (busy in CI, or taken by a developer's own
// local-up), so the main flow runs the same scripts against three replicas this file starts on
// free ports on the shared test stack, and fails over the way `node scripts/local.ts failover`
// does (SIGTERM the leader, wait for another, restart the old one under the same identity and
// port). A last test runs `node scripts/local.ts up / failover / down` itself, with a state
// folder and ports of its own (LEASECRON_LOCAL_DIR, LEASECRON_LOCAL_PORT): a user's running
// `make local-up` (state in .local/local, ports 8080-8082) is neither seen nor stopped by it.

import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocatePorts, freePort } from '../../stack/ports.ts';
import {
  clusterView,
  type Replica,
  type ReplicaSpec,
  startReplica,
  stopReplica,
  waitForLeader,
  waitReady,
} from '../../stack/replicas.ts';
import { createNamespace, dropDb, stack, uniqueName } from '../helpers/clients.ts';
import { type CommandResult, run } from './commands.ts';
import { ensureDist } from './local-up.ts';

const ENTRY = 'src/main.ts';

interface RunItem {
  status: string;
  leader: string;
  scheduledFor: string;
  trigger: string;
}

const NAME = 'hello-every-5s';

/** `make -s <target> <vars…>` from the repository root, as a user types it. */
function make(target: string, vars: Record<string, string> = {}): Promise<CommandResult> {
  return run('make', ['-s', target, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)], {
    timeoutMs: 30_000,
  });
}

/** The rows of the table the `leasecron` CLI prints (kubectl style: cells 3+ spaces apart). */
function rows(out: string, header: string): Record<string, string>[] {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.startsWith(header));
  if (start < 0) throw new Error(`no table with ${header} in:\n${out}`);
  const names = lines[start]!.trim().split(/ {3,}/);
  const found: Record<string, string>[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!/\S/.test(line) || /^[a-z]+:/.test(line)) break;
    const cells = line.trim().split(/ {3,}/);
    found.push(Object.fromEntries(names.map((n, i) => [n, cells[i] ?? ''])));
  }
  return found;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('the demo flow through the Makefile, against 3 replicas on free ports', () => {
  let ns: string;
  let mongoDb: string;
  let logDir: string;
  let replicas: Replica[] = [];
  const env = () => ({
    POD_NAMESPACE: ns,
    MONGODB_URI: stack().mongo.uri,
    MONGODB_DB: mongoDb,
    LEASE_DURATION_SECONDS: '3',
    RENEW_DEADLINE_SECONDS: '2',
    RETRY_PERIOD_SECONDS: '0.5',
  });
  const start = (spec: ReplicaSpec) => startReplica(stack(), spec, { entry: ENTRY, env: env() });
  // The user's BASE_URL: the first replica, as http://127.0.0.1:8080 is for local-up.
  const baseUrl = () => `http://127.0.0.1:${replicas[0]!.port}`;

  let id: string;
  let firstLeader: string;
  let secondLeader: string;

  const runsOf = async (): Promise<RunItem[]> => {
    const r = await make('runs', { NAME, BASE_URL: baseUrl() });
    expect(r.code, r.stderr).toBe(0);
    return rows(r.stdout, 'SCHEDULED FOR').map((row) => ({
      status: row.STATUS!,
      leader: row.LEADER!,
      scheduledFor: row['SCHEDULED FOR']!,
      trigger: row.TRIGGER!,
    }));
  };

  beforeAll(async () => {
    ns = await createNamespace('lc-demo');
    mongoDb = uniqueName('demo').replace(/-/g, '_');
    logDir = join(stack().dir, ns);
    mkdirSync(logDir, { recursive: true });
    const ports: number[] = [];
    while (ports.length < 3) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    replicas = ports.map((port, i) =>
      start({ identity: `leasecron-${i}`, port, logFile: join(logDir, `leasecron-${i}.log`) }),
    );
    await Promise.all(replicas.map((r) => waitReady(r)));
    firstLeader = (await waitForLeader(replicas, { timeoutMs: 30_000 })).view.identity;
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => stopReplica(r, 'SIGTERM')));
    if (mongoDb) await dropDb(mongoDb);
  });

  it('make create-schedule → created with an id, and the table shows it; make get-schedules too', async () => {
    const created = await make('create-schedule', { BASE_URL: baseUrl() });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const m = /^schedule\/hello-every-5s created \(namespace default, id ([0-9a-f-]{36})\)$/m.exec(
      created.stdout,
    );
    expect(m, created.stdout).not.toBeNull();
    id = m![1]!;
    expect(rows(created.stdout, 'NAME')).toEqual([
      expect.objectContaining({
        NAME,
        SCHEDULE: 'every 5s',
        PAUSED: 'false',
        'NEXT RUN': expect.stringMatching(/^in \d+s$|ago$/),
      }),
    ]);

    const listed = await make('get-schedules', { BASE_URL: baseUrl() });
    expect(listed.code, listed.stderr).toBe(0);
    expect(rows(listed.stdout, 'NAMESPACE').filter((r) => r.NAME === NAME)).toEqual([
      expect.objectContaining({ NAMESPACE: 'default', SCHEDULE: 'every 5s' }),
    ]);
  });

  it('runs appear: make runs shows a succeeded run fired by the leader', async () => {
    expect(id, 'created by the previous test').toBeDefined();
    await expect
      .poll(async () => (await runsOf()).filter((r) => r.status === 'succeeded').length, {
        timeout: 30_000,
        interval: 1000,
      })
      .toBeGreaterThanOrEqual(1);
    const succeeded = (await runsOf()).filter((r) => r.status === 'succeeded');
    expect(succeeded[0]).toMatchObject({ leader: firstLeader, trigger: expect.any(String) });
  });

  it('failover as local.ts does it: SIGTERM the leader, another leads, the old one comes back', async () => {
    const { leader, view } = await waitForLeader(replicas, { timeoutMs: 10_000 });
    expect(view.identity).toBe(firstLeader);
    const t0 = performance.now();
    const stopping = stopReplica(leader, 'SIGTERM');
    const others = replicas.filter((r) => r !== leader);
    const next = await waitForLeader(others, { timeoutMs: 30_000, not: leader.identity, pollMs: 20 });
    const ms = Math.round(performance.now() - t0);
    await stopping;
    secondLeader = next.view.identity;
    expect(secondLeader).not.toBe(firstLeader);
    // A released Lease is taken at once, not after it expires (3 s here).
    expect(ms).toBeLessThan(3000);

    // As a Deployment would: the old pod comes back under the same name, as a follower.
    const restarted = start({ identity: leader.identity, port: leader.port, logFile: leader.logFile });
    replicas = replicas.map((r) => (r === leader ? restarted : r));
    await waitReady(restarted);
    await expect
      .poll(async () => (await clusterView(restarted.port))?.role, { timeout: 15_000 })
      .toBe('follower');

    // make leader names the new holder, whichever replica BASE_URL points at.
    await expect
      .poll(
        async () => {
          const r = await make('leader', { BASE_URL: baseUrl() });
          return r.code === 0 ? rows(r.stdout, 'LEADER')[0]?.LEADER : `exit ${r.code}: ${r.stderr}`;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(secondLeader);
    const shown = await make('leader', { BASE_URL: baseUrl() });
    expect(rows(shown.stdout, 'LEADER')).toEqual([
      expect.objectContaining({ LEADER: secondLeader, LEASE: `${ns}/leasecron-leader` }),
    ]);
  });

  it('runs continue under the new leader, each occurrence claimed once', async () => {
    expect(secondLeader, 'set by the failover test').toBeDefined();
    await expect
      .poll(async () => (await runsOf()).some((r) => r.leader === secondLeader && r.status === 'succeeded'), {
        timeout: 30_000,
        interval: 1000,
      })
      .toBe(true);
    const runs = await runsOf();
    const occurrences = runs.map((r) => r.scheduledFor);
    expect(new Set(occurrences).size).toBe(occurrences.length);
    expect(runs.filter((r) => r.status === 'failed')).toEqual([]);
  });

  it('make update-schedule applies the payload by name (version 2); make delete-schedule NAME=… deletes it', async () => {
    const updated = await make('update-schedule', { BASE_URL: baseUrl() });
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain(`schedule/${NAME} configured (namespace default, id ${id})`);
    expect(rows(updated.stdout, 'NAME')).toEqual([expect.objectContaining({ NAME, SCHEDULE: 'every 10s' })]);
    const shown = await make('get-schedule', { NAME, BASE_URL: baseUrl() });
    expect(shown.stdout).toMatch(new RegExp(`^id: ${id}$`, 'm'));
    expect(shown.stdout).toMatch(/^version: 2$/m);

    const deleted = await make('delete-schedule', { NAME, BASE_URL: baseUrl() });
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe(`schedule/${NAME} deleted\n`);

    const listed = await make('get-schedules', { BASE_URL: baseUrl() });
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(NAME);

    const again = await make('delete-schedule', { ID: id, BASE_URL: baseUrl() });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`error: schedule "${id}" not found`);
    expect(again.stderr).toContain('Error 3'); // the CLI's exit code for not found, as make reports it
  });
});

describe('the demo targets without an API', () => {
  it('fail with a message that says to run make local-up when nothing listens at BASE_URL', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const targets: [string, Record<string, string>][] = [
      ['create-schedule', {}],
      ['get-schedules', {}],
      ['leader', {}],
      ['runs', { NAME: 'x' }],
      ['trigger', { NAME: 'x' }],
      ['update-schedule', {}],
      ['delete-schedule', { ID: 'x' }],
    ];
    for (const [target, vars] of targets) {
      const r = await make(target, { ...vars, BASE_URL: closed });
      expect(r.code, target).not.toBe(0);
      expect(r.stderr, target).toContain(`No leasecron API answered at ${closed}`);
      expect(r.stderr, target).toContain('make local-up');
    }
  });

  it('the targets of one schedule print their usage when neither NAME nor ID is given', async () => {
    for (const target of ['get-schedule', 'delete-schedule', 'runs', 'trigger', 'pause', 'resume']) {
      const r = await make(target, { BASE_URL: 'http://127.0.0.1:1' });
      expect(r.code, target).not.toBe(0);
      expect(r.stdout, target).toContain(`usage: make ${target} NAME=<schedule name>`);
      expect(r.stderr, target).not.toContain('No leasecron API answered');
    }
  });
});

// The real `make local-up` path, minus the Makefile's setup/build prerequisites (which may run
// npm ci): the same script, in its own state folder and on ports of its own.
describe('node scripts/local.ts up / failover / down, in a state folder and on ports of its own', () => {
  let started = false;
  let localPorts: number[] = [];
  let localDir: string;
  const local = (cmd: string) =>
    run(process.execPath, ['scripts/local.ts', cmd], {
      timeoutMs: 90_000,
      env: { LEASECRON_LOCAL_DIR: localDir, LEASECRON_LOCAL_PORT: String(localPorts[0]) },
    });

  beforeAll(async () => {
    localPorts = await allocatePorts(3, { consecutive: true });
    localDir = join(stack().dir, 'local-up');
    await ensureDist();
  }, 120_000);

  afterAll(async () => {
    if (started) await local('down');
  }, 60_000);

  it('up starts 3 replicas and names the leader; failover names a new one; down stops everything', async () => {
    started = true;
    const up = await local('up');
    expect(up.code, `${up.stdout}${up.stderr}`).toBe(0);
    const leaderMatch = /local: 3 replicas ready in \d+ ms; leader: (leasecron-[0-2])$/m.exec(up.stdout);
    expect(leaderMatch, up.stdout).not.toBeNull();
    const leader = leaderMatch![1]!;
    for (const [i, port] of localPorts.entries())
      expect(up.stdout).toMatch(new RegExp(`^ {2}leasecron-${i} {2}http://127\\.0\\.0\\.1:${port} `, 'm'));

    // It installed the Schedule CRD: the Schedule targets reach its API server through the state folder.
    const viaState = (target: string, vars: string[] = []) =>
      run('make', ['--no-print-directory', target, ...vars], {
        env: { LEASECRON_LOCAL_DIR: localDir, KUBECONFIG: join(localDir, 'no-kubeconfig') },
      });
    const applied = await viaState('apply-schedule');
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toBe(
      'schedule.leasecron.io/hello-every-minute (namespace leasecron) serverside-applied\n',
    );
    const listed = await viaState('get-crs');
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toMatch(/^NAME +SCHEDULE +TIMEZONE +PAUSED +LAST +NEXT +READY +AGE\n/);
    expect(listed.stdout).toMatch(/^hello-every-minute +\* \* \* \* \* +false /m);

    const failover = await local('failover');
    expect(failover.code, `${failover.stdout}${failover.stderr}`).toBe(0);
    expect(failover.stdout).toMatch(
      new RegExp(`^local: leader is ${leader} \\(.*\\); sending SIGTERM$`, 'm'),
    );
    const next = /^local: new leader (leasecron-[0-2]) after (\d+) ms/m.exec(failover.stdout);
    expect(next, failover.stdout).not.toBeNull();
    expect(next![1]).not.toBe(leader);
    expect(failover.stdout).toContain(`local: ${leader} restarted as a follower`);

    const down = await local('down');
    started = false;
    expect(down.code, `${down.stdout}${down.stderr}`).toBe(0);
    expect(down.stdout).toMatch(/^local: stopped 3 replicas and the stack/m);
    for (const port of localPorts) expect(await portFree(port), `port ${port} after down`).toBe(true);
  }, 120_000);
});
