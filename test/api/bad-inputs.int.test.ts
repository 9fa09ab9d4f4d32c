// The 4xx contract as a table: each bad request gets the right status, an RFC 9457
// problem naming each bad field, and leaves every collection exactly as it was.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT, fingerprint, type Harness, harness, PROBLEM, send, validBody } from './api-harness.ts';

let h: Harness;
let ids: { existing: string; other: string };
let before: Awaited<ReturnType<typeof fingerprint>>;

beforeAll(async () => {
  h = await harness({ prefix: 'api_bad' });
  const existing = await send(h.app, 'POST', '/api/v1/schedules', { body: validBody('existing') });
  const other = await send(h.app, 'POST', '/api/v1/schedules', { body: validBody('other') });
  ids = { existing: existing.body.id, other: other.body.id };
  await send(h.app, 'POST', `/api/v1/schedules/${ids.existing}/trigger`);
  before = await fingerprint(h.db);
  expect(before.schedules.count).toBe(2);
  expect(before.runs.count).toBe(1);
});
afterAll(async () => h.close());

interface Bad {
  name: string;
  method?: string;
  path?: string | ((i: typeof ids) => string);
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  /** exactly these errors[].field values, in any order (omitted: not checked) */
  fields?: string[];
}

const POST = '/api/v1/schedules';
const one = (i: typeof ids) => `/api/v1/schedules/${i.existing}`;
const absent = () => `/api/v1/schedules/${randomUUID()}`;
const deep = (n: number): unknown => (n === 0 ? 1 : { a: deep(n - 1) });
const sched = (schedule: unknown) => ({ ...validBody('n'), schedule });
const action = (a: unknown) => ({ ...validBody('n'), action: a });
const http = (extra: Record<string, unknown>) => action({ type: 'http', url: 'http://svc/run', ...extra });

