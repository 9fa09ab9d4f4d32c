// The dashboard and the alert rules query only series that leasecron really exposes: a live
// replica process becomes leader and fires a schedule on time and by hand; its /metrics is
// scraped and every metric name in deploy/monitoring/'s PromQL must be among its samples.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../stack/ports.ts';
import { type Replica, startReplica, stopReplica, waitForLeader, waitReady } from '../../stack/replicas.ts';
import { createNamespace, freshDb, stack, uniqueName } from '../helpers/clients.ts';
import { metricNames, sampleNames } from './promql-names.ts';
import { dashboardExpressions, rules } from './sources.ts';

/** Series Prometheus makes itself for every target; never in a scrape. */
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
const LEASE = { LEASE_DURATION_SECONDS: '3', RENEW_DEADLINE_SECONDS: '2', RETRY_PERIOD_SECONDS: '0.5' };

let client: MongoClient;
let db: Db;
let replica: Replica | undefined;

beforeAll(async () => {
  ({ client, db } = await freshDb('metrics'));
});
afterAll(async () => {
  if (replica) await stopReplica(replica, 'SIGKILL');
  await db.dropDatabase();
  await client.close();
});

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics of a live leader', () => {
  it('exposes every series the dashboard and the alert rules query', { timeout: 120_000 }, async () => {
    const s = stack();
    const namespace = await createNamespace('metrics');
    const logDir = join(s.dir, 'metrics-replica');
    mkdirSync(logDir, { recursive: true });
    replica = startReplica(
      s,
      { identity: 'metrics-0', port: await freePort(), logFile: join(logDir, 'metrics-0.log') },
      {
        entry: 'src/main.ts',
        env: { ...LEASE, POD_NAMESPACE: namespace, MONGODB_DB: db.databaseName, BUILD_REVISION: 'test-rev' },
      },
    );
    await waitReady(replica);
    await waitForLeader([replica], { timeoutMs: 20_000 });
    const base = `http://127.0.0.1:${replica.port}`;

    const create = await fetch(`${base}/api/v1/schedules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: uniqueName('every-second'),
        schedule: { every: '1s' },
        action: { type: 'log' },
      }),
    });
    expect(create.status).toBe(201);
    const { id } = (await create.json()) as { id: string };
    expect((await fetch(`${base}/api/v1/schedules/${id}/trigger`, { method: 'POST' })).status).toBe(202);

    const scrape = async () => (await fetch(`${base}/metrics`)).text();
    let text = '';
    const deadline = Date.now() + 30_000;
    for (;;) {
      text = await scrape();
      const onTime = sample(text, 'leasecron_fires_total', { result: 'succeeded', trigger: 'schedule' }) ?? 0;
      const manual = sample(text, 'leasecron_fires_total', { result: 'succeeded', trigger: 'manual' }) ?? 0;
      // the run's duration and attempts are observed just after its fire is counted; the stream
      // lag and the renew latency once an event or a renew has come: wait for all, not race them
      const ran = sample(text, 'leasecron_run_duration_seconds_count', { action: 'log' }) ?? 0;
      const lag = sample(text, 'leasecron_change_stream_lag_seconds_count') ?? 0;
      const renewed = sample(text, 'leasecron_lease_renew_duration_seconds_count') ?? 0;
      if (onTime >= 2 && manual >= 1 && ran >= 3 && lag >= 1 && renewed >= 1) break;
      if (Date.now() > deadline)
        throw new Error(
          `no on-time and manual fires, run durations, stream lag and renews within 30 s:\n${text}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }

    // the new series carry what they should
    expect(sample(text, 'leasecron_is_leader')).toBe(1);
    const view = (await (await fetch(`${base}/api/v1/cluster`)).json()) as { leaseTransitions: number };
    expect(sample(text, 'leasecron_lease_transitions')).toBe(view.leaseTransitions);
    expect(sample(text, 'leasecron_build_info', { revision: 'test-rev', node: process.version })).toBe(1);
    expect(sample(text, 'leasecron_run_duration_seconds_count', { action: 'log' })).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'leasecron_run_attempts_sum', { action: 'log' })).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'leasecron_lease_renew_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    // present from the start (0), so rate() sees the first failure; on a loaded machine a renew
    // may really fail, so only its presence is asserted
    expect(sample(text, 'leasecron_lease_renew_failures_total', { reason: 'error' })).toBeGreaterThanOrEqual(
      0,
    );
    expect(sample(text, 'leasecron_change_stream_lag_seconds_count')).toBeGreaterThanOrEqual(1);
    expect([0, 1]).toContain(sample(text, 'leasecron_mongodb_up')); // 0 while a ping is late

    const exposed = sampleNames(text);
    const queried = [
      ...dashboardExpressions(),
      ...rules().map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr })),
    ];
    expect(queried.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const { where, expr } of queried)
      for (const name of metricNames(expr))
        if (!SYNTHETIC.has(name) && !exposed.has(name)) missing.push(`${where}: ${name}`);
    expect(missing).toEqual([]);
  });
});
