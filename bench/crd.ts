// Schedule objects at scale (issue 12): N objects exist before a leader starts (as after an
// install with GitOps, or a failover). Measures how long the controller takes to store them all
// in MongoDB and to give each a status, how many status writes that costs the API server and at
// what rate (the token bucket's qps), and what a second leader's relist costs once every status
// is written (it should rewrite none).
//
//   node bench/crd.ts [--objects=2000] [--qps=20] [--burst=40] [--create-concurrency=16]
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { createActionRunner } from '../src/actions/runner.ts';
import { ScheduleController } from '../src/crd/controller.ts';
import { http1Only } from '../src/election/kube-config.ts';
import { Engine } from '../src/engine/engine.ts';
import { ensureIndexes } from '../src/store/indexes.ts';
import { MongoRunStore } from '../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../src/store/mongo-schedule-store.ts';
import { installScheduleCrd } from '../stack/crd.ts';
import { args, banner, round, sleep, table, writeResult } from './lib/report.ts';
import { benchStack, connectDb, ensureNamespace } from './lib/stack.ts';

const opts = args({ objects: 2000, qps: 20, burst: 40, 'create-concurrency': 16 });
const startedAt = new Date();
banner('crd', opts);
const stack = await benchStack('crd');
const logger = pino({ level: 'warn' });
let result: Record<string, unknown> = {};
let t = '';
try {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(stack.info.kube.kubeconfig);
  http1Only(kc);
  await installScheduleCrd(kc);
  const ns = 'bench-crd';
  await ensureNamespace(stack.info, ns);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const G = { group: 'leasecron.io', version: 'v1alpha1', plural: 'schedules', namespace: ns } as const;

  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: opts['create-concurrency'] }, async () => {
      for (let i = next++; i < opts.objects; i = next++)
        await custom.createNamespacedCustomObject({
          ...G,
          body: {
            apiVersion: 'leasecron.io/v1alpha1',
            kind: 'Schedule',
            metadata: { name: `obj-${i}` },
            spec: { schedule: `${i % 60} * * * *`, log: {} },
          },
        });
    }),
  );
  const createS = (performance.now() - t0) / 1000;
  console.log(`created ${opts.objects} Schedule objects in ${round(createS, 1)} s`);

  const { client, db } = await connectDb(stack.info, 'crd', { retryWrites: false });
  await db.dropDatabase();
  await ensureIndexes(db, { runRetentionDays: 7 });
  const schedules = new MongoScheduleStore(db);
  const runs = new MongoRunStore(db);
  const engine = new Engine({
    schedules,
    runs,
    actions: createActionRunner(),
    identity: 'bench-leader',
    logger,
    now: () => new Date(),
  });
  await engine.start(1);
  const controller = (identity: string) =>
    new ScheduleController({
      kubeConfig: kc,
      namespaces: [ns],
      schedules,
      runs,
      logger,
      now: () => new Date(),
      identity,
      statusQps: opts.qps,
      statusBurst: opts.burst,
    });

  // first leader: every object stored, then every status written
  const first = controller('leader-1');
  const t1 = performance.now();
  first.start();
  let storedAt = 0;
  const writesPerSecond: number[] = [];
  let lastWrites = 0;
  for (;;) {
    await sleep(1000);
    writesPerSecond.push(first.stats.statusWrites - lastWrites);
    lastWrites = first.stats.statusWrites;
    if (!storedAt && (await db.collection('schedules').countDocuments()) >= opts.objects)
      storedAt = performance.now();
    if (storedAt && first.stats.statusWrites >= opts.objects) break;
  }
  const allStatusS = (performance.now() - t1) / 1000;
  const storedS = (storedAt - t1) / 1000;
  await first.idle();
  const listed = (await custom.listNamespacedCustomObject(G)) as {
    items: { status?: { conditions?: { type: string; status: string }[]; nextRunAt?: string } }[];
  };
  const ready = listed.items.filter((o) =>
    o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  ).length;
  const firstStats = { ...first.stats };
  await first.stop();

  // second leader: a relist of objects whose status is already right
  const second = controller('leader-2');
  const t2 = performance.now();
  second.start();
  while (second.stats.reconciles < opts.objects) await sleep(100);
  await second.idle();
  const relistS = (performance.now() - t2) / 1000;
  const secondStats = { ...second.stats };
  await second.stop();
  await engine.stop();
  await db.dropDatabase();
  await client.close();

  const peak = Math.max(...writesPerSecond);
  const steady = writesPerSecond.slice(2, -1).sort((a, b) => a - b);
  const medianRate = steady.length ? steady[Math.floor(steady.length / 2)]! : peak;
  result = {
    createS,
    storedS,
    allStatusS,
    ready,
    first: firstStats,
    statusWritesPeakPerSecond: peak,
    statusWritesMedianPerSecond: medianRate,
    relistS,
    second: secondStats,
  };
  t = table(
    ['Schedule objects', 'value'],
    [
      ['objects', opts.objects],
      ['all stored in MongoDB after (s)', round(storedS, 1)],
      ['all statuses written after (s)', round(allStatusS, 1)],
      ['Ready=True', ready],
      ['status writes, first leader', firstStats.statusWrites],
      ['status writes/s, peak (burst)', peak],
      ['status writes/s, median', medianRate],
      [`second leader: relist + reconcile all (s)`, round(relistS, 1)],
      ['second leader: status writes', secondStats.statusWrites],
      ['second leader: statuses found unchanged', secondStats.statusUnchanged],
    ],
  );
  console.log(`\n${t}`);
} finally {
  await stack.stop();
}
const file = writeResult(
  {
    name: 'crd',
    parameters: { ...opts, mode: 'in-process leader engine + ScheduleController; objects created first' },
    results: result,
    notes: [
      'status writes are merge patches of the status subresource, limited by a token bucket (qps, burst) and skipped when equal',
      'the second leader relists the same objects with statuses already written',
    ],
    table: t,
  },
  startedAt,
);
console.log(`wrote ${file}`);
