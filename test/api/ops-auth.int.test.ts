// Everything around the routes: bearer auth on /api/ only, probes, metrics by route
// pattern, request ids in headers and logs, 500/503 mapping, cluster status, and the
// OpenAPI document (valid 3.1, covering every route the app registers).
import { Validator } from '@seriousme/openapi-schema-validator';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../../src/api/types.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import { fingerprint, type Harness, harness, PROBLEM, send, validBody } from './api-harness.ts';

const TOKEN = 'a-test-token-of-32-characters!!!';
const OPEN_PATHS = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs'];

describe('auth', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ prefix: 'api_auth', apiToken: TOKEN });
  });
  afterAll(async () => h.close());

  it('requires the bearer token on every /api/ route, with a challenge, writing nothing', async () => {
    const before = await fingerprint(h.db);
    const cases: [string, string, Record<string, string>, string][] = [
      ['GET', '/api/v1/schedules', {}, 'Bearer realm="leasecron"'],
      ['POST', '/api/v1/schedules', {}, 'Bearer realm="leasecron"'],
      ['GET', '/api/v1/cluster', {}, 'Bearer realm="leasecron"'],
      ['GET', '/api/v1/nothing', {}, 'Bearer realm="leasecron"'],
      [
        'POST',
        '/api/v1/schedules',
        { authorization: `Bearer ${TOKEN}x` },
        'Bearer realm="leasecron", error="invalid_token"',
      ],
      ['GET', '/api/v1/schedules', { authorization: `Basic ${TOKEN}` }, 'Bearer realm="leasecron"'],
      [
        'GET',
        '/api/v1/schedules',
        { authorization: `Bearer ${TOKEN.slice(1)}` },
        'Bearer realm="leasecron", error="invalid_token"',
      ],
    ];
    for (const [method, path, headers, challenge] of cases) {
      const r = await send(h.app, method, path, {
        headers,
        ...(method === 'POST' ? { body: validBody('x') } : {}),
      });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.headers.get('content-type')).toBe(PROBLEM);
      expect(r.headers.get('www-authenticate')).toBe(challenge);
      expect(r.text).not.toContain(TOKEN);
    }
    expect(await fingerprint(h.db)).toEqual(before);
  });

  it('serves /api/ with the right token (scheme case-insensitive)', async () => {
    const created = await send(h.app, 'POST', '/api/v1/schedules', {
      body: validBody('authed'),
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(created.status).toBe(201);
    const list = await send(h.app, 'GET', '/api/v1/schedules', {
      headers: { authorization: `bearer ${TOKEN}` },
    });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
  });

  it('leaves probes, metrics and docs open', async () => {
    for (const path of OPEN_PATHS) expect((await send(h.app, 'GET', path)).status, path).toBe(200);
  });

  it('is off only under AUTH=none (an explicit choice; the server never defaults to it)', async () => {
    const open = await harness({ prefix: 'api_noauth' });
    try {
      expect(open.deps.auth.mode).toBe('none');
      expect((await send(open.app, 'GET', '/api/v1/schedules')).status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('AUTH=token: the static token is an admin in every namespace', async () => {
    const r = await send(h.app, 'POST', '/api/v1/namespaces/team-x/schedules', {
      body: validBody('token-admin'),
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect([r.status, r.body.namespace]).toEqual([201, 'team-x']);
  });
});

describe('operations', () => {
  let h: Harness;
  let ready = true;
  let cluster: ClusterStatus | Error | undefined;
  beforeAll(async () => {
    h = await harness({
      prefix: 'api_ops',
      overrides: {
        ready: async () => {
          if (!ready) throw new Error('ping failed');
          return true;
        },
        cluster: () => {
          if (cluster instanceof Error) throw cluster;
          if (!cluster) throw new Error('not set');
          return cluster;
        },
      },
    });
  });
  afterAll(async () => h.close());

  it('/healthz and /readyz', async () => {
    expect(await send(h.app, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect((await h.app.request('/healthz', { method: 'HEAD' })).status).toBe(200);
    expect(await send(h.app, 'GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
    ready = false;
    const r = await send(h.app, 'GET', '/readyz');
    ready = true;
    expect(r.status).toBe(503);
    expect(r.headers.get('content-type')).toBe(PROBLEM);
    expect(h.logs.some((l) => l.msg === 'readiness check failed')).toBe(true);
  });

  it('logs probe and scrape requests at debug (one line every few seconds per probe is noise), failures as usual', async () => {
    h.logs.length = 0;
    await send(h.app, 'GET', '/healthz');
    await send(h.app, 'GET', '/readyz');
    await h.app.request('/metrics');
    await send(h.app, 'GET', '/api/v1/schedules');
    ready = false;
    await send(h.app, 'GET', '/readyz');
    ready = true;
    // the harness logs at info: debug lines are not written
    const lines = h.logs.filter((l) => l.msg === 'request').map((l) => `${l.path} ${l.status}`);
    expect(lines).toEqual(['/api/v1/schedules 200', '/readyz 503']);
  });

  it('/readyz answers from the real database', async () => {
    const real = await harness({ prefix: 'api_ready' });
    try {
      expect((await send(real.app, 'GET', '/readyz')).status).toBe(200);
    } finally {
      await real.close();
    }
  });

  it('/metrics: HTTP metrics by route pattern, engine metrics, process metrics', async () => {
    const s = await send(h.app, 'POST', '/api/v1/schedules', { body: validBody('metered') });
    await send(h.app, 'GET', `/api/v1/schedules/${s.body.id}`);
    await send(h.app, 'GET', '/nowhere');
    await send(h.app, 'PROPFIND', `/api/v1/schedules/${s.body.id}`);
    const r = await h.app.request('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(text).toContain(
      'leasecron_http_requests_total{method="GET",route="/api/v1/schedules/:id",status="200"} 1',
    );
    expect(text).toContain(
      'leasecron_http_requests_total{method="POST",route="/api/v1/schedules",status="201"} 1',
    );
    expect(text).toContain('leasecron_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    // a 405 is labelled by the path it was refused on, as a 2xx is
    expect(text).toContain(
      'leasecron_http_requests_total{method="OTHER",route="/api/v1/schedules/:id",status="405"} 1',
    );
    expect(text).toMatch(
      /leasecron_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/v1\/schedules\/:id"\}/,
    );
    expect(text).not.toContain(s.body.id);
    for (const name of [
      'leasecron_is_leader',
      'leasecron_leader_transitions_total',
      'leasecron_armed_schedules',
      'leasecron_invalid_schedules',
      'leasecron_fires_total',
      'leasecron_fire_lateness_seconds',
      'leasecron_missed_occurrences_total',
      'leasecron_change_stream_events_total',
      'leasecron_change_stream_restarts_total',
      'process_cpu_user_seconds_total',
      'nodejs_heap_size_total_bytes',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
  });

  it('keeps registries apart: several createMetrics() in one process', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.engine.fires.inc({ result: 'succeeded' });
    expect(await a.registry.getSingleMetricAsString('leasecron_fires_total')).toContain(
      'result="succeeded"} 1',
    );
    expect(await b.registry.getSingleMetricAsString('leasecron_fires_total')).not.toContain(
      'result="succeeded"',
    );
  });

  it('request ids: a sane X-Request-Id is honoured and echoed; one log line per request', async () => {
    const r = await send(h.app, 'GET', '/api/v1/schedules?limit=1', {
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(r.headers.get('x-request-id')).toBe('abc-123');
    const line = h.logs.find((l) => l.requestId === 'abc-123');
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request',
      identity: 'test-0',
      method: 'GET',
      route: '/api/v1/schedules',
      path: '/api/v1/schedules',
      status: 200,
      durationMs: expect.any(Number),
    });
    expect(h.logs.filter((l) => l.requestId === 'abc-123')).toHaveLength(1);
    const insane = await send(h.app, 'GET', '/healthz', { headers: { 'x-request-id': 'x'.repeat(300) } });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await send(h.app, 'GET', '/api/v1/schedules/nope');
    expect(bad.body.requestId).toBe(bad.headers.get('x-request-id'));
  });

  it('an unexpected error is a 500 whose request id is in the body, the header and the error log', async () => {
    cluster = new Error('boom: secret detail');
    const r = await send(h.app, 'GET', '/api/v1/cluster');
    expect(r.status).toBe(500);
    expect(r.headers.get('content-type')).toBe(PROBLEM);
    expect(r.text).not.toContain('secret detail');
    const id = r.body.requestId as string;
    expect(id).toBe(r.headers.get('x-request-id'));
    expect(r.body.detail).toContain(id);
    const errorLine = h.logs.find((l) => l.level === 'error' && l.requestId === id);
    expect(errorLine?.msg).toBe('unexpected error');
    expect(JSON.stringify(errorLine?.err)).toContain('secret detail');
  });

  it('/api/v1/cluster: the status when election runs, 503 when it does not', async () => {
    cluster = {
      identity: 'leasecron-0',
      role: 'leader',
      leader: 'leasecron-0',
      leaseTransitions: 3,
      renewTime: '2026-11-23T10:00:00.000000Z',
      acquireTime: '2026-11-23T09:00:00.000000Z',
      leaseName: 'leasecron',
      namespace: 'default',
    };
    // The `operations` harness runs with AUTH=none: the status says so, loudly.
    expect(await send(h.app, 'GET', '/api/v1/cluster')).toMatchObject({
      status: 200,
      body: {
        ...cluster,
        auth: { mode: 'none', warning: 'AUTH=none: the API is open to anyone who can reach it' },
      },
    });
    const none = await harness({ prefix: 'api_nocluster' });
    try {
      const r = await send(none.app, 'GET', '/api/v1/cluster');
      expect(r.status).toBe(503);
      expect(r.body.detail).toBe('leader election not running');
    } finally {
      await none.close();
    }
  });

  it('an unreachable database is a 503 with Retry-After', async () => {
    const dead = new MongoClient('mongodb://127.0.0.1:1/?directConnection=true', {
      serverSelectionTimeoutMS: 300,
    });
    const down = await harness({
      prefix: 'api_down',
      overrides: { schedules: new MongoScheduleStore(dead.db('x')) },
    });
    try {
      const r = await send(down.app, 'GET', '/api/v1/schedules');
      expect(r.status).toBe(503);
      expect(r.headers.get('content-type')).toBe(PROBLEM);
      expect(r.headers.get('retry-after')).toBe('1');
    } finally {
      await down.close();
      await dead.close();
    }
  });
});

describe('OpenAPI', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ prefix: 'api_openapi' });
  });
  afterAll(async () => h.close());

  it('/openapi.json validates as OpenAPI 3.1 and documents every route the app serves', async () => {
    const r = await send(h.app, 'GET', '/openapi.json');
    expect(r.status).toBe(200);
    const result = await new Validator().validate(r.body);
    expect(result.errors).toBeUndefined();
    expect(r.body.openapi).toBe('3.1.0');
    expect(r.body.components.securitySchemes.bearerAuth).toEqual(
      expect.objectContaining({ scheme: 'bearer' }),
    );
    const served = h.app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    const documented = Object.entries(r.body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    // every served route is documented (405 handlers aside)
    for (const route of new Set(served)) {
      if (documented.includes(route)) continue;
      const probe = await h.app.request(
        route
          .split(' ')[1]!
          .replace('{id}', '00000000-0000-4000-8000-000000000000')
          .replace('{namespace}', 'default'),
        {
          method: route.split(' ')[0]!,
        },
      );
      expect(probe.status, route).toBe(405);
    }
    expect(documented.length).toBe(18 + 10); // the 10 schedule operations again under /api/v1/namespaces/{namespace}/;
  });

  it('/docs is HTML built from the document, with no external resources', async () => {
    const r = await h.app.request('/docs');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await r.text();
    for (const op of [
      'listSchedules',
      'createSchedule',
      'patchSchedule',
      'triggerSchedule',
      'listRuns',
      'getCluster',
    ])
      expect(html).toContain(`id="${op}"`);
    expect(html).toContain('href="/openapi.json"');
    expect(html).not.toMatch(/<script|src="http/i);
  });
});
