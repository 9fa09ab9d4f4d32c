// Every JSON file in payloads/ is what `make create-schedule` / `make update-schedule` send (the
// leasecron CLI parses the file and sends the same JSON; the bytes are sent here as they are): the
// real API (built in-process on the real MongoDB, as test/api does) must accept each one and
// hand it back as stored, with the next occurrence the schedule promises. The static checks in
// build-artifacts.int.test.ts validate the same files against the schema; this proves the route
// (body parsing, content type, store, indexes, response) takes them too.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cron } from 'croner';
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { openAuth } from '../../src/auth/api-auth.ts';
import { DEFAULTS } from '../../src/config/load-config.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { ensureIndexes } from '../../src/store/indexes.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import { REPO_ROOT } from '../../stack/stack.ts';
import { freshDb } from '../helpers/clients.ts';
import { loopbackSinks } from '../helpers/egress.ts';

const PAYLOADS = join(REPO_ROOT, 'payloads');
const files = readdirSync(PAYLOADS)
  .filter((f) => f.endsWith('.json'))
  .sort();
const createFiles = files.filter((f) => f.startsWith('create_'));
const raw = (file: string) => readFileSync(join(PAYLOADS, file), 'utf8');
const parsed = (file: string) => JSON.parse(raw(file)) as Record<string, unknown>;

/** The payload as the API serves it back: instants in canonical ISO-8601 (milliseconds, Z). */
function asServed(body: Record<string, unknown>): Record<string, unknown> {
  const iso = (t: unknown) => (typeof t === 'string' ? new Date(t).toISOString() : t);
  const out = structuredClone(body);
  const schedule = out.schedule as { at?: string[] };
  if (schedule.at) schedule.at = schedule.at.map((t) => iso(t) as string);
  for (const field of ['startAt', 'endAt'] as const) if (field in out) out[field] = iso(out[field]);
  return out;
}

let client: MongoClient;
let db: Db;
let app: ReturnType<typeof createApp>;

interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response JSON, read by expectations
  body: any;
}

/** Sends the payload file's own text, as the Makefile targets once did (the CLI now parses it first). */
async function send(method: string, path: string, file?: string): Promise<Reply> {
  const init: RequestInit = { method, headers: { accept: 'application/json' } };
  if (file !== undefined) {
    init.body = raw(file);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  const res = await app.request(path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  ({ client, db } = await freshDb('payloads'));
  await ensureIndexes(db, { runRetentionDays: 7 });
  app = createApp({
    schedules: new MongoScheduleStore(db),
    runs: new MongoRunStore(db),
    // The http payloads call a webhook on 127.0.0.1, which the local demo's replicas allow
    // (HTTP_ALLOW_CIDRS in stack/replicas.ts replicaEnv); so does this API.
    auth: openAuth(),
    config: {
      bodyLimitBytes: Number(DEFAULTS.BODY_LIMIT_BYTES),
      egress: loopbackSinks,
    },
    logger: createLogger({ level: 'silent', identity: 'payloads-test' }),
    metrics: createMetrics(),
    now: () => new Date(),
    ready: async () => true,
  });
});

afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
});

