// Builds the API in-process against a fresh database on the real MongoDB stack,
// with a settable clock and captured log lines, plus a fingerprint of every
// collection so tests can prove that a request wrote nothing.
import { createHash } from 'node:crypto';
import { BSON, type Db, type MongoClient } from 'mongodb';
import { createApp } from '../../src/api/app.ts';
import type { ApiDeps } from '../../src/api/types.ts';
import { openAuth, tokenAuth } from '../../src/auth/api-auth.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { ensureIndexes } from '../../src/store/indexes.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import { freshDb } from '../helpers/clients.ts';

/**
 * The API's fixed clock. It is 400 years after the date the tests were written for (2026-11-23):
 * the Gregorian calendar repeats every 400 years, so weekdays, leap years and therefore every
 * expected occurrence stay the same, and it lies in the future. Documents written "now" carry it
 * as `createdAt`, which the runs' TTL index compares with the database's real clock: a fixed
 * date in the past expired them 7 days later, in the middle of bad-inputs.int.test.ts (issue 9).
 * The int-future project checks that no fixed date here can rot (vitest.config.ts).
 */
export const T0 = new Date('2426-11-23T10:00:00.000Z');
export const BODY_LIMIT = 16 * 1024;
export const PROBLEM = 'application/problem+json';

export type LogLine = Record<string, unknown> & { msg: string; level: string };

export interface Harness {
  app: ReturnType<typeof createApp>;
  deps: ApiDeps;
  db: Db;
  client: MongoClient;
  logs: LogLine[];
  clock: { now: Date };
  close(): Promise<void>;
}

export async function harness(
  opts: { apiToken?: string; overrides?: Partial<ApiDeps>; prefix?: string } = {},
): Promise<Harness> {
  const { client, db } = await freshDb(opts.prefix ?? 'api');
  await ensureIndexes(db, { runRetentionDays: 7 });
  const logs: LogLine[] = [];
  const clock = { now: T0 };
  const deps: ApiDeps = {
    schedules: new MongoScheduleStore(db),
    runs: new MongoRunStore(db),
    // AUTH=none unless a test gives a token (AUTH=token) or its own auth (auth.int.test.ts).
    auth: opts.apiToken === undefined ? openAuth() : tokenAuth(opts.apiToken),
    config: { bodyLimitBytes: BODY_LIMIT },
    logger: createLogger(
      { level: 'info', identity: 'test-0' },
      { write: (s: string) => logs.push(JSON.parse(s)) },
    ),
    metrics: createMetrics(),
    now: () => clock.now,
    ready: async () => {
      await db.command({ ping: 1 });
      return true;
    },
    ...opts.overrides,
  };
  return {
    app: createApp(deps),
    deps,
    db,
    client,
    logs,
    clock,
    async close() {
      await db.dropDatabase();
      await client.close();
    },
  };
}

/** Counts and a hash of every document of every collection the API writes. */
const COLLECTIONS = ['schedules', 'runs', 'run_counters'] as const;
type Fingerprint = Record<(typeof COLLECTIONS)[number], { count: number; hash: string }>;

export async function fingerprint(db: Db): Promise<Fingerprint> {
  const out = {} as Fingerprint;
  for (const name of COLLECTIONS) {
    const docs = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
    out[name] = {
      count: docs.length,
      hash: createHash('sha256')
        .update(BSON.EJSON.stringify(docs, { relaxed: false }))
        .digest('hex'),
    };
  }
  return out;
}

export interface Sent {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response JSON, read by expectations
  body: any;
  text: string;
}

/** One in-process request; objects are sent as JSON with Content-Type application/json. */
export async function send(
  app: Harness['app'],
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Sent> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | undefined;
  if (typeof opts.body === 'string') body = opts.body;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await app.request(path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export const validBody = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
  action: { type: 'log' },
  ...extra,
});
