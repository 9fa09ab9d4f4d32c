// Issue 10: a leader that cannot use MongoDB must hand over. Three replica processes, each with its
// own TCP proxy in front of the shared MongoDB, an http schedule every second delivering to a sink
// in this process that counts deliveries by X-Leasecron-Scheduled-For. Before the fix, the leader
// whose MongoDB route broke kept renewing the Lease forever: nothing fired while the followers,
// which reach MongoDB, waited. Now it stops firing and releases the Lease once it has been unable to
// reach MongoDB for about its renew deadline, and does not campaign again while it cannot.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Db, MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Elector } from '../../src/election/elector.ts';
import { freePort } from '../../stack/ports.ts';
import {
  clusterView,
  type Replica,
  startReplica,
  stopReplica,
  waitForLeader,
  waitReady,
} from '../../stack/replicas.ts';
import { adminKubeConfig, createNamespace, freshDb, stack, uniqueName } from '../helpers/clients.ts';
import { leaseClient, waitFor } from './helpers.ts';
import { type PartitionProxy, startPartitionProxy } from './partition-proxy.ts';

const LEASE = { LEASE_DURATION_SECONDS: '3', RENEW_DEADLINE_SECONDS: '2', RETRY_PERIOD_SECONDS: '0.5' };
/** The target: another replica leads within lease duration + 5 s of the cut. */
const HANDOVER_LIMIT_MS = 3_000 + 5_000;
/** LEASE_NAME's default, the Lease the replicas compete for. */
const LEASE_NAME = 'leasecron-leader';

let client: MongoClient;
let db: Db;
let sink: Server;
let sinkUrl: string;
const received: { key: string; scheduledFor: string; at: number }[] = [];
let replicas: Replica[] = [];
let proxies: PartitionProxy[] = [];