describe('payloads/ against the real API', () => {
  it('holds create_* files and update_schedule.json, nothing the tests below would miss', () => {
    expect(createFiles.length).toBeGreaterThanOrEqual(5);
    expect(files.filter((f) => !f.startsWith('create_'))).toEqual(['update_schedule.json']);
  });

  const created = new Map<string, { id: string; version: number }>();

  it.each(createFiles)('POST %s → 201, and GET returns it as sent with its next run', async (file) => {
    const body = parsed(file);
    const before = Date.now();
    const post = await send('POST', '/api/v1/schedules', file);
    expect(post.status, JSON.stringify(post.body)).toBe(201);
    expect(post.body.id).toEqual(expect.any(String));
    expect(post.body.version).toBe(1);
    expect(post.headers.get('location')).toBe(`/api/v1/schedules/${post.body.id}`);
    created.set(file, { id: post.body.id, version: post.body.version });

    const get = await send('GET', `/api/v1/schedules/${post.body.id}`);
    expect(get.status).toBe(200);
    // Every field the payload names comes back as sent (defaults fill in the rest).
    expect(get.body).toMatchObject(asServed(body));
    expect(get.body).toMatchObject({ id: post.body.id, version: 1, paused: body.paused ?? false });

    const next = get.body.nextRunAt as string | null;
    if (body.paused === true) {
      expect(next, 'a paused schedule has no next run').toBeNull();
      return;
    }
    expect(next, 'an active schedule has a next run').toEqual(expect.any(String));
    const nextMs = Date.parse(next!);
    expect(nextMs).toBeGreaterThanOrEqual(before);
    const schedule = body.schedule as { every?: string; cron?: string; at?: string[] };
    if (schedule.at) {
      expect(nextMs).toBe(Math.min(...schedule.at.map((t) => Date.parse(t))));
    } else if (schedule.every) {
      const everyMs = { '5s': 5_000, '10s': 10_000, '1m': 60_000 }[schedule.every];
      expect(everyMs, `a known interval in ${file}`).toBeDefined();
      expect(nextMs).toBeLessThanOrEqual(Date.now() + everyMs!);
    } else {
      // The occurrence croner names in the schedule's time zone, as of some moment of the request.
      const cron = schedule as { cron: string; timezone?: string };
      const job = new Cron(cron.cron, { timezone: cron.timezone ?? 'UTC', paused: true });
      const earliest = job.nextRun(new Date(before))?.getTime();
      const latest = job.nextRun(new Date())?.getTime();
      expect(nextMs).toBeGreaterThanOrEqual(earliest!);
      expect(nextMs).toBeLessThanOrEqual(latest!);
    }
  });

  it('without HTTP_ALLOW_CIDRS (a Deployment as shipped) the ones aimed at 127.0.0.1 get 400 naming action.url', async () => {
    const strict = createApp({
      schedules: new MongoScheduleStore(db),
      runs: new MongoRunStore(db),
      auth: openAuth(),
      config: { bodyLimitBytes: Number(DEFAULTS.BODY_LIMIT_BYTES) },
      logger: createLogger({ level: 'silent', identity: 'payloads-test' }),
      metrics: createMetrics(),
      now: () => new Date(),
      ready: async () => true,
    });
    const loopback = createFiles.filter((f) => raw(f).includes('http://127.0.0.1:'));
    expect(loopback.length).toBeGreaterThan(0);
    for (const file of loopback) {
      const res = await strict.request('/api/v1/schedules', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: raw(file),
      });
      expect(res.status, file).toBe(400);
      const problem = (await res.json()) as { errors: { field: string }[] };
      expect(problem.errors.map((e) => e.field)).toEqual(['action.url']);
    }
  });

  it('the create_* payloads all coexist: GET /api/v1/schedules lists each once', async () => {
    const list = await send('GET', '/api/v1/schedules?limit=100');
    expect(list.status).toBe(200);
    const names = (list.body.items as { name: string }[]).map((s) => s.name).sort();
    expect(names).toEqual(createFiles.map((f) => parsed(f).name).sort());
  });

  it('PUT update_schedule.json onto the schedule from create_schedule.json → 200, version 2', async () => {
    const target = created.get('create_schedule.json');
    expect(target, 'create_schedule.json was created above').toBeDefined();
    const put = await send('PUT', `/api/v1/schedules/${target!.id}`, 'update_schedule.json');
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({
      id: target!.id,
      version: 2,
      ...asServed(parsed('update_schedule.json')),
    });
    expect(put.headers.get('etag')).toBe('"2"');

    const get = await send('GET', `/api/v1/schedules/${target!.id}`);
    expect(get.status).toBe(200);
    expect(get.body).toMatchObject({ version: 2, ...asServed(parsed('update_schedule.json')) });
    expect(get.body.nextRunAt).toEqual(expect.any(String));
    expect(Date.parse(get.body.nextRunAt)).toBeLessThanOrEqual(Date.now() + 10_000);
  });
});
