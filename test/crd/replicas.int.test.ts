// Schedule objects with real replica processes (src/main.ts): the leader's controller stores
// them, its engine fires them, its Job tracker follows their Jobs; a SIGKILL of the leader while
// an object is being edited loses no change and fires no occurrence twice.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduleObject } from '../../src/crd/schedule-object.ts';
import { freePort } from '../../stack/ports.ts';
import { type Replica, startReplica, stopReplica, waitForLeader, waitReady } from '../../stack/replicas.ts';
import { adminKubeConfig, createNamespace, freshDb, stack } from '../helpers/clients.ts';
import { installScheduleCrd } from '../helpers/crd.ts';
import { completeJob } from '../helpers/job-controller.ts';
import { type Probe, until as poll } from '../helpers/until.ts';

const LEASE = { LEASE_DURATION_SECONDS: '3', RENEW_DEADLINE_SECONDS: '2', RETRY_PERIOD_SECONDS: '0.5' };
const G = { group: 'leasecron.io', version: 'v1alpha1', plural: 'schedules' } as const;

let client: MongoClient;
let db: Db;
let sink: Server;
let sinkUrl: string;
let ns: string;
let custom: k8s.CustomObjectsApi;
const received: { path: string; key: string; scheduledFor: string }[] = [];
const replicas: Replica[] = [];

/** Waits as test/helpers/until.ts does, for up to 30 s; a probe that throws is "not yet". */
const until = <T>(what: string, probe: Probe<T>) =>
  poll(what, probe, { timeoutMs: 30_000, everyMs: 100, retryErrors: true });
const read = async (name: string) =>
  (await custom.getNamespacedCustomObject({ ...G, namespace: ns, name })) as ScheduleObject;
const ready = (o: ScheduleObject) => o.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

beforeAll(async () => {
  await installScheduleCrd();
  ({ client, db } = await freshDb('crdrep'));
  custom = adminKubeConfig().makeApiClient(k8s.CustomObjectsApi);
  ns = await createNamespace('crdrep');
  sink = createServer((req, res) => {
    received.push({
      path: req.url ?? '',
      key: String(req.headers['idempotency-key']),
      scheduledFor: String(req.headers['x-leasecron-scheduled-for']),
    });
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const s = stack();
  const logDir = join(s.dir, 'crd-replicas');
  mkdirSync(logDir, { recursive: true });
  const env = { ...LEASE, POD_NAMESPACE: ns, MONGODB_DB: db.databaseName, LOG_LEVEL: 'info' };
  for (let i = 0; i < 2; i++) {
    const spec = { identity: `crd-${i}`, port: await freePort(), logFile: join(logDir, `crd-${i}.log`) };
    replicas.push(startReplica(s, spec, { entry: 'src/main.ts', env }));
  }
  await Promise.all(replicas.map((r) => waitReady(r)));
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => stopReplica(r, 'SIGKILL')));
  sink?.close();
  await db?.dropDatabase();
  await client?.close();
});

describe('Schedule objects on replica processes', () => {
  it('an edit made while the leader is killed is applied by the next one; no occurrence twice', {
    timeout: 120_000,
  }, async () => {
    const { leader } = await waitForLeader(replicas, { timeoutMs: 20_000 });
    const spec = (path: string) => ({
      schedule: '@every 1s',
      concurrencyPolicy: 'Allow',
      misfirePolicy: 'FireAll',
      http: { url: `${sinkUrl}/${path}` },
    });
    await custom.createNamespacedCustomObject({
      ...G,
      namespace: ns,
      body: {
        apiVersion: 'leasecron.io/v1alpha1',
        kind: 'Schedule',
        metadata: { name: 'hook' },
        spec: spec('v1'),
      },
    });
    await until('deliveries of v1', async () => received.filter((r) => r.path === '/v1').length >= 3);
    const first = await until('Ready with a last run', async () => {
      const o = await read('hook');
      return ready(o) && o.status?.lastRun ? o : null;
    });

    await stopReplica(leader, 'SIGKILL');
    const current = await read('hook');
    await custom.replaceNamespacedCustomObject({
      ...G,
      namespace: ns,
      name: 'hook',
      body: { ...current, spec: spec('v2') },
    });
    await waitForLeader(replicas, { timeoutMs: 20_000, not: leader.identity });
    await until('deliveries of v2', async () => received.filter((r) => r.path === '/v2').length >= 3);
    const edited = await until('observedGeneration 2', async () => {
      const o = await read('hook');
      return o.status?.observedGeneration === 2 && ready(o) ? o : null;
    });
    expect(edited.status?.scheduleId).toBe(first.status?.scheduleId);

    // Exactly once across the kill: no idempotency key and no occurrence delivered twice.
    const keys = received.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    const occurrences = received.map((r) => r.scheduledFor);
    expect(new Set(occurrences).size).toBe(occurrences.length);

    await custom.deleteNamespacedCustomObject({ ...G, namespace: ns, name: 'hook' });
    await until('the object to go', async () => {
      try {
        await read('hook');
        return false;
      } catch (err) {
        return err instanceof k8s.ApiException && err.code === 404;
      }
    });
    await sleep(500);
    const after = received.length;
    await sleep(2500);
    expect(received.length).toBe(after);
  });

  it('a jobTemplate object creates Jobs, counts the active one and records its completion', {
    timeout: 60_000,
  }, async () => {
    await waitForLeader(replicas, { timeoutMs: 20_000 });
    const batch = adminKubeConfig().makeApiClient(k8s.BatchV1Api);
    await custom.createNamespacedCustomObject({
      ...G,
      namespace: ns,
      body: {
        apiVersion: 'leasecron.io/v1alpha1',
        kind: 'Schedule',
        metadata: { name: 'job' },
        spec: {
          schedule: '@every 1s',
          jobTemplate: {
            spec: {
              template: {
                spec: {
                  restartPolicy: 'Never',
                  containers: [{ name: 'main', image: 'busybox:1.36', command: ['true'] }],
                },
              },
            },
          },
        },
      },
    });
    const jobs = async () =>
      (await batch.listNamespacedJob({ namespace: ns, labelSelector: 'leasecron.io/schedule-id' })).items;
    const [job] = await until('a Job', async () => ((await jobs()).length > 0 ? await jobs() : null));
    // Forbid records the next occurrences `skipped`, so lastRun soon names one of those: what
    // holds while the Job runs is active=1 and the Job's own run still `running`.
    const running = await until('status active=1', async () => {
      const o = await read('job');
      return o.status?.active === 1 && o.status.lastRun ? o : null;
    });
    const runId = job!.metadata?.annotations?.['leasecron.io/run-id'];
    // running (a leader change on a loaded machine may leave it `unknown` until the next
    // leader's tracker finds its Job and adopts it back)
    await until(
      'the Job’s own run running',
      async () => (await db.collection('runs').findOne({ _id: runId as never }))?.status === 'running',
    );
    expect(running.status?.runs).toBeGreaterThanOrEqual(1);
    // concurrencyPolicy Forbid (the default): no second Job while the first is active
    await sleep(2500);
    expect(await jobs()).toHaveLength(1);

    await completeJob(batch, ns, job!.metadata!.name!);
    const done = await until('the run succeeded', async () => {
      const r = await db.collection('runs').findOne({ _id: runId as never });
      return r?.status === 'succeeded' ? r : null;
    });
    expect(done.job).toEqual({ namespace: ns, name: job!.metadata!.name });
    await until('a second Job once the first finished', async () => (await jobs()).length >= 2);
    await custom.deleteNamespacedCustomObject({ ...G, namespace: ns, name: 'job' });
  });
});