beforeAll(async () => {
  ({ client, db } = await freshDb('cutoff'));
  sink = createServer((req, res) => {
    received.push({
      key: String(req.headers['idempotency-key']),
      scheduledFor: String(req.headers['x-leasecron-scheduled-for']),
      at: Date.now(),
    });
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
});

afterEach(async () => {
  await Promise.all(replicas.map((r) => stopReplica(r, 'SIGKILL')));
  replicas = [];
  await Promise.all(proxies.map((p) => p.close()));
  proxies = [];
});

afterAll(async () => {
  sink.close();
  await db.dropDatabase();
  await client.close();
});

/** The shared MongoDB's URI with its host:port replaced by the proxy's (directConnection keeps it there). */
function viaProxy(proxy: PartitionProxy): string {
  const uri = new URL(stack().mongo.uri);
  uri.host = proxy.hostPort;
  return uri.toString();
}

async function spawnReplica(
  name: string,
  namespace: string,
  extra: Record<string, string> = {},
): Promise<Replica> {
  const s = stack();
  const logDir = join(s.dir, 'cutoff-replicas');
  mkdirSync(logDir, { recursive: true });
  const spec = { identity: name, port: await freePort(), logFile: join(logDir, `${namespace}-${name}.log`) };
  const env = {
    ...LEASE,
    POD_NAMESPACE: namespace,
    MONGODB_DB: db.databaseName,
    LOG_LEVEL: 'info',
    ...extra,
  };
  const r = startReplica(s, spec, { entry: 'src/main.ts', env });
  replicas.push(r);
  return r;
}

async function createEverySecond(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/schedules`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: uniqueName('every-second'),
      schedule: { every: '1s' },
      action: { type: 'http', url: sinkUrl, method: 'POST', timeoutMs: 2000 },
      concurrency: 'allow',
      misfire: { policy: 'fireAll', graceSeconds: 300 },
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function waitDeliveries(n: number, after = Date.now()): Promise<void> {
  await waitFor(`${n} deliveries`, () => received.filter((r) => r.at > after).length >= n, 20_000, 50);
}

function duplicates(): { occurrences: number; keys: number } {
  const occ = received.map((r) => r.scheduledFor);
  const keys = received.map((r) => r.key);
  return { occurrences: occ.length - new Set(occ).size, keys: keys.length - new Set(keys).size };
}

describe('a leader cut off from MongoDB', () => {
  it('hands over within lease duration + 5 s, blackholed and refused, with no occurrence delivered twice', {
    timeout: 150_000,
  }, async () => {
    const namespace = await createNamespace('cutoff');
    for (let i = 0; i < 3; i++)
      proxies.push(await startPartitionProxy(`mongodb://${new URL(stack().mongo.uri).host}`));
    for (let i = 0; i < 3; i++) {
      await spawnReplica(`replica-${i}`, namespace, { MONGODB_URI: viaProxy(proxies[i]!) });
    }
    await Promise.all(replicas.map((r) => waitReady(r)));
    await waitForLeader(replicas, { timeoutMs: 20_000 });
    await createEverySecond(replicas[0]!.port);
    await waitDeliveries(2);

    const handovers: { mode: string; from: string; to: string; ms: number }[] = [];
    for (const mode of ['blackhole', 'refused'] as const) {
      const { leader } = await waitForLeader(replicas, { timeoutMs: 20_000 });
      const proxy = proxies[replicas.indexOf(leader)]!;
      const t0 = performance.now();
      if (mode === 'blackhole') proxy.cut();
      else await proxy.refuse();
      const next = await waitForLeader(
        replicas.filter((r) => r !== leader),
        { timeoutMs: HANDOVER_LIMIT_MS + 2_000, not: leader.identity, pollMs: 20 },
      );
      const ms = Math.round(performance.now() - t0);
      handovers.push({ mode, from: leader.identity, to: next.view.identity, ms });
      // The cut-off one stopped leading (it released: the new leader did not wait for expiry).
      expect((await clusterView(leader.port))?.role).not.toBe('leader');
      const handedOverAt = Date.now();
      await waitDeliveries(3, handedOverAt);
      // Healed, it is a healthy follower again, as after a network blip.
      await proxy.heal();
      expect(ms).toBeLessThan(HANDOVER_LIMIT_MS);
    }
    await waitDeliveries(2);
    for (const h of handovers) console.log(`[cut-off] ${h.mode.padEnd(9)} ${h.from} → ${h.to}: ${h.ms} ms`);

    await Promise.all(replicas.map((r) => stopReplica(r, 'SIGTERM')));
    const dup = duplicates();
    console.log(`[cut-off] ${received.length} deliveries, duplicate occurrences ${dup.occurrences}`);
    expect(dup).toEqual({ occurrences: 0, keys: 0 });
  });

  it('a replica whose MongoDB broke just before it won hands over, and does not take the Lease back', {
    timeout: 120_000,
  }, async () => {
    received.length = 0;
    const namespace = await createNamespace('cutoff-start');
    // Someone else holds the Lease while replica-0 gets ready, so it cannot win before its cut.
    const placeholder = new Elector({
      client: leaseClient(adminKubeConfig(), namespace, LEASE_NAME),
      identity: 'placeholder',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 500,
    });
    placeholder.start();
    await waitFor('the placeholder to lead', () => placeholder.isLeader);

    proxies.push(await startPartitionProxy(`mongodb://${new URL(stack().mongo.uri).host}`));
    const cutOff = await spawnReplica('replica-0', namespace, { MONGODB_URI: viaProxy(proxies[0]!) });
    await waitReady(cutOff);
    proxies[0]!.cut();
    const cutAt = performance.now();
    await placeholder.release();
    // Alone, and its ping still fresh, it may take the free Lease; its engine cannot start.
    let ledAt: number | undefined;
    await waitFor(
      'replica-0 to lead or to stay out',
      async () => {
        if ((await clusterView(cutOff.port))?.role === 'leader') ledAt = performance.now();
        return ledAt !== undefined || performance.now() - cutAt > 3_000;
      },
      10_000,
      20,
    );

    const healthy = [await spawnReplica('replica-1', namespace), await spawnReplica('replica-2', namespace)];
    await Promise.all(healthy.map((r) => waitReady(r)));
    const readyAt = performance.now();
    const next = await waitForLeader(healthy, { timeoutMs: HANDOVER_LIMIT_MS + 2_000, pollMs: 20 });
    const ms = Math.round(performance.now() - readyAt);
    console.log(
      `[cut-off] before winning: replica-0 ${ledAt === undefined ? 'never led' : `led ${Math.round(ledAt - cutAt)} ms after the cut`}; ` +
        `${next.view.identity} leads ${ms} ms after the healthy replicas were ready ` +
        `(${Math.round(performance.now() - cutAt)} ms after the cut)`,
    );
    expect(ms).toBeLessThan(HANDOVER_LIMIT_MS);
    await createEverySecond(healthy[0]!.port);
    await waitDeliveries(3);
    // Still cut off, it never took the Lease back.
    expect((await clusterView(cutOff.port))?.role).not.toBe('leader');
    const lease = await adminKubeConfig()
      .makeApiClient(k8s.CoordinationV1Api)
      .readNamespacedLease({ name: LEASE_NAME, namespace });
    expect(lease.spec?.holderIdentity).toBe(next.view.identity);
    await Promise.all(replicas.map((r) => stopReplica(r, 'SIGTERM')));
    expect(duplicates()).toEqual({ occurrences: 0, keys: 0 });
    await placeholder.stop();
  });
});
