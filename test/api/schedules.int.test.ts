// Every schedules route and success status, in-process against the real MongoDB:
// create, read, list with filters and cursors, PUT with If-Match, merge PATCH,
// pause/resume, trigger, run history, delete.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, type Harness, harness, PROBLEM, send, T0, validBody } from './api-harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness({ prefix: 'api_routes' });
});
afterAll(async () => h.close());

const create = async (name: string, extra: Record<string, unknown> = {}) => {
  const r = await send(h.app, 'POST', '/api/v1/schedules', { body: validBody(name, extra) });
  expect(r.status, r.text).toBe(201);
  return r.body;
};

describe('POST /api/v1/schedules', () => {
  it('creates: 201, Location, ETag, defaults applied, server fields and nextRunAt in Berlin time', async () => {
    const r = await send(h.app, 'POST', '/api/v1/schedules', {
      body: validBody('nightly', { labels: { team: 'a' } }),
    });
    expect(r.status).toBe(201);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.headers.get('location')).toBe(`/api/v1/schedules/${r.body.id}`);
    expect(r.headers.get('etag')).toBe('"1"');
    expect(r.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      version: 1,
      name: 'nightly',
      namespace: 'default',
      schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
      action: { type: 'log' },
      paused: false,
      startAt: null,
      endAt: null,
      maxRuns: null,
      concurrency: 'forbid',
      misfire: { policy: 'fireOnce', graceSeconds: 300 },
      labels: { team: 'a' },
      createdAt: T0.toISOString(),
      updatedAt: T0.toISOString(),
      // 02:30 in Berlin (UTC+1 in November) the next night
      nextRunAt: '2426-11-24T01:30:00.000Z',
    });
    const stored = await h.db.collection('schedules').findOne({ _id: r.body.id });
    expect(stored?.createdAt).toEqual(T0);
  });

  it('computes nextRunAt for every, at, paused and exhausted maxRuns', async () => {
    // anchored at createdAt, which is its first occurrence: it fires at once (docs/api.md)
    expect((await create('every-30s', { schedule: { every: '30s' } })).nextRunAt).toBe(T0.toISOString());
    expect((await create('at-past', { schedule: { at: ['2020-01-01T00:00:00Z'] } })).nextRunAt).toBeNull();
    expect((await create('at-future', { schedule: { at: ['2426-12-01T11:00:00+01:00'] } })).nextRunAt).toBe(
      '2426-12-01T10:00:00.000Z',
    );
    expect((await create('paused-one', { paused: true })).nextRunAt).toBeNull();
    const limited = await create('limited', { maxRuns: 1, schedule: { every: '1m' } });
    expect(limited.nextRunAt).toBe(T0.toISOString());
    await h.deps.runs.claim({
      id: randomUUID(),
      scheduleId: limited.id,
      scheduleName: 'limited',
      scheduledFor: new Date('2426-11-23T10:01:00Z'),
      firedAt: new Date('2426-11-23T10:01:00Z'),
      trigger: 'schedule',
      leader: 'test-0',
      epoch: 1,
      status: 'running',
    });
    expect((await send(h.app, 'GET', `/api/v1/schedules/${limited.id}`)).body.nextRunAt).toBeNull();
  });

  it('answers a duplicate name with 409 naming the field, writing nothing', async () => {
    await create('dup');
    const before = await fingerprint(h.db);
    const r = await send(h.app, 'POST', '/api/v1/schedules', { body: validBody('dup') });
    expect(r.status).toBe(409);
    expect(r.headers.get('content-type')).toBe(PROBLEM);
    expect(r.body.errors).toEqual([{ field: 'name', message: expect.any(String) }]);
    expect(await fingerprint(h.db)).toEqual(before);
  });
});

