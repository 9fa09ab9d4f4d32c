// Create → armed on the leader: the API (createApp on @hono/node-server, 127.0.0.1, its
// own MongoDB client as another replica would have) takes POST /api/v1/schedules; a
// leader engine in the same process follows the change stream and reports each arming
// through onArmed. Per create: POST sent → onArmed for that id, and POST → 201, with
// `--background` schedules already armed. Creates are sequential with a random pause
// so they do not fall into step with the change stream's polling.
//
//   node bench/propagation.ts [--creates=300] [--background=10000] [--pause-ms=50]

import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { createActionRunner } from '../src/actions/runner.ts';
import { createApp } from '../src/api/app.ts';
import { openAuth } from '../src/auth/api-auth.ts';
import { Engine } from '../src/engine/engine.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { ensureIndexes } from '../src/store/indexes.ts';
import { MongoRunStore } from '../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../src/store/mongo-schedule-store.ts';
import { args, banner, round, sleep, summarize, table, writeResult } from './lib/report.ts';
import { insertAll, spreadSchedules } from './lib/schedules.ts';
import { benchStack, connectDb } from './lib/stack.ts';

const opts = args({ creates: 300, background: 10000, 'pause-ms': 50 });
const startedAt = new Date();
banner('propagation', opts);
const stack = await benchStack('propagation');
const logger = pino({ level: 'silent' });
let result: Record<string, unknown> = {};
let t = '';
try {
  const leaderSide = await connectDb(stack.info, 'propagation');
  const apiSide = await connectDb(stack.info, 'propagation');
  const db = leaderSide.db;
  await db.dropDatabase();
  await ensureIndexes(db, { runRetentionDays: 7 });
  await insertAll(
    db,
    spreadSchedules({ n: opts.background, periodMs: 3_600_000, now: new Date(), prefix: 'background' }),
  );

  const armedAt = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const engine = new Engine({
    schedules: new MongoScheduleStore(db),
    runs: new MongoRunStore(db),
    actions: createActionRunner(),
    identity: 'bench-leader',
    logger,
    now: () => new Date(),
    onArmed: (id, _v, next) => {
      if (!next || armedAt.has(id)) return;
      armedAt.set(id, performance.now());
      waiting.get(id)?.();
    },
  });
  await engine.start(1);
  console.log(`leader armed ${engine.status().armed} background schedules`);

  const app = createApp({
    schedules: new MongoScheduleStore(apiSide.db),
    runs: new MongoRunStore(apiSide.db),
    auth: openAuth(),
    config: { bodyLimitBytes: 65_536 },
    logger,
    metrics: createMetrics(),
    now: () => new Date(),
    ready: async () => true,
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const toArmed: number[] = [];
  const toResponse: number[] = [];
  const responseToArmed: number[] = [];
  const tag = Math.random().toString(36).slice(2, 8);
  for (let i = 0; i < opts.creates; i++) {
    await sleep(Math.random() * opts['pause-ms']);
    const t0 = performance.now();
    const res = await fetch(`${base}/api/v1/schedules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `prop-${tag}-${i}`,
        schedule: { every: '1h' },
        action: { type: 'log' },
      }),
    });
    const t1 = performance.now();
    if (res.status !== 201) throw new Error(`POST → ${res.status}: ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    if (!armedAt.has(id)) {
      await Promise.race([
        new Promise<void>((r) => waiting.set(id, r)),
        sleep(10_000).then(() => {
          throw new Error(`schedule ${id} was not armed within 10 s`);
        }),
      ]);
      waiting.delete(id);
    }
    const ta = armedAt.get(id)!;
    toArmed.push(ta - t0);
    toResponse.push(t1 - t0);
    responseToArmed.push(ta - t1);
  }
  server.close();
  await engine.stop();
  await db.dropDatabase();
  await leaderSide.client.close();
  await apiSide.client.close();

  const s = {
    createToArmed: summarize(toArmed),
    createToResponse: summarize(toResponse),
    responseToArmed: summarize(responseToArmed),
  };
  const row = (label: string, x: ReturnType<typeof summarize>) =>
    [label, x.n, x.median, x.p90, x.p99, x.max].map((c) => (typeof c === 'number' ? round(c, 1) : c));
  t = table(
    ['propagation (ms)', 'n', 'p50', 'p90', 'p99', 'max'],
    [
      row('POST sent → armed on the leader', s.createToArmed),
      row('POST sent → 201 received', s.createToResponse),
      row('201 received → armed (negative: armed first)', s.responseToArmed),
    ].map((r) => r.map(String)),
  );
  console.log(`\n${t}`);
  console.log(
    `\ntarget create → armed p99 < 100 ms: ${s.createToArmed.p99 < 100 ? 'met' : 'MISSED'} (${s.createToArmed.p99.toFixed(1)} ms)`,
  );
  result = s;
} finally {
  await stack.stop();
}
const file = writeResult(
  {
    name: 'propagation',
    parameters: {
      ...opts,
      mode: 'in-process API (@hono/node-server on 127.0.0.1) + leader engine, separate MongoDB clients',
    },
    results: result,
    notes: [
      'armed: the engine’s onArmed callback for the new id (change stream event applied, timer set)',
      'the change stream’s getMore waits up to maxAwaitTimeMS = 200 ms (src/store/mongo-schedule-store.ts) when the server holds it open',
    ],
    table: t,
  },
  startedAt,
);
console.log(`wrote ${file}`);
