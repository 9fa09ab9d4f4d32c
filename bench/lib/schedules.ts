// Schedule documents for benchmarks, valid by construction: every body goes through
// the API's own validator once, then is cloned with a new id, name and anchor, and
// inserted straight into `schedules` in bulk (the API would take minutes for 100k).
import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { validateScheduleInput } from '../../src/schedule/schema.ts';
import type { ScheduleDoc } from '../../src/store/mongo-schedule-store.ts';
import { loopbackSinks } from '../../test/helpers/egress.ts';

export function validInput(body: Record<string, unknown>) {
  // http actions of the benchmarks post to sinks on 127.0.0.1, allowed as the replicas allow it
  const r = validateScheduleInput(body, { egress: loopbackSinks });
  if (!r.ok) throw new Error(`invalid benchmark schedule: ${JSON.stringify(r.errors)}`);
  return r.value;
}

export interface SpreadOptions {
  /** how many schedules */
  n: number;
  /** period of each `every` schedule, ms; anchors are spread evenly over one period */
  periodMs: number;
  /** share of cron schedules (the rest are `every`), 0..1 */
  cronShare?: number;
  /** cron patterns are drawn from this many distinct ones */
  cronPatterns?: number;
  /** daily cron patterns at this UTC hour instead of minutely/hourly ones */
  cronHour?: number;
  action?: Record<string, unknown>;
  prefix?: string;
  /** updatedAt, so the engine starts deciding from here and runs no catch-up */
  now: Date;
}

/** Distinct valid cron patterns: once a minute (i < 60), hourly, or daily at `hour`. */
export function cronPattern(i: number, hour?: number): string {
  const sec = i % 60;
  const min = Math.floor(i / 60) % 60;
  if (hour !== undefined) return `${sec} ${min} ${hour} * * *`;
  return i < 60 ? `${sec} * * * * *` : `${sec} ${min} * * * *`;
}

/**
 * N schedule documents whose occurrences are spread evenly in time: `every` schedule i
 * is anchored at now − i·period/N (createdAt), so together they fire N times per
 * period at a steady rate. updatedAt = now, so no occurrence before `now` is due.
 */
export function spreadSchedules(o: SpreadOptions): ScheduleDoc[] {
  const every = validInput({
    name: 'template',
    schedule: { every: `${o.periodMs}ms` },
    action: o.action ?? { type: 'log' },
    concurrency: 'allow',
  });
  const cron = validInput({
    name: 'template',
    schedule: { cron: '* * * * * *' },
    action: o.action ?? { type: 'log' },
    concurrency: 'allow',
  });
  const cronEvery = o.cronShare && o.cronShare > 0 ? Math.round(1 / o.cronShare) : 0;
  const docs: ScheduleDoc[] = [];
  const base = o.now.getTime();
  for (let i = 0; i < o.n; i++) {
    const isCron = cronEvery > 0 && i % cronEvery === 0;
    const src = isCron ? cron : every;
    const anchor = new Date(base - Math.floor((i * o.periodMs) / o.n) - 1);
    docs.push({
      ...structuredClone(src),
      ...(isCron ? { schedule: { cron: cronPattern(i % (o.cronPatterns ?? 60), o.cronHour) } } : {}),
      _id: randomUUID(),
      name: `${o.prefix ?? 'bench'}-${i}`,
      version: 1,
      createdAt: anchor,
      updatedAt: o.now,
      labelPairs: [],
    } as ScheduleDoc);
  }
  return docs;
}

export interface BurstOptions {
  /** how many schedules */
  n: number;
  /** the one instant every schedule is due at */
  at: Date;
  /** schedule i (i < n·httpShare, every 1/httpShare-th) posts to `${sinkUrl}/${i}`; the rest log */
  httpShare: number;
  sinkUrl: string;
  prefix?: string;
  /** createdAt and updatedAt: before `at`, so the engine arms `at` and catches nothing up */
  now: Date;
}

/**
 * N one-shot schedules (`at: [T]`) all due at the same instant: a top-of-the-hour burst.
 * Misfire fireOnce/300 s (the default), concurrency allow; http ones with one attempt.
 */
export function burstSchedules(o: BurstOptions): { docs: ScheduleDoc[]; http: Set<number> } {
  const at = [o.at.toISOString()];
  const log = validInput({ name: 'template', schedule: { at }, action: { type: 'log' } });
  const http = validInput({
    name: 'template',
    schedule: { at },
    action: {
      type: 'http',
      url: `${o.sinkUrl}/0`,
      method: 'POST',
      timeoutMs: 30_000,
      retry: { maxAttempts: 1, backoffMs: 100 },
    },
  });
  const every = o.httpShare > 0 ? 1 / o.httpShare : Number.POSITIVE_INFINITY;
  const httpIds = new Set<number>();
  const docs: ScheduleDoc[] = [];
  for (let i = 0; i < o.n; i++) {
    const isHttp = Math.floor(i / every) !== Math.floor((i + 1) / every);
    if (isHttp) httpIds.add(i);
    const src = isHttp ? http : log;
    docs.push({
      ...structuredClone(src),
      ...(isHttp ? { action: { ...src.action, url: `${o.sinkUrl}/${i}` } } : {}),
      _id: randomUUID(),
      name: `${o.prefix ?? 'burst'}-${i}`,
      version: 1,
      createdAt: o.now,
      updatedAt: o.now,
      labelPairs: [],
    } as ScheduleDoc);
  }
  return { docs, http: httpIds };
}

export async function insertAll(db: Db, docs: ScheduleDoc[], batch = 5000): Promise<number> {
  const t0 = performance.now();
  const col = db.collection<ScheduleDoc>('schedules');
  for (let i = 0; i < docs.length; i += batch)
    await col.insertMany(docs.slice(i, i + batch), { ordered: false });
  return performance.now() - t0;
}
