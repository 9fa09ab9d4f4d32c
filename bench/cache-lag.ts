// Cache lag (issue 14): a write on one replica → visible in another replica's schedule cache.
//
// In-process, the cache itself: two MongoDB clients, as two replicas would have. On one, a
// ScheduleCache (src/cache/schedule-cache.ts) with its MongoFeedSource, holding `--background`
// schedules; on the other a MongoScheduleStore that writes — `--writes` creates and replaces,
// alternating, one at a time with a random pause (0–2 × `--pause-ms`) so they do not fall into
// step with the stream's polling. Per write: write sent → the cache applied it (its change, id
// and version, delivered by cache.subscribe(), the feed the engine reads), write acknowledged →
// applied (negative: the cache had it before the writer heard back), and after the ack, how long
// a consistent read on the cache's side (cache.sync(), what every API read does first) waited,
// and whether the cache then held the write (it must, always).
//
// Cross-process (`--replica-writes`, 0 to skip): two replica processes (src/main.ts) on one
// database; PUT /api/v1/schedules/{id} on A while one client polls B's GET of the same id
// back to back from the moment the PUT is sent. Each GET on B is a consistent read, so this
// is read-after-write across replicas through the API: the first GET that starts after the
// write committed returns it, whatever the stream's lag, because B's sync waits for it.
//
//   node bench/cache-lag.ts [--writes=600] [--background=10000] [--pause-ms=20] [--replica-writes=200]
import { join } from 'node:path';
import pino from 'pino';
import { ScheduleCache } from '../src/cache/schedule-cache.ts';
import { ensureIndexes } from '../src/store/indexes.ts';
import { MongoFeedSource } from '../src/store/mongo-feed.ts';
import { MongoScheduleStore } from '../src/store/mongo-schedule-store.ts';
import type { ScheduleChange } from '../src/store/types.ts';
import { freePort } from '../stack/ports.ts';
import { startReplica, stopReplica, waitForLeader, waitReady } from '../stack/replicas.ts';
import { args, banner, round, sleep, summarize, table, wallNow, writeResult } from './lib/report.ts';
import { insertAll, spreadSchedules, validInput } from './lib/schedules.ts';
import { benchStack, connectDb, ensureNamespace } from './lib/stack.ts';

const opts = args({ writes: 600, background: 10_000, 'pause-ms': 20, 'replica-writes': 200 });
const startedAt = new Date();
banner('cache-lag', opts);
const stack = await benchStack('cache-lag');
const logger = pino({ level: 'warn' });