const table: Bad[] = [
  // ---- schedule spec
  { name: 'bad cron', body: sched({ cron: 'not a cron' }), status: 400, fields: ['schedule.cron'] },
  {
    name: 'cron with 7 fields',
    body: sched({ cron: '* * * * * * *' }),
    status: 400,
    fields: ['schedule.cron'],
  },
  { name: 'cron out of range', body: sched({ cron: '61 * * * *' }), status: 400, fields: ['schedule.cron'] },
  {
    name: 'unknown zone',
    body: sched({ cron: '* * * * *', timezone: 'Mars/Olympus' }),
    status: 400,
    fields: ['schedule.timezone'],
  },
  { name: "every: '0s'", body: sched({ every: '0s' }), status: 400, fields: ['schedule.every'] },
  { name: 'every below 1s', body: sched({ every: '500ms' }), status: 400, fields: ['schedule.every'] },
  { name: 'every bad unit', body: sched({ every: '10x' }), status: 400, fields: ['schedule.every'] },
  { name: 'at empty', body: sched({ at: [] }), status: 400, fields: ['schedule.at'] },
  { name: 'at not ISO', body: sched({ at: ['yesterday'] }), status: 400, fields: ['schedule.at.0'] },
  {
    name: 'cron and every',
    body: sched({ cron: '* * * * *', every: '1m' }),
    status: 400,
    fields: ['schedule'],
  },
  { name: 'empty schedule', body: sched({}), status: 400, fields: ['schedule'] },
  { name: 'schedule wrong type', body: sched('* * * * *'), status: 400, fields: ['schedule'] },
  // ---- instants and numbers
  {
    name: 'endAt before startAt',
    body: validBody('n', { startAt: '2426-12-02T00:00:00Z', endAt: '2426-12-01T00:00:00Z' }),
    status: 400,
    fields: ['endAt'],
  },
  {
    name: 'startAt not ISO',
    body: validBody('n', { startAt: 'tomorrow' }),
    status: 400,
    fields: ['startAt'],
  },
  {
    name: 'startAt without offset',
    body: validBody('n', { startAt: '2426-12-01T10:00:00' }),
    status: 400,
    fields: ['startAt'],
  },
  { name: 'maxRuns 0', body: validBody('n', { maxRuns: 0 }), status: 400, fields: ['maxRuns'] },
  { name: 'maxRuns fractional', body: validBody('n', { maxRuns: 1.5 }), status: 400, fields: ['maxRuns'] },
  { name: 'maxRuns as string', body: validBody('n', { maxRuns: '3' }), status: 400, fields: ['maxRuns'] },
  // ---- wrong types and enums
  { name: 'name is a number', body: validBody('n', { name: 5 }), status: 400, fields: ['name'] },
  { name: 'name not a DNS label', body: validBody('Bad_Name'), status: 400, fields: ['name'] },
  {
    name: 'name missing',
    body: { schedule: { every: '1m' }, action: { type: 'log' } },
    status: 400,
    fields: ['name'],
  },
  { name: 'paused as string', body: validBody('n', { paused: 'yes' }), status: 400, fields: ['paused'] },
  {
    name: 'unknown concurrency',
    body: validBody('n', { concurrency: 'sometimes' }),
    status: 400,
    fields: ['concurrency'],
  },
  {
    name: 'unknown misfire policy',
    body: validBody('n', { misfire: { policy: 'never' } }),
    status: 400,
    fields: ['misfire.policy'],
  },
  {
    name: 'negative grace',
    body: validBody('n', { misfire: { graceSeconds: -1 } }),
    status: 400,
    fields: ['misfire.graceSeconds'],
  },
  {
    name: 'bad label key',
    body: validBody('n', { labels: { 'bad key': 'x' } }),
    status: 400,
    fields: ['labels.bad key'],
  },
  {
    name: 'bad label value',
    body: validBody('n', { labels: { k: 'bad value' } }),
    status: 400,
    fields: ['labels.k'],
  },
  // ---- actions
  { name: 'unknown action type', body: action({ type: 'email' }), status: 400, fields: ['action.type'] },
  { name: 'action missing', body: { name: 'n', schedule: { every: '1m' } }, status: 400, fields: ['action'] },
  { name: 'http without url', body: action({ type: 'http' }), status: 400, fields: ['action.url'] },
  { name: 'http ftp url', body: http({ url: 'ftp://x/y' }), status: 400, fields: ['action.url'] },
  { name: 'http unknown method', body: http({ method: 'FETCH' }), status: 400, fields: ['action.method'] },
  { name: 'http timeout 0', body: http({ timeoutMs: 0 }), status: 400, fields: ['action.timeoutMs'] },
  {
    name: 'retry 11 attempts',
    body: http({ retry: { maxAttempts: 11 } }),
    status: 400,
    fields: ['action.retry.maxAttempts'],
  },
  {
    name: 'header with CRLF',
    body: http({ headers: { 'x-a': 'a\r\nb' } }),
    status: 400,
    fields: ['action.headers.x-a'],
  },
  {
    name: 'kubernetesJob bad namespace, no spec',
    body: action({ type: 'kubernetesJob', namespace: 'Bad_NS', template: {} }),
    status: 400,
    fields: ['action.namespace', 'action.template.spec'],
  },
  // ---- unknown fields
  { name: 'unknown root field', body: validBody('n', { foo: 1 }), status: 400, fields: ['foo'] },
  {
    name: 'unknown field in schedule',
    body: sched({ cron: '* * * * *', extra: 1 }),
    status: 400,
    fields: ['schedule.extra'],
  },
  {
    name: 'unknown field in retry',
    body: http({ retry: { jitter: true } }),
    status: 400,
    fields: ['action.retry.jitter'],
  },
  {
    name: 'server field id in body',
    body: validBody('n', { id: 'x', version: 1 }),
    status: 400,
    fields: ['id', 'version'],
  },
  {
    name: '__proto__ key',
    body: `{"name":"n","schedule":{"every":"1m"},"action":{"type":"log"},"__proto__":{"x":1}}`,
    headers: { 'content-type': 'application/json' },
    status: 400,
    fields: ['__proto__'],
  },
  {
    name: 'several problems at once',
    body: { name: 'Bad!', schedule: { cron: 'nope' }, action: { type: 'log' }, foo: 1 },
    status: 400,
    fields: ['name', 'schedule.cron', 'foo'],
  },
  // ---- body framing
  { name: 'JSON array body', body: [], status: 400, fields: [''] },
  {
    name: 'JSON null body',
    body: 'null',
    headers: { 'content-type': 'application/json' },
    status: 400,
    fields: [''],
  },
  {
    name: 'non-JSON body',
    body: '{"name":',
    headers: { 'content-type': 'application/json' },
    status: 400,
    fields: [''],
  },
  {
    name: 'empty body',
    body: '',
    headers: { 'content-type': 'application/json' },
    status: 400,
    fields: [''],
  },
  {
    name: 'text/plain',
    body: JSON.stringify(validBody('n')),
    headers: { 'content-type': 'text/plain' },
    status: 415,
  },
  { name: 'no content-type', body: JSON.stringify(validBody('n')), status: 415 },
  {
    name: 'latin-1 charset',
    body: JSON.stringify(validBody('n')),
    headers: { 'content-type': 'application/json; charset=iso-8859-1' },
    status: 415,
  },
  {
    name: 'merge-patch type on POST',
    body: JSON.stringify(validBody('n')),
    headers: { 'content-type': 'application/merge-patch+json' },
    status: 415,
  },
  {
    name: 'huge body (streamed)',
    body: validBody('n', { description: 'x'.repeat(BODY_LIMIT) }),
    status: 413,
  },
  {
    name: 'huge body (content-length)',
    body: JSON.stringify(validBody('n', { description: 'x'.repeat(BODY_LIMIT) })),
    headers: { 'content-type': 'application/json', 'content-length': String(BODY_LIMIT + 200) },
    status: 413,
  },
  { name: 'nested too deep', body: http({ body: deep(100) }), status: 400, fields: [''] },
  // ---- ids
  { name: 'GET bad id', method: 'GET', path: '/api/v1/schedules/not-a-uuid', status: 400, fields: ['id'] },
  {
    name: 'PUT bad id',
    method: 'PUT',
    path: '/api/v1/schedules/123',
    body: validBody('n'),
    status: 400,
    fields: ['id'],
  },
  {
    name: 'PATCH bad id',
    method: 'PATCH',
    path: '/api/v1/schedules/123',
    body: {},
    status: 400,
    fields: ['id'],
  },
  { name: 'DELETE bad id', method: 'DELETE', path: '/api/v1/schedules/%00', status: 400, fields: ['id'] },
  { name: 'pause bad id', path: '/api/v1/schedules/x/pause', status: 400, fields: ['id'] },
  { name: 'trigger bad id', path: '/api/v1/schedules/x/trigger', status: 400, fields: ['id'] },
  { name: 'runs bad id', method: 'GET', path: '/api/v1/schedules/x/runs', status: 400, fields: ['id'] },
  { name: 'GET absent', method: 'GET', path: absent, status: 404 },
  { name: 'PUT absent', method: 'PUT', path: absent, body: validBody('absent'), status: 404 },
  { name: 'PATCH absent', method: 'PATCH', path: absent, body: { paused: true }, status: 404 },
  { name: 'DELETE absent', method: 'DELETE', path: absent, status: 404 },
  { name: 'resume absent', path: () => `${absent()}/resume`, status: 404 },
  { name: 'trigger absent', path: () => `${absent()}/trigger`, status: 404 },
  { name: 'runs of absent', method: 'GET', path: () => `${absent()}/runs`, status: 404 },
  // ---- list parameters
  {
    name: 'cursor not base64url',
    method: 'GET',
    path: `${POST}?cursor=garbage!!`,
    status: 400,
    fields: ['cursor'],
  },
  {
    name: 'cursor of wrong shape',
    method: 'GET',
    path: `${POST}?cursor=eyJhIjoxfQ`,
    status: 400,
    fields: ['cursor'],
  },
  { name: 'cursor empty', method: 'GET', path: `${POST}?cursor=`, status: 400, fields: ['cursor'] },
  {
    name: 'runs cursor bad',
    method: 'GET',
    path: (i) => `${one(i)}/runs?cursor=%7B%7D`,
    status: 400,
    fields: ['cursor'],
  },
  { name: 'limit 0', method: 'GET', path: `${POST}?limit=0`, status: 400, fields: ['limit'] },
  { name: 'limit 501', method: 'GET', path: `${POST}?limit=501`, status: 400, fields: ['limit'] },
  { name: 'limit not a number', method: 'GET', path: `${POST}?limit=ten`, status: 400, fields: ['limit'] },
  {
    name: 'runs limit bad',
    method: 'GET',
    path: (i) => `${one(i)}/runs?limit=-1`,
    status: 400,
    fields: ['limit'],
  },
  { name: 'paused=maybe', method: 'GET', path: `${POST}?paused=maybe`, status: 400, fields: ['paused'] },
  { name: 'label without =', method: 'GET', path: `${POST}?label=team`, status: 400, fields: ['label'] },
  { name: 'label bad key', method: 'GET', path: `${POST}?label=bad%20key=a`, status: 400, fields: ['label'] },
  {
    name: 'label twice, different values',
    method: 'GET',
    path: `${POST}?label=a=1&label=a=2`,
    status: 400,
    fields: ['label'],
  },
  {
    name: 'unknown query parameter',
    method: 'GET',
    path: `${POST}?labels=a=1`,
    status: 400,
    fields: ['labels'],
  },
  // ---- If-Match and conflicts
  {
    name: 'If-Match not a version',
    method: 'PUT',
    path: one,
    body: validBody('existing'),
    headers: { 'if-match': '"abc"' },
    status: 400,
    fields: ['If-Match'],
  },
  {
    name: 'If-Match list',
    method: 'PUT',
    path: one,
    body: validBody('existing'),
    headers: { 'if-match': '"1", "2"' },
    status: 400,
    fields: ['If-Match'],
  },
  {
    name: 'If-Match 0',
    method: 'PATCH',
    path: one,
    body: { paused: true },
    headers: { 'if-match': '0' },
    status: 400,
    fields: ['If-Match'],
  },
  {
    name: 'DELETE stale If-Match',
    method: 'DELETE',
    path: one,
    headers: { 'if-match': '"9"' },
    status: 412,
  },
  {
    name: 'DELETE malformed If-Match',
    method: 'DELETE',
    path: one,
    headers: { 'if-match': 'soon' },
    status: 400,
    fields: ['If-Match'],
  },
  {
    name: 'PUT stale If-Match',
    method: 'PUT',
    path: one,
    body: validBody('existing'),
    headers: { 'if-match': '"9"' },
    status: 412,
  },
  {
    name: 'PATCH stale If-Match',
    method: 'PATCH',
    path: one,
    body: { paused: true },
    headers: { 'if-match': 'W/"9"' },
    status: 412,
  },
  { name: 'pause stale If-Match', path: (i) => `${one(i)}/pause`, headers: { 'if-match': '9' }, status: 412 },
  { name: 'POST duplicate name', body: validBody('existing'), status: 409, fields: ['name'] },
  {
    name: 'PUT rename to a taken name',
    method: 'PUT',
    path: one,
    body: validBody('other'),
    status: 409,
    fields: ['name'],
  },
  {
    name: 'PATCH rename to a taken name',
    method: 'PATCH',
    path: one,
    body: { name: 'other' },
    status: 409,
    fields: ['name'],
  },
  // ---- PUT and PATCH bodies
  {
    name: 'PUT invalid body',
    method: 'PUT',
    path: one,
    body: sched({ every: '0s' }),
    status: 400,
    fields: ['schedule.every'],
  },
  {
    name: 'PUT with server fields',
    method: 'PUT',
    path: one,
    body: validBody('existing', { version: 1, createdAt: '2426-01-01T00:00:00Z' }),
    status: 400,
    fields: ['version', 'createdAt'],
  },
  {
    name: 'PATCH to two schedule kinds',
    method: 'PATCH',
    path: one,
    body: { schedule: { every: '1m' } },
    status: 400,
    fields: ['schedule'],
  },
  {
    name: 'PATCH removing name',
    method: 'PATCH',
    path: one,
    body: { name: null },
    status: 400,
    fields: ['name'],
  },
  {
    name: 'PATCH to http without url',
    method: 'PATCH',
    path: one,
    body: { action: { type: 'http' } },
    status: 400,
    fields: ['action.url'],
  },
  {
    name: 'PATCH endAt before startAt',
    method: 'PATCH',
    path: one,
    body: { startAt: '2427-01-02T00:00:00Z', endAt: '2427-01-01T00:00:00Z' },
    status: 400,
    fields: ['endAt'],
  },
  {
    name: 'PATCH unknown field',
    method: 'PATCH',
    path: one,
    body: { nope: true },
    status: 400,
    fields: ['nope'],
  },
  {
    name: 'PATCH server field',
    method: 'PATCH',
    path: one,
    body: { nextRunAt: null, version: 5 },
    status: 400,
    fields: ['version'],
  },
  { name: 'PATCH not an object', method: 'PATCH', path: one, body: [1], status: 400, fields: [''] },
  {
    name: 'PATCH non-JSON',
    method: 'PATCH',
    path: one,
    body: 'paused=true',
    headers: { 'content-type': 'application/merge-patch+json' },
    status: 400,
    fields: [''],
  },
  {
    name: 'PATCH text/plain',
    method: 'PATCH',
    path: one,
    body: '{}',
    headers: { 'content-type': 'text/plain' },
    status: 415,
  },
  {
    name: 'PATCH json-patch type',
    method: 'PATCH',
    path: one,
    body: '[]',
    headers: { 'content-type': 'application/json-patch+json' },
    status: 415,
  },
  // ---- routing
  { name: 'method not allowed', method: 'DELETE', path: POST, status: 405 },
  { name: 'unknown method (PROPFIND)', method: 'PROPFIND', path: POST, status: 405 },
  { name: 'unknown method on /healthz', method: 'PURGE', path: '/healthz', status: 405 },
  { name: 'unknown route', method: 'GET', path: '/api/v1/nothing', status: 404 },
];

