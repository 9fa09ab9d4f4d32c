// `make local-down` then `make local-up` keeps what a user made (issue 16): the same state folder,
// the same ports, etcd's and the database's data. Real processes, through the script the make
// targets run (node scripts/local.ts), in a state folder and on replica ports of this test's own:
// up, create a schedule through the API and a Schedule object through the API server, runs appear;
// down; up again: the schedule, its runs and the object are there, on the same ports, and it fires
// again; reset: the folder is gone, and the next up starts empty.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocatePorts } from '../../stack/ports.ts';
import type { StackPorts } from '../../stack/stack.ts';
import { stack } from '../helpers/clients.ts';
import { ensureDist, localScript } from './local-up.ts';

interface RunItem {
  id: string;
  status: string;
  scheduledFor: string;
  trigger: string;
}

/** What the demo targets print with OUTPUT=json: the API's list, as the CLI got it. */
// biome-ignore lint/suspicious/noExplicitAny: response JSON, read by expectations
const items = (out: string): any[] => JSON.parse(out).items;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('make local-down / local-up keeps schedules, runs and Schedule objects; local-reset wipes them', () => {
  let dir: string;
  let ports: number[];
  let cli: ReturnType<typeof localScript>;
  let running = false;

  const ok = (r: { code: number | null; stdout: string; stderr: string }) => {
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const up = async () => {
    const out = ok(await cli.local('up'));
    running = true;
    expect(out).toMatch(/^local: 3 replicas ready in \d+ ms; leader: leasecron-[0-2]$/m);
    return out;
  };
  const down = async () => {
    const out = ok(await cli.local('down'));
    running = false;
    for (const port of ports) expect(await portFree(port), `port ${port} after down`).toBe(true);
    return out;
  };
  const runsOf = async (id: string): Promise<RunItem[]> =>
    items(ok(await cli.make('runs', { ID: id, OUTPUT: 'json' }))) as RunItem[];
  const scheduleIds = async (): Promise<string[]> =>
    (items(ok(await cli.make('get-schedules', { OUTPUT: 'json' }))) as { id: string }[]).map((s) => s.id);
  const savedPorts = (): StackPorts => JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8'));

  beforeAll(async () => {
    ports = await allocatePorts(3, { consecutive: true });
    dir = join(stack().dir, 'local-keeps-data');
    cli = localScript(dir, ports[0]!);
    await ensureDist();
  }, 120_000);

  afterAll(async () => {
    if (running) await cli.local('down');
    await cli.local('reset');
  }, 60_000);

  it('up, create, down, up: the same data on the same ports, and the schedule fires again; reset wipes it', async () => {
    const first = await up();
    expect(first).toMatch(/^local: new data folder .*local-keeps-data \(\d+ ms\)$/m);
    // one line per step, each with its time
    for (const step of [
      /^local: tools provisioned: .* \(\d+ ms\)$/m,
      /^local: etcd and kube-apiserver ready: Kubernetes v[\d.]+ \(\d+ ms\)$/m,
      /^local: database ready: .* \(\d+ ms\)$/m,
      /^local: namespace leasecron, Schedule CRD and admission policy applied \(\d+ ms\)$/m,
      /^local: leasecron-0\.\.2 started from dist\/main\.js, all ready \(\d+ ms\)$/m,
    ])
      expect(first).toMatch(step);

    const created = ok(await cli.make('create-schedule'));
    const id = /^schedule\/hello-every-5s created \(namespace default, id ([0-9a-f-]{36})\)$/m.exec(
      created,
    )?.[1];
    expect(id, created).toBeDefined();
    if (id === undefined) return;
    expect(ok(await cli.make('apply-schedule'))).toBe(
      'schedule.leasecron.io/hello-every-minute (namespace leasecron) serverside-applied\n',
    );
    await expect
      .poll(async () => (await runsOf(id)).filter((r) => r.status === 'succeeded').length, {
        timeout: 30_000,
        interval: 1000,
      })
      .toBeGreaterThanOrEqual(1);
    const before = await runsOf(id);
    const portsBefore = savedPorts();
    const tokenBefore = readFileSync(join(dir, 'api-token'), 'utf8');

    expect(await down()).toMatch(/^local: stopped 3 replicas and the stack \(data and logs kept in /m);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);

    const second = await up();
    expect(second).toMatch(/^local: data kept in .*local-keeps-data from the last run/m);
    // The same ports, unless another allocator took one while it was free (then the line says so).
    const moved = /ports taken meanwhile, moved: (.*) \(\d+ ms\)$/m.exec(second)?.[1] ?? '';
    for (const [name, port] of Object.entries(portsBefore)) {
      if (!moved.includes(`${name} ${port}`)) expect(savedPorts()[name as keyof StackPorts], name).toBe(port);
    }
    expect(readFileSync(join(dir, 'api-token'), 'utf8')).toBe(tokenBefore);

    expect(await scheduleIds()).toContain(id);
    const after = await runsOf(id);
    expect(after.map((r) => r.id)).toEqual(expect.arrayContaining(before.map((r) => r.id)));
    const lastBefore = Math.max(...before.map((r) => Date.parse(r.scheduledFor)));
    await expect
      .poll(
        async () =>
          (await runsOf(id)).some(
            (r) =>
              r.status === 'succeeded' && Date.parse(r.scheduledFor) > lastBefore && r.trigger === 'schedule',
          ),
        { timeout: 30_000, interval: 1000 },
      )
      .toBe(true);
    expect(ok(await cli.make('get-crs'))).toMatch(/^hello-every-minute +\* \* \* \* \* +false /m);

    const wiped = ok(await cli.local('reset'));
    running = false;
    expect(wiped).toMatch(/^local: stopped 3 replicas and the stack/m);
    expect(wiped).toMatch(/^local: wiped .*local-keeps-data/m);
    expect(existsSync(dir)).toBe(false);
    for (const port of ports) expect(await portFree(port), `port ${port} after reset`).toBe(true);

    const third = await up();
    expect(third).toMatch(/^local: new data folder /m);
    expect(await scheduleIds()).not.toContain(id);
    expect(ok(await cli.make('get-crs'))).not.toContain('hello-every-minute');
    await down();
  }, 240_000);
});