const samples = {
  create: { sentToApplied: [] as number[], ackToApplied: [] as number[], writeMs: [] as number[] },
  replace: { sentToApplied: [] as number[], ackToApplied: [] as number[], writeMs: [] as number[] },
  syncAfterAck: [] as number[],
  replicaSentToVisible: [] as number[],
  replicaAckToVisible: [] as number[],
  replicaPutMs: [] as number[],
  replicaGetMs: [] as number[],
};
let syncResults: Record<string, number> = {};
let staleAfterSync = 0;
let replicaReads: Record<string, number> | null = null;
try {
  await ensureNamespace(stack.info, 'leasecron');
  const cacheSide = await connectDb(stack.info, 'lag');
  const writerSide = await connectDb(stack.info, 'lag');
  const db = writerSide.db;
  await db.dropDatabase();
  await ensureIndexes(db, { runRetentionDays: 7 });
  const farHour = (new Date().getUTCHours() + 12) % 24;
  await insertAll(
    db,
    spreadSchedules({
      n: opts.background,
      periodMs: 86_400_000,
      cronShare: 1,
      cronPatterns: 3600,
      cronHour: farHour,
      now: new Date(),
      prefix: 'background',
    }),
  );

  const cache = new ScheduleCache({
    source: new MongoFeedSource(cacheSide.db),
    logger,
    identity: 'lag-cache',
  });
  const sub = cache.subscribe();
  cache.start();
  await cache.ready;
  console.log(`  cache loaded: ${cache.status().schedules} schedules`);

  // id:version → when the cache applied it; and whoever waits for it
  const applied = new Map<string, number>();
  const waiting = new Map<string, (t: number) => void>();
  let consuming = true;
  const consumer = (async () => {
    while (consuming) {
      let c: ScheduleChange;
      try {
        c = await sub.next();
      } catch {
        return;
      }
      const t = wallNow();
      if (c.kind !== 'upsert') continue;
      const k = `${c.schedule.id}:${c.schedule.version}`;
      applied.set(k, t);
      waiting.get(k)?.(t);
      waiting.delete(k);
    }
  })();
  const visible = (k: string): Promise<number> => {
    const t = applied.get(k);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve) => waiting.set(k, resolve));
  };

  const store = new MongoScheduleStore(db);
  const input = (name: string, i: number) =>
    validInput({
      name,
      schedule: { cron: `${i % 60} 0 ${farHour} * * *` },
      action: { type: 'log' },
      labels: { write: String(i) },
    });
  const created: { id: string; name: string }[] = [];
  const sync: Record<string, number> = {};
  for (let i = 0; i < opts.writes; i++) {
    await sleep(Math.random() * 2 * opts['pause-ms']);
    const kind = i % 2 === 0 || created.length === 0 ? 'create' : 'replace';
    const target = created[Math.floor(Math.random() * created.length)];
    const t0 = wallNow();
    const s =
      kind === 'create' || !target
        ? await store.create(input(`lag-${i}`, i), new Date())
        : await store.replace(target.id, input(target.name, i), { now: new Date() });
    const tAck = wallNow();
    if (kind === 'create') created.push({ id: s.id, name: s.name });
    // A consistent read on the cache's side, as the API does it: it must then hold the write.
    const r = await cache.sync();
    const tSync = wallNow();
    sync[r] = (sync[r] ?? 0) + 1;
    const held = cache.get(s.id);
    if (!(held?.ok && held.schedule.version >= s.version)) staleAfterSync++;
    const tVis = await visible(`${s.id}:${s.version}`);
    samples[kind].sentToApplied.push(tVis - t0);
    samples[kind].ackToApplied.push(tVis - tAck);
    samples[kind].writeMs.push(tAck - t0);
    samples.syncAfterAck.push(tSync - tAck);
  }
  syncResults = sync;
  consuming = false;
  sub.close();
  await consumer;
  await cache.stop();
  await cacheSide.client.close();

  if (opts['replica-writes'] > 0) {
    // Two replica processes on their own database.
    const rdb = writerSide.client.db('lag_replicas');
    await rdb.dropDatabase();
    await ensureIndexes(rdb, { runRetentionDays: 7 });
    const docs = spreadSchedules({
      n: Math.min(opts.background, 1000),
      periodMs: 86_400_000,
      cronShare: 1,
      cronHour: farHour,
      now: new Date(),
      prefix: 'rw',
    });
    await insertAll(rdb, docs);
    const ports = [await freePort(), await freePort()];
    const [a, b] = ports.map((port, i) =>
      startReplica(
        stack.info,
        { identity: `lag-${i}`, port, logFile: join(stack.dir, `lag-${i}.log`) },
        { entry: 'src/main.ts', env: { MONGODB_DB: 'lag_replicas', LEASE_NAME: 'lag', LOG_LEVEL: 'warn' } },
      ),
    ) as [ReturnType<typeof startReplica>, ReturnType<typeof startReplica>];
    try {
      await Promise.all([waitReady(a, 120_000), waitReady(b, 120_000)]);
      await waitForLeader([a, b], { timeoutMs: 30_000 });
      await sleep(1000);
      const A = `http://127.0.0.1:${a.port}`;
      const B = `http://127.0.0.1:${b.port}`;
      const scrapeReads = async () => {
        const text = await (await fetch(`${B}/metrics`)).text();
        const out: Record<string, number> = {};
        for (const m of text.matchAll(/^leasecron_cache_reads_total\{result="([^"]+)"\} (\S+)$/gm))
          out[m[1]!] = Number(m[2]);
        return out;
      };
      const before = await scrapeReads();
      for (let i = 0; i < opts['replica-writes']; i++) {
        await sleep(Math.random() * 2 * opts['pause-ms']);
        const j = Math.floor(Math.random() * docs.length);
        const d = docs[j]!;
        const cur = (await (await fetch(`${A}/api/v1/schedules/${d._id}`)).json()) as { version: number };
        const want = cur.version + 1;
        const t0 = wallNow();
        let tAck = Number.NaN;
        const put = fetch(`${A}/api/v1/schedules/${d._id}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            name: d.name,
            schedule: d.schedule,
            action: { type: 'log' },
            labels: { write: String(i) },
          }),
        }).then(async (res) => {
          tAck = wallNow();
          if (res.status !== 200) throw new Error(`PUT ${res.status}: ${await res.text()}`);
        });
        let tVis = Number.NaN;
        for (;;) {
          const g0 = wallNow();
          const res = await fetch(`${B}/api/v1/schedules/${d._id}`);
          const body = (await res.json()) as { version: number };
          const g1 = wallNow();
          samples.replicaGetMs.push(g1 - g0);
          if (body.version >= want) {
            tVis = g1;
            break;
          }
          if (g1 - t0 > 5000) throw new Error(`version ${want} of ${d._id} not visible on B after 5 s`);
        }
        await put;
        samples.replicaSentToVisible.push(tVis - t0);
        samples.replicaAckToVisible.push(tVis - tAck);
        samples.replicaPutMs.push(tAck - t0);
      }
      const after = await scrapeReads();
      replicaReads = {};
      for (const k of Object.keys(after)) replicaReads[k] = (after[k] ?? 0) - (before[k] ?? 0);
    } finally {
      await Promise.all([stopReplica(a, 'SIGTERM'), stopReplica(b, 'SIGTERM')]);
    }
  }
  await writerSide.client.close();
} finally {
  await stack.stop();
}

const row = (label: string, xs: number[]) => {
  const s = summarize(xs);
  return [label, s.n, round(s.median, 1), round(s.p90, 1), round(s.p99, 1), round(s.max, 1)];
};
const all = [...samples.create.sentToApplied, ...samples.replace.sentToApplied];
const rows = [
  row('write sent → applied in the other cache, all', all),
  row('  creates', samples.create.sentToApplied),
  row('  replaces', samples.replace.sentToApplied),
  row('write acknowledged → applied (negative: applied first)', [
    ...samples.create.ackToApplied,
    ...samples.replace.ackToApplied,
  ]),
  row('the write itself (sent → acknowledged)', [...samples.create.writeMs, ...samples.replace.writeMs]),
  row("consistent read's sync after the ack (cache side)", samples.syncAfterAck),
];
if (samples.replicaSentToVisible.length > 0)
  rows.push(
    row('replicas: PUT on A sent → GET on B returns it', samples.replicaSentToVisible),
    row('replicas: PUT acknowledged → GET on B returned it', samples.replicaAckToVisible),
    row('replicas: PUT on A (sent → 200)', samples.replicaPutMs),
    row('replicas: each GET on B (consistent read)', samples.replicaGetMs),
  );
const t = table(['cache lag (ms)', 'n', 'p50', 'p90', 'p99', 'max'], rows);
console.log(`\n${t}`);
console.log(
  `\nsync results after each ack: ${JSON.stringify(syncResults)}; writes not held after a caught-up sync: ${staleAfterSync}`,
);
if (replicaReads)
  console.log(
    `replica B leasecron_cache_reads_total during the PUT/GET loop: ${JSON.stringify(replicaReads)}`,
  );
const p99 = summarize(all).p99;
console.log(`target cache lag p99 < 50 ms: ${p99 < 50 ? 'met' : 'MISSED'} (p99 ${round(p99, 1)} ms)`);
const file = writeResult(
  {
    name: 'cache-lag',
    parameters: { ...opts },
    results: {
      sentToApplied: summarize(all),
      creates: summarize(samples.create.sentToApplied),
      replaces: summarize(samples.replace.sentToApplied),
      ackToApplied: summarize([...samples.create.ackToApplied, ...samples.replace.ackToApplied]),
      writeMs: summarize([...samples.create.writeMs, ...samples.replace.writeMs]),
      syncAfterAck: summarize(samples.syncAfterAck),
      syncResults,
      staleAfterSync,
      replicas:
        samples.replicaSentToVisible.length > 0
          ? {
              sentToVisible: summarize(samples.replicaSentToVisible),
              ackToVisible: summarize(samples.replicaAckToVisible),
              putMs: summarize(samples.replicaPutMs),
              getMs: summarize(samples.replicaGetMs),
              cacheReads: replicaReads,
            }
          : null,
    },
    notes: [
      'in-process: a ScheduleCache on one MongoClient, writes through MongoScheduleStore on another; applied = the change delivered by cache.subscribe() (wall clock, performance.now based)',
      'sync after the ack: cache.sync() called right after the write returned, as an API read on another replica would; the cache must then hold the write (staleAfterSync counts those it did not)',
      'replicas: two src/main.ts processes; PUT on A, B polled with GET back to back from the moment the PUT is sent; each GET is a consistent read, so this is read-after-write across replicas',
    ],
    table: t,
  },
  startedAt,
);
console.log(`wrote ${file}`);
