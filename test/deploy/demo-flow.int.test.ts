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
  id: string;
  status: string;
  leader: string | null;
  scheduledFor: string;
  trigger: string;
}

/** `make -s <target> <vars…>` from the repository root, as a user types it. */
function make(target: string, vars: Record<string, string> = {}): Promise<CommandResult> {
  return run('make', ['-s', target, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)], {
    timeoutMs: 30_000,
  });
}

/**
 * The pretty JSON body scripts/api.mjs prints after its status line. `make leader` may print
 * `local.ts status` lines after it (when a local-up of its own is running), hence the bounds.
 */
// biome-ignore lint/suspicious/noExplicitAny: response JSON, read by expectations
function body(out: string): any {
  const lines = out.split('\n');
  const start = lines.indexOf('{');
  const end = lines.indexOf('}', start + 1);
  if (start < 0 || end < 0) throw new Error(`no JSON object in:\n${out}`);
  return JSON.parse(lines.slice(start, end + 1).join('\n'));
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
    const r = await make('runs', { ID: id, BASE_URL: baseUrl() });
    expect(r.code, r.stderr).toBe(0);
    return body(r.stdout).items as RunItem[];
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

  it('make create-schedule → 201 with an id; make get-schedules shows it', async () => {
    const created = await make('create-schedule', { BASE_URL: baseUrl() });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^POST \/api\/v1\/schedules → 201 Created$/m);
    const schedule = body(created.stdout);
    expect(schedule).toMatchObject({ name: 'hello-every-5s', schedule: { every: '5s' }, version: 1 });
    id = schedule.id;
    expect(id).toEqual(expect.any(String));
    expect(created.stdout).toContain(`Location: /api/v1/schedules/${id}`);
    expect(created.stdout).toContain(`"id": "${id}"`);

    const listed = await make('get-schedules', { BASE_URL: baseUrl() });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^GET \/api\/v1\/schedules → 200 OK$/m);
    const items = body(listed.stdout).items as { id: string; name: string; nextRunAt: string | null }[];
    expect(items.filter((s) => s.id === id)).toEqual([
      expect.objectContaining({ name: 'hello-every-5s', nextRunAt: expect.any(String) }),
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
          return r.code === 0 ? body(r.stdout).leader : `exit ${r.code}: ${r.stderr}`;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(secondLeader);
    const shown = await make('leader', { BASE_URL: baseUrl() });
    expect(shown.stdout).toMatch(/^GET \/api\/v1\/cluster → 200 OK$/m);
    expect(body(shown.stdout)).toMatchObject({
      leader: secondLeader,
      leaseName: 'leasecron-leader',
      namespace: ns,
    });
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

  it('make update-schedule ID=… → 200 (version 2); make delete-schedule ID=… → 204, gone from the list', async () => {
    const updated = await make('update-schedule', { ID: id, BASE_URL: baseUrl() });
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toMatch(new RegExp(`^PUT /api/v1/schedules/${id} → 200 OK$`, 'm'));
    expect(body(updated.stdout)).toMatchObject({ id, version: 2, schedule: { every: '10s' } });

    const deleted = await make('delete-schedule', { ID: id, BASE_URL: baseUrl() });
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toMatch(new RegExp(`^DELETE /api/v1/schedules/${id} → 204 No Content$`, 'm'));

    const listed = await make('get-schedules', { BASE_URL: baseUrl() });
    expect(listed.code, listed.stderr).toBe(0);
    expect((body(listed.stdout).items as { id: string }[]).map((s) => s.id)).not.toContain(id);

    const again = await make('delete-schedule', { ID: id, BASE_URL: baseUrl() });
    expect(again.code).not.toBe(0);
    expect(again.stdout).toContain('→ 404');
  });
});

describe('the demo targets without an API', () => {
  it('fail with a message that says to run make local-up when nothing listens at BASE_URL', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const targets: [string, Record<string, string>][] = [
      ['create-schedule', {}],
      ['get-schedules', {}],
      ['leader', {}],
      ['runs', { ID: 'x' }],
      ['trigger', { ID: 'x' }],
      ['update-schedule', { ID: 'x' }],
      ['delete-schedule', { ID: 'x' }],
    ];
    for (const [target, vars] of targets) {
      const r = await make(target, { ...vars, BASE_URL: closed });
      expect(r.code, target).not.toBe(0);
      expect(r.stderr, target).toContain(`No leasecron API answered at ${closed}`);
      expect(r.stderr, target).toContain('make local-up');
    }
  });

  it('the ID targets print their usage when ID is missing', async () => {
    for (const target of ['update-schedule', 'delete-schedule', 'runs']) {
      const r = await make(target, { BASE_URL: 'http://127.0.0.1:1' });
      expect(r.code, target).not.toBe(0);
      expect(r.stdout, target).toContain(`usage: make ${target} ID=<schedule id>`);
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