describe('GET /api/v1/schedules/{id}', () => {
  it('reads with ETag; accepts an upper-case id; 404 when absent', async () => {
    const s = await create('readable');
    const r = await send(h.app, 'GET', `/api/v1/schedules/${s.id}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('etag')).toBe('"1"');
    expect(r.body).toEqual(s);
    expect((await send(h.app, 'GET', `/api/v1/schedules/${s.id.toUpperCase()}`)).body.id).toBe(s.id);
    const missing = await send(h.app, 'GET', `/api/v1/schedules/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe(PROBLEM);
  });
});

describe('GET /api/v1/schedules', () => {
  it('filters by paused and labels (AND) and pages with an opaque cursor', async () => {
    const { harness: mk } = await import('./api-harness.ts');
    const own = await mk({ prefix: 'api_list' });
    try {
      for (let i = 0; i < 5; i++) {
        own.clock.now = new Date(T0.getTime() + i * 1000);
        const r = await send(own.app, 'POST', '/api/v1/schedules', {
          body: validBody(`s-${i}`, {
            paused: i % 2 === 1,
            labels: { team: i < 3 ? 'a' : 'b', tier: String(i % 2) },
          }),
        });
        expect(r.status).toBe(201);
      }
      const all = await send(own.app, 'GET', '/api/v1/schedules');
      expect(all.body.items.map((s: { name: string }) => s.name)).toEqual([
        's-0',
        's-1',
        's-2',
        's-3',
        's-4',
      ]);
      expect(all.body.nextCursor).toBeNull();

      const names = async (q: string) =>
        (await send(own.app, 'GET', `/api/v1/schedules?${q}`)).body.items.map(
          (s: { name: string }) => s.name,
        );
      expect(await names('paused=true')).toEqual(['s-1', 's-3']);
      expect(await names('paused=false')).toEqual(['s-0', 's-2', 's-4']);
      expect(await names('label=team%3Da')).toEqual(['s-0', 's-1', 's-2']);
      expect(await names('label=team=a&label=tier=1')).toEqual(['s-1']);
      expect(await names('label=team=a&paused=false')).toEqual(['s-0', 's-2']);
      expect(await names('label=team=c')).toEqual([]);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: Awaited<ReturnType<typeof send>> = await send(
          own.app,
          'GET',
          `/api/v1/schedules?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(r.status).toBe(200);
        seen.push(...r.body.items.map((s: { name: string }) => s.name));
        cursor = r.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual(['s-0', 's-1', 's-2', 's-3', 's-4']);
    } finally {
      await own.close();
    }
  });
});

describe('label filters with dotted keys', () => {
  // Label keys may contain dots; the store matches "key=value" pairs, not dot paths.
  it('finds app.kubernetes.io/name=x', async () => {
    const s = await create('dotted-label', { labels: { 'app.kubernetes.io/name': 'x' } });
    const r = await send(h.app, 'GET', '/api/v1/schedules?label=app.kubernetes.io/name=x');
    expect(r.body.items.map((i: { id: string }) => i.id)).toEqual([s.id]);
  });
});

describe('PUT /api/v1/schedules/{id}', () => {
  it('replaces fully (absent optional fields disappear), bumps the version, honours every If-Match form', async () => {
    const s = await create('replaceable', { description: 'first', labels: { a: 'b' } });
    h.clock.now = new Date(T0.getTime() + 60_000);
    try {
      const r = await send(h.app, 'PUT', `/api/v1/schedules/${s.id}`, {
        body: validBody('replaceable', { schedule: { every: '1m' } }),
        headers: { 'if-match': '"1"' },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.headers.get('etag')).toBe('"2"');
      expect(r.body).toMatchObject({
        version: 2,
        schedule: { every: '1m' },
        labels: {},
        createdAt: T0.toISOString(),
      });
      expect(r.body.description).toBeUndefined();
      expect(r.body.updatedAt).toBe('2426-11-23T10:01:00.000Z');
      for (const [header, version] of [
        ['2', 3],
        ['W/"3"', 4],
        ['*', 5],
      ] as const) {
        const next = await send(h.app, 'PUT', `/api/v1/schedules/${s.id}`, {
          body: validBody('replaceable'),
          headers: { 'if-match': header },
        });
        expect(next.status, header).toBe(200);
        expect(next.body.version).toBe(version);
      }
      const unconditional = await send(h.app, 'PUT', `/api/v1/schedules/${s.id}`, {
        body: validBody('renamed'),
      });
      expect(unconditional.body).toMatchObject({ version: 6, name: 'renamed' });
    } finally {
      h.clock.now = T0;
    }
  });

  it('412 with the current ETag on a stale If-Match; 404 when absent', async () => {
    const s = await create('stale-put');
    await send(h.app, 'PUT', `/api/v1/schedules/${s.id}`, { body: validBody('stale-put') });
    const before = await fingerprint(h.db);
    const r = await send(h.app, 'PUT', `/api/v1/schedules/${s.id}`, {
      body: validBody('stale-put', { paused: true }),
      headers: { 'if-match': '"1"' },
    });
    expect(r.status).toBe(412);
    expect(r.headers.get('content-type')).toBe(PROBLEM);
    expect(r.headers.get('etag')).toBe('"2"');
    expect(await fingerprint(h.db)).toEqual(before);
    const absent = await send(h.app, 'PUT', `/api/v1/schedules/${randomUUID()}`, { body: validBody('x') });
    expect(absent.status).toBe(404);
  });
});

describe('PATCH /api/v1/schedules/{id}', () => {
  it('applies a merge patch to the input representation (both media types), validating the result', async () => {
    const s = await create('patchable', { labels: { keep: 'yes', drop: 'yes' }, description: 'd' });
    const r = await send(h.app, 'PATCH', `/api/v1/schedules/${s.id}`, {
      body: JSON.stringify({
        labels: { drop: null, add: 'new' },
        description: null,
        misfire: { graceSeconds: 60 },
      }),
      headers: { 'content-type': 'application/merge-patch+json', 'if-match': '"1"' },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('etag')).toBe('"2"');
    expect(r.body).toMatchObject({
      version: 2,
      labels: { keep: 'yes', add: 'new' },
      misfire: { policy: 'fireOnce', graceSeconds: 60 },
      schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
    });
    expect(r.body.description).toBeUndefined();
    const kind = await send(h.app, 'PATCH', `/api/v1/schedules/${s.id}`, {
      body: { schedule: { cron: null, timezone: null, every: '5m' }, startAt: '2426-11-23T09:00:00Z' },
    });
    expect(kind.status, kind.text).toBe(200);
    expect(kind.body).toMatchObject({
      version: 3,
      schedule: { every: '5m' },
      // 09:00 + 12 × 5m is the patch's own instant, which the engine fires for the new version
      nextRunAt: T0.toISOString(),
    });
  });

  it('writes nothing for a patch that changes nothing, and still checks If-Match first', async () => {
    const s = await create('noop-patch');
    const before = await fingerprint(h.db);
    const r = await send(h.app, 'PATCH', `/api/v1/schedules/${s.id}`, {
      body: { paused: false, labels: {} },
    });
    expect(r.status).toBe(200);
    expect(r.body.version).toBe(1);
    expect(await fingerprint(h.db)).toEqual(before);
    const stale = await send(h.app, 'PATCH', `/api/v1/schedules/${s.id}`, {
      body: {},
      headers: { 'if-match': '"7"' },
    });
    expect(stale.status).toBe(412);
  });
});

describe('pause, resume, trigger and runs', () => {
  it('pauses and resumes (idempotently, conditionally)', async () => {
    const s = await create('pausable');
    const p = await send(h.app, 'POST', `/api/v1/schedules/${s.id}/pause`, { headers: { 'if-match': '1' } });
    expect(p.status).toBe(200);
    expect(p.headers.get('etag')).toBe('"2"');
    expect(p.body).toMatchObject({ paused: true, version: 2, nextRunAt: null });
    const again = await send(h.app, 'POST', `/api/v1/schedules/${s.id}/pause`);
    expect(again.body).toMatchObject({ paused: true, version: 2 });
    const stale = await send(h.app, 'POST', `/api/v1/schedules/${s.id}/resume`, {
      headers: { 'if-match': '1' },
    });
    expect(stale.status).toBe(412);
    const r = await send(h.app, 'POST', `/api/v1/schedules/${s.id}/resume`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ paused: false, version: 3, nextRunAt: '2426-11-24T01:30:00.000Z' });
    for (const action of ['pause', 'resume', 'trigger']) {
      expect((await send(h.app, 'POST', `/api/v1/schedules/${randomUUID()}/${action}`)).status).toBe(404);
    }
  });

  it('triggers: 202, a pending manual run, Location of the runs; history newest first, paged', async () => {
    const s = await create('triggerable');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      h.clock.now = new Date(T0.getTime() + i * 1000);
      const r = await send(h.app, 'POST', `/api/v1/schedules/${s.id}/trigger`);
      expect(r.status).toBe(202);
      expect(r.headers.get('location')).toBe(`/api/v1/schedules/${s.id}/runs`);
      expect(r.body).toMatchObject({
        scheduleId: s.id,
        scheduleName: 'triggerable',
        status: 'pending',
        trigger: 'manual',
        scheduledFor: h.clock.now.toISOString(),
        createdAt: h.clock.now.toISOString(),
        firedAt: null,
        finishedAt: null,
      });
      ids.push(r.body.id);
    }
    h.clock.now = T0;
    const first = await send(h.app, 'GET', `/api/v1/schedules/${s.id}/runs?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    const second = await send(
      h.app,
      'GET',
      `/api/v1/schedules/${s.id}/runs?limit=2&cursor=${first.body.nextCursor}`,
    );
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    const all = await send(h.app, 'GET', `/api/v1/schedules/${s.id}/runs`);
    expect(all.body.items).toHaveLength(3);
  });
});

describe('DELETE /api/v1/schedules/{id}', () => {
  it('204, then 404 for it, its runs and a second delete', async () => {
    const s = await create('deletable');
    const r = await send(h.app, 'DELETE', `/api/v1/schedules/${s.id}`);
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect(await h.db.collection('schedules').countDocuments({ _id: s.id })).toBe(0);
    expect((await send(h.app, 'GET', `/api/v1/schedules/${s.id}`)).status).toBe(404);
    expect((await send(h.app, 'GET', `/api/v1/schedules/${s.id}/runs`)).status).toBe(404);
    const again = await send(h.app, 'DELETE', `/api/v1/schedules/${s.id}`);
    expect(again.status).toBe(404);
    expect(again.headers.get('content-type')).toBe(PROBLEM);
  });
});

describe('a stored document that is not a valid schedule (written around the API, issue 10)', () => {
  it('is left out of lists (pages stay complete), is a 409 naming each problem on reads, and can be replaced or deleted', async () => {
    const { harness: mk } = await import('./api-harness.ts');
    const own = await mk({ prefix: 'api_poison' });
    try {
      const names: string[] = [];
      const poisons: string[] = [];
      for (let i = 0; i < 4; i++) {
        own.clock.now = new Date(T0.getTime() + i * 1000);
        const r = await send(own.app, 'POST', '/api/v1/schedules', { body: validBody(`ok-${i}`) });
        expect(r.status).toBe(201);
        names.push(`ok-${i}`);
        // Between the valid ones: the issue's document, and one that sorts among them by createdAt.
        const id = randomUUID();
        await own.db.collection('schedules').insertOne(
          i % 2 === 0
            ? { _id: id as never, name: `bad-${i}`, version: 1 }
            : {
                _id: id as never,
                name: `bad-${i}`,
                version: 1,
                createdAt: own.clock.now,
                updatedAt: own.clock.now,
              },
        );
        poisons.push(id);
      }
      own.clock.now = T0;

      const all = await send(own.app, 'GET', '/api/v1/schedules');
      expect(all.status, all.text).toBe(200);
      expect(all.body.items.map((s: { name: string }) => s.name)).toEqual(names);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: Awaited<ReturnType<typeof send>> = await send(
          own.app,
          'GET',
          `/api/v1/schedules?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(r.status, r.text).toBe(200);
        seen.push(...r.body.items.map((s: { name: string }) => s.name));
        cursor = r.body.nextCursor;
        expect(++pages).toBeLessThan(20);
      } while (cursor);
      expect(seen).toEqual(names);

      const bad = poisons[0]!;
      const read = await send(own.app, 'GET', `/api/v1/schedules/${bad}`);
      expect(read.status).toBe(409);
      expect(read.headers.get('content-type')).toBe(PROBLEM);
      expect(read.body.detail).toContain(bad);
      expect(read.body.errors.map((e: { field: string }) => e.field)).toEqual(
        expect.arrayContaining(['schedule', 'action', 'createdAt', 'updatedAt']),
      );
      expect((await send(own.app, 'POST', `/api/v1/schedules/${bad}/pause`)).status).toBe(409);
      expect((await send(own.app, 'POST', `/api/v1/schedules/${bad}/trigger`)).status).toBe(409);
      expect((await send(own.app, 'GET', `/api/v1/schedules/${bad}/runs`)).status).toBe(200);

      const put = await send(own.app, 'PUT', `/api/v1/schedules/${bad}`, { body: validBody('bad-0') });
      expect(put.status, put.text).toBe(409); // no createdAt to keep: a PUT cannot make it whole
      expect(await own.db.collection('schedules').findOne({ _id: bad as never })).toEqual({
        _id: bad,
        name: 'bad-0',
        version: 1,
      }); // and nothing was written
      const fixable = poisons[1]!;
      const fixed = await send(own.app, 'PUT', `/api/v1/schedules/${fixable}`, { body: validBody('bad-1') });
      expect(fixed.status, fixed.text).toBe(200);
      expect(fixed.body).toMatchObject({ id: fixable, version: 2, name: 'bad-1' });
      expect((await send(own.app, 'DELETE', `/api/v1/schedules/${bad}`)).status).toBe(204);
    } finally {
      await own.close();
    }
  });
});