describe('bad inputs', () => {
  it('has at least 40 rows', () => expect(table.length).toBeGreaterThanOrEqual(40));

  it.each(table.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const path = typeof row.path === 'function' ? row.path(ids) : (row.path ?? POST);
    const r = await send(h.app, row.method ?? 'POST', path, {
      ...(row.body === undefined ? {} : { body: row.body }),
      ...(row.headers ? { headers: row.headers } : {}),
    });
    expect(r.status, r.text).toBe(row.status);
    expect(r.headers.get('content-type')).toBe(PROBLEM);
    expect(r.body).toMatchObject({
      type: expect.stringMatching(/^urn:leasecron:problem:/),
      title: expect.any(String),
      status: row.status,
      detail: expect.any(String),
      instance: new URL(path, 'http://x').pathname,
      errors: expect.any(Array),
    });
    expect(r.body.requestId).toBe(r.headers.get('x-request-id'));
    if (row.fields)
      expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([...row.fields].sort());
    expect(await fingerprint(h.db)).toEqual(before);
  });

  it('says which methods are allowed on a 405 and which types on a 415', async () => {
    const r405 = await send(h.app, 'DELETE', POST);
    expect(r405.headers.get('allow')).toBe('GET, HEAD, POST');
    const r415 = await send(h.app, 'PATCH', one(ids), {
      body: '{}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(r415.headers.get('accept-patch')).toBe('application/merge-patch+json, application/json');
  });

  it('refuses invalid UTF-8 in a string with a 400 naming the field, instead of storing U+FFFD', async () => {
    const json = (bytes: number[]) => {
      const [before, after] = JSON.stringify(
        validBody('utf8', { action: { type: 'log', message: 'XX' }, labels: { team: 'a' } }),
      ).split('XX');
      return new Uint8Array([...Buffer.from(before!), ...bytes, ...Buffer.from(after!)]);
    };
    for (const bytes of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0x61, 0xe2, 0x82]]) {
      const res = await h.app.request(POST, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: json(bytes),
      });
      const body = (await res.json()) as { errors: { field: string; message: string }[] };
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toBe(PROBLEM);
      expect(body.errors).toEqual([{ field: 'action.message', message: expect.stringMatching(/UTF-8/) }]);
    }
    // the same body with a real U+FFFD, sent as valid UTF-8, is accepted
    const ok = await send(h.app, 'POST', POST, {
      body: validBody('utf8-ok', { action: { type: 'log', message: 'a\uFFFDb' } }),
    });
    expect(ok.status, ok.text).toBe(201);
    await send(h.app, 'DELETE', `${POST}/${ok.body.id}`);
    expect(await fingerprint(h.db)).toEqual(before);
  });
});
