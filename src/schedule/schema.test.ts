import { describe, expect, it } from 'vitest';
import { cidrs } from '../egress/cidr.ts';
import { createEgressPolicy } from '../egress/policy.ts';
import {
  type Schedule,
  ScheduleResponseSchema,
  scheduleJsonSchemas,
  toScheduleResponse,
  validateScheduleInput,
} from './schema.ts';

const base = {
  name: 'nightly-report',
  schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
  action: { type: 'log' },
};
const http = { type: 'http', url: 'http://reports.svc/run' };
const k8s = { type: 'kubernetesJob', template: { spec: { template: { spec: { containers: [] } } } } };

function errorsOf(body: unknown) {
  const result = validateScheduleInput(body);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.value)}`);
  return result.errors;
}
function parsed(body: unknown) {
  const result = validateScheduleInput(body);
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.errors)}`);
  return result.value;
}
const many = (n: number, value: (i: number) => string) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value(i)]));

describe('validateScheduleInput: bad input names each bad field', () => {
  it.each<[string, unknown, string[]]>([
    // schedule spec
    ['cron with a bad minute', { ...base, schedule: { cron: '61 * * * *' } }, ['schedule.cron']],
    ['cron with 4 fields', { ...base, schedule: { cron: '* * * *' } }, ['schedule.cron']],
    ['cron with 7 fields', { ...base, schedule: { cron: '0 0 0 1 1 * 2027' } }, ['schedule.cron']],
    ['cron that is a date', { ...base, schedule: { cron: '2026-12-01T10:00:00Z' } }, ['schedule.cron']],
    ['cron that never matches', { ...base, schedule: { cron: '0 0 30 2 *' } }, ['schedule.cron']],
    ['cron of the wrong type', { ...base, schedule: { cron: 5 } }, ['schedule.cron']],
    [
      'unknown time zone',
      { ...base, schedule: { cron: '* * * * *', timezone: 'Mars/Base' } },
      ['schedule.timezone'],
    ],
    [
      'offset instead of a zone',
      { ...base, schedule: { cron: '* * * * *', timezone: '+01:00' } },
      ['schedule.timezone'],
    ],
    [
      'bad cron and bad zone',
      { ...base, schedule: { cron: 'x', timezone: 'Mars/Base' } },
      ['schedule.cron', 'schedule.timezone'],
    ],
    ['two spec kinds at once', { ...base, schedule: { cron: '* * * * *', every: '5s' } }, ['schedule']],
    [
      'three spec kinds at once',
      { ...base, schedule: { cron: '* * * * *', every: '5s', at: ['2026-12-01T10:00:00Z'] } },
      ['schedule'],
    ],
    ['empty spec', { ...base, schedule: {} }, ['schedule']],
    ['spec of the wrong type', { ...base, schedule: '*/5 * * * *' }, ['schedule']],
    ['timezone with every', { ...base, schedule: { every: '5s', timezone: 'UTC' } }, ['schedule.timezone']],
    ['unknown field in a cron spec', { ...base, schedule: { cron: '* * * * *', foo: 1 } }, ['schedule.foo']],
    ["every '0s'", { ...base, schedule: { every: '0s' } }, ['schedule.every']],
    ['every below 1s', { ...base, schedule: { every: '500ms' } }, ['schedule.every']],
    ['every with an unknown unit', { ...base, schedule: { every: '1d' } }, ['schedule.every']],
    ['every of the wrong type', { ...base, schedule: { every: 30 } }, ['schedule.every']],
    ['at empty', { ...base, schedule: { at: [] } }, ['schedule.at']],
    [
      'at without offset',
      { ...base, schedule: { at: ['2026-12-01T10:00:00Z', '2026-12-01T10:00:00'] } },
      ['schedule.at.1'],
    ],
    [
      'at with 1001 instants',
      { ...base, schedule: { at: Array.from({ length: 1001 }, () => '2026-12-01T10:00:00Z') } },
      ['schedule.at'],
    ],
    // bounds and counters
    [
      'endAt before startAt',
      { ...base, startAt: '2026-02-01T00:00:00Z', endAt: '2026-01-01T00:00:00Z' },
      ['endAt'],
    ],
    [
      'endAt equal to startAt (same instant, other offset)',
      { ...base, startAt: '2026-01-01T01:00:00+01:00', endAt: '2026-01-01T00:00:00Z' },
      ['endAt'],
    ],
    ['startAt not a date-time', { ...base, startAt: 'tomorrow' }, ['startAt']],
    ['endAt a date only', { ...base, endAt: '2026-01-01' }, ['endAt']],
    ['maxRuns 0', { ...base, maxRuns: 0 }, ['maxRuns']],
    ['maxRuns fractional', { ...base, maxRuns: 1.5 }, ['maxRuns']],
    ['paused as a string', { ...base, paused: 'yes' }, ['paused']],
    ['unknown concurrency', { ...base, concurrency: 'sometimes' }, ['concurrency']],
    ['unknown misfire policy', { ...base, misfire: { policy: 'fireTwice' } }, ['misfire.policy']],
    ['grace over 7 days', { ...base, misfire: { graceSeconds: 604_801 } }, ['misfire.graceSeconds']],
    ['unknown field in misfire', { ...base, misfire: { policy: 'skip', extra: true } }, ['misfire.extra']],
    // identity and metadata
    ['unknown fields at the root, one entry each', { ...base, foo: 1, bar: 2 }, ['foo', 'bar']],
    ['name with uppercase and underscore', { ...base, name: 'Nightly_Report' }, ['name']],
    ['name starting with -', { ...base, name: '-nightly' }, ['name']],
    ['name of 64 characters', { ...base, name: 'a'.repeat(64) }, ['name']],
    ['name empty', { ...base, name: '' }, ['name']],
    ['name missing', { schedule: base.schedule, action: base.action }, ['name']],
    ['description too long', { ...base, description: 'x'.repeat(1001) }, ['description']],
    ['label key with a space', { ...base, labels: { 'bad key': 'v' } }, ['labels.bad key']],
    ['label value with !', { ...base, labels: { team: 'a!' } }, ['labels.team']],
    ['65 labels', { ...base, labels: many(65, () => 'v') }, ['labels']],
    // actions
    ['action missing', { name: base.name, schedule: base.schedule }, ['action']],
    ['unknown action type', { ...base, action: { type: 'email' } }, ['action.type']],
    ['action without type', { ...base, action: { url: 'http://x' } }, ['action.type']],
    [
      'log message too long',
      { ...base, action: { type: 'log', message: 'x'.repeat(1001) } },
      ['action.message'],
    ],
    ['http URL with ftp scheme', { ...base, action: { ...http, url: 'ftp://reports/run' } }, ['action.url']],
    ['http URL not a URL', { ...base, action: { ...http, url: 'reports.svc/run' } }, ['action.url']],
    ['http bad method', { ...base, action: { ...http, method: 'FETCH' } }, ['action.method']],
    ['http 51 headers', { ...base, action: { ...http, headers: many(51, () => 'v') } }, ['action.headers']],
    [
      'http header name with a space',
      { ...base, action: { ...http, headers: { 'x team': 'a' } } },
      ['action.headers.x team'],
    ],
    // hop-by-hop and framing headers: the HTTP client owns them, and fetch refuses most of them
    // at send time, so every run would fail
    ...[
      'Transfer-Encoding',
      'connection',
      'Host',
      'Keep-Alive',
      'Proxy-Authorization',
      'proxy-connection',
      'TE',
      'Trailer',
      'Upgrade',
      'Content-Length',
      'Expect',
    ].map((name): [string, unknown, string[]] => [
      `http header ${name}`,
      { ...base, action: { ...http, headers: { 'x-ok': 'a', [name]: 'v' } } },
      [`action.headers.${name}`],
    ]),
    [
      'http header value with CRLF',
      { ...base, action: { ...http, headers: { 'x-team': 'a\r\nx-evil: 1' } } },
      ['action.headers.x-team'],
    ],
    ['http timeoutMs 0', { ...base, action: { ...http, timeoutMs: 0 } }, ['action.timeoutMs']],
    [
      'http timeoutMs over 5 minutes',
      { ...base, action: { ...http, timeoutMs: 300_001 } },
      ['action.timeoutMs'],
    ],
    [
      'http retry maxAttempts 11',
      { ...base, action: { ...http, retry: { maxAttempts: 11 } } },
      ['action.retry.maxAttempts'],
    ],
    [
      'http retry negative backoff',
      { ...base, action: { ...http, retry: { backoffMs: -1 } } },
      ['action.retry.backoffMs'],
    ],
    [
      'http retry unknown field',
      { ...base, action: { ...http, retry: { jitter: true } } },
      ['action.retry.jitter'],
    ],
    ['http unknown field', { ...base, action: { ...http, bogus: 1 } }, ['action.bogus']],
    ['log with an http field', { ...base, action: { type: 'log', url: 'http://x' } }, ['action.url']],
    [
      'kubernetesJob bad namespace',
      { ...base, action: { ...k8s, namespace: 'Team_A' } },
      ['action.namespace'],
    ],
    [
      'kubernetesJob template without spec',
      { ...base, action: { ...k8s, template: { metadata: {} } } },
      ['action.template.spec'],
    ],
    [
      'kubernetesJob template not an object',
      { ...base, action: { ...k8s, template: 'job.yaml' } },
      ['action.template'],
    ],
    [
      'kubernetesJob full Job manifest as template',
      { ...base, action: { ...k8s, template: { apiVersion: 'batch/v1', spec: {} } } },
      ['action.template.apiVersion'],
    ],
    [
      'kubernetesJob history limits out of range',
      { ...base, action: { ...k8s, successfulJobsHistoryLimit: 101, failedJobsHistoryLimit: -1 } },
      ['action.successfulJobsHistoryLimit', 'action.failedJobsHistoryLimit'],
    ],
    [
      'kubernetesJob history limit not an integer',
      { ...base, action: { ...k8s, successfulJobsHistoryLimit: 1.5 } },
      ['action.successfulJobsHistoryLimit'],
    ],
    // whole body
    ['body a string', 'nightly', ['']],
    ['body null', null, ['']],
    ['body an array', [], ['']],
    ['body empty', {}, ['name', 'schedule', 'action']],
    [
      'several problems in one body',
      {
        name: 'Bad',
        schedule: { cron: '99 * * * *' },
        action: { ...http, url: 'nope', method: 'GETT' },
        maxRuns: -1,
        x: 1,
      },
      ['name', 'schedule.cron', 'action.url', 'action.method', 'maxRuns', 'x'],
    ],
  ])('%s', (_name, body, fields) => {
    expect(errorsOf(body).map((e) => e.field)).toEqual(fields);
  });

  it.each<[string, unknown, { field: string; message: string }]>([
    [
      'bad cron',
      { ...base, schedule: { cron: '61 * * * *' } },
      { field: 'schedule.cron', message: 'invalid cron expression: Invalid value for minute: 61' },
    ],
    [
      'unknown zone',
      { ...base, schedule: { cron: '* * * * *', timezone: 'Mars/Base' } },
      { field: 'schedule.timezone', message: "unknown time zone 'Mars/Base'" },
    ],
    [
      'zero duration',
      { ...base, schedule: { every: '0s' } },
      { field: 'schedule.every', message: "invalid duration '0s': must be at least 1ms" },
    ],
    [
      'short every',
      { ...base, schedule: { every: '500ms' } },
      { field: 'schedule.every', message: "'500ms' is shorter than 1s" },
    ],
    [
      'two kinds',
      { ...base, schedule: { cron: '* * * * *', every: '5s' } },
      { field: 'schedule', message: 'must be exactly one of { cron, timezone? }, { every } or { at }' },
    ],
    [
      'endAt',
      { ...base, startAt: '2026-02-01T00:00:00Z', endAt: '2026-01-01T00:00:00Z' },
      { field: 'endAt', message: 'endAt must be after startAt' },
    ],
    [
      'unknown root field',
      { ...base, colour: 'red' },
      { field: 'colour', message: "unknown field 'colour'" },
    ],
    [
      'missing name',
      { schedule: base.schedule, action: base.action },
      { field: 'name', message: 'required' },
    ],
    [
      'bad URL',
      { ...base, action: { ...http, url: 'ftp://x' } },
      { field: 'action.url', message: 'expected an absolute http:// or https:// URL' },
    ],
    [
      'too many headers',
      { ...base, action: { ...http, headers: many(51, () => 'v') } },
      { field: 'action.headers', message: 'at most 50 headers' },
    ],
  ])('message for %s', (_name, body, expected) => {
    expect(errorsOf(body)).toEqual([expected]);
  });

  it('joins several problems with one field into one entry', () => {
    expect(errorsOf({ ...base, labels: { team: `${'x'.repeat(63)}!` } })).toEqual([
      {
        field: 'labels.team',
        message: 'Too big: expected string to have <=63 characters; must be a Kubernetes label value',
      },
    ]);
  });

  it('reports endAt before startAt alongside other errors', () => {
    const errors = errorsOf({
      ...base,
      name: 'BAD',
      startAt: '2026-02-01T00:00:00Z',
      endAt: '2026-01-01T00:00:00Z',
    });
    expect(errors.map((e) => e.field)).toEqual(['name', 'endAt']);
  });
});

describe('validateScheduleInput: the egress policy refuses IP-literal hosts', () => {
  const withUrl = (url: string) => ({ ...base, action: { ...http, url } });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is link-local (169.254.0.0/16)'],
    ['http://127.0.0.1:9999/hook', '127.0.0.1 is loopback (127.0.0.0/8)'],
    ['http://[::1]:8080/', '::1 is loopback (::1/128)'],
    ['http://[::ffff:169.254.169.254]/', '169.254.169.254 is link-local (169.254.0.0/16)'],
    ['http://2130706433/', '127.0.0.1 is loopback (127.0.0.0/8)'],
    ['http://0.0.0.0/', '0.0.0.0 is unspecified (0.0.0.0/8)'],
  ])('%s is refused, naming action.url', (url, why) => {
    expect(errorsOf(withUrl(url))).toEqual([
      { field: 'action.url', message: `the host ${why}, refused unless HTTP_ALLOW_CIDRS allows it` },
    ]);
  });

  it('reports the refusal beside the other problems', () => {
    const fields = errorsOf({ ...withUrl('http://169.254.169.254/'), schedule: { every: '0s' } }).map(
      (e) => e.field,
    );
    expect(fields.sort()).toEqual(['action.url', 'schedule.every']);
  });

  it('reports one problem for action.url, the schema’s own first', () => {
    const errors = errorsOf(withUrl(`http://127.0.0.1/${'x'.repeat(2100)}`));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.field).toBe('action.url');
    expect(errors[0]!.message).not.toContain('loopback');
  });

  it('leaves names to the connect-time check, and other action types alone', () => {
    expect(parsed(withUrl('http://localhost:9999/hook')).action).toMatchObject({
      url: 'http://localhost:9999/hook',
    });
    expect(parsed({ ...base, action: { type: 'log', message: 'http://127.0.0.1/' } }).action.type).toBe(
      'log',
    );
  });

  it('follows the policy it is given: allow beats the built-ins, deny beats allow', () => {
    const egress = createEgressPolicy({ allow: cidrs('127.0.0.0/8'), deny: cidrs('127.0.0.2/32') });
    expect(validateScheduleInput(withUrl('http://127.0.0.1:9999/hook'), { egress }).ok).toBe(true);
    const denied = validateScheduleInput(withUrl('http://127.0.0.2:9999/hook'), { egress });
    expect(denied.ok ? [] : denied.errors).toEqual([
      { field: 'action.url', message: 'the host 127.0.0.2 is in HTTP_DENY_CIDRS (127.0.0.2/32)' },
    ]);
    const apiServer = createEgressPolicy({ apiServer: { family: 4, value: 0x0a600001n } });
    expect(refusedFields(withUrl('https://10.96.0.1:443/api'), apiServer)).toEqual(['action.url']);
  });
});

function refusedFields(body: unknown, egress: ReturnType<typeof createEgressPolicy>) {
  const result = validateScheduleInput(body, { egress });
  return result.ok ? [] : result.errors.map((e) => e.field);
}

describe('validateScheduleInput: good input gets defaults', () => {
  it('applies every top-level default', () => {
    expect(parsed(base)).toEqual({
      name: 'nightly-report',
      schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
      action: { type: 'log' },
      paused: false,
      startAt: null,
      endAt: null,
      maxRuns: null,
      concurrency: 'forbid',
      misfire: { policy: 'fireOnce', graceSeconds: 300 },
      labels: {},
    });
  });

  it('accepts the DESIGN.md example as is', () => {
    const body = {
      name: 'nightly-report',
      schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
      action: {
        type: 'http',
        url: 'http://reports.svc/run',
        method: 'POST',
        headers: { 'x-team': 'a' },
        body: { kind: 'nightly' },
        timeoutMs: 10000,
        retry: { maxAttempts: 3, backoffMs: 1000 },
      },
      paused: false,
      startAt: null,
      endAt: null,
      maxRuns: null,
      concurrency: 'forbid',
      misfire: { policy: 'fireOnce', graceSeconds: 300 },
      labels: { team: 'a' },
    };
    expect(parsed(body)).toEqual(body);
  });

  it('fills http defaults, including inside retry', () => {
    expect(parsed({ ...base, action: http }).action).toEqual({
      type: 'http',
      url: 'http://reports.svc/run',
      method: 'POST',
      timeoutMs: 10_000,
      retry: { maxAttempts: 1, backoffMs: 1000 },
    });
    expect(parsed({ ...base, action: { ...http, retry: { maxAttempts: 3 } } }).action).toMatchObject({
      retry: { maxAttempts: 3, backoffMs: 1000 },
    });
  });

  it('fills misfire defaults field by field', () => {
    expect(parsed({ ...base, misfire: { policy: 'fireAll' } }).misfire).toEqual({
      policy: 'fireAll',
      graceSeconds: 300,
    });
    expect(parsed({ ...base, misfire: { graceSeconds: 0 } }).misfire).toEqual({
      policy: 'fireOnce',
      graceSeconds: 0,
    });
  });

  it('turns startAt/endAt into Dates', () => {
    const value = parsed({ ...base, startAt: '2026-01-01T01:00:00+01:00', endAt: '2026-06-01T00:00:00.5Z' });
    expect(value.startAt).toBeInstanceOf(Date);
    expect(value.startAt?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(value.endAt?.toISOString()).toBe('2026-06-01T00:00:00.500Z');
  });

  it('normalises at: UTC, sorted, de-duplicated, without touching the request', () => {
    const at = ['2026-12-02T10:00:00+01:00', '2026-12-01T10:00:00Z', '2026-12-01T11:00:00+01:00'];
    const body = { ...base, schedule: { at } };
    expect(parsed(body).schedule).toEqual({ at: ['2026-12-01T10:00:00.000Z', '2026-12-02T09:00:00.000Z'] });
    expect(at).toEqual(['2026-12-02T10:00:00+01:00', '2026-12-01T10:00:00Z', '2026-12-01T11:00:00+01:00']);
  });

  it('accepts 1000 at instants', () => {
    const at = Array.from({ length: 1000 }, (_, i) =>
      new Date(Date.UTC(2027, 0, 1) + i * 60_000).toISOString(),
    );
    expect(parsed({ ...base, schedule: { at } }).schedule).toEqual({ at });
  });

  it.each([
    ['every compound', { every: '1h30m' }],
    ['cron without zone', { cron: '*/5 * * * *' }],
    ['cron nickname', { cron: '@hourly' }],
    ['cron in New York', { cron: '0 9 * * MON-FRI', timezone: 'America/New_York' }],
  ])('accepts schedule %s', (_name, schedule) => {
    expect(parsed({ ...base, schedule }).schedule).toEqual(schedule);
  });

  it('keeps a kubernetesJob template as given (deep validation is the API server’s)', () => {
    const action = {
      type: 'kubernetesJob',
      namespace: 'team-a',
      template: {
        metadata: { labels: { app: 'x' } },
        spec: { backoffLimit: 0, template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
      },
    };
    // History limits default to CronJob's.
    expect(parsed({ ...base, action }).action).toEqual({
      ...action,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    });
    const limits = { successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 100 };
    expect(parsed({ ...base, action: { ...action, ...limits } }).action).toMatchObject(limits);
  });

  it('accepts Kubernetes-style labels, prefixed keys and empty values', () => {
    const labels = { 'app.kubernetes.io/name': 'reports', team: '', tier: 'a.b_c-d' };
    expect(
      parsed({ ...base, labels, description: 'd', maxRuns: 5, paused: true, concurrency: 'replace' }),
    ).toMatchObject({
      labels,
      description: 'd',
      maxRuns: 5,
      paused: true,
      concurrency: 'replace',
    });
  });
});

describe('JSON Schemas for OpenAPI', () => {
  const { ScheduleInput, Schedule } = scheduleJsonSchemas();

  it('targets draft 2020-12 and rejects unknown fields', () => {
    expect(ScheduleInput.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(ScheduleInput.additionalProperties).toBe(false);
    expect(Schedule.additionalProperties).toBe(false);
  });

  it('input: only name, schedule and action are required; schedule is oneOf three shapes', () => {
    expect(ScheduleInput.required).toEqual(['name', 'schedule', 'action']);
    const schedule = ScheduleInput.properties?.schedule as { oneOf: unknown[] };
    expect(schedule.oneOf).toHaveLength(3);
    expect(ScheduleInput.properties?.startAt).toMatchObject({
      anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }],
      default: null,
    });
  });

  it('response: server fields present and required, descriptions carried over', () => {
    expect(Schedule.required).toEqual(
      expect.arrayContaining([
        'id',
        'version',
        'createdAt',
        'updatedAt',
        'nextRunAt',
        'paused',
        'misfire',
        'labels',
      ]),
    );
    expect(Schedule.required).not.toContain('description');
    expect(Schedule.properties?.nextRunAt).toMatchObject({
      description: expect.stringContaining('Next occurrence'),
    });
  });
});

describe('toScheduleResponse', () => {
  it('renders instants as ISO strings and matches the response schema', () => {
    const input = parsed({ ...base, startAt: '2026-01-01T00:00:00Z', description: 'nightly' });
    const schedule: Schedule = {
      ...input,
      namespace: 'default',
      id: 'a1',
      version: 2,
      createdAt: new Date('2025-12-01T00:00:00Z'),
      updatedAt: new Date('2025-12-02T00:00:00Z'),
    };
    const response = toScheduleResponse(schedule, new Date('2026-01-01T01:30:00Z'));
    expect(response).toMatchObject({
      id: 'a1',
      version: 2,
      startAt: '2026-01-01T00:00:00.000Z',
      endAt: null,
      createdAt: '2025-12-01T00:00:00.000Z',
      updatedAt: '2025-12-02T00:00:00.000Z',
      nextRunAt: '2026-01-01T01:30:00.000Z',
      description: 'nightly',
    });
    expect(ScheduleResponseSchema.parse(JSON.parse(JSON.stringify(response)))).toEqual(response);
  });

  it('omits description when absent', () => {
    const schedule: Schedule = {
      ...parsed(base),
      namespace: 'default',
      id: 'a',
      version: 1,
      createdAt: new Date(0),
      updatedAt: new Date(0),
    };
    expect(toScheduleResponse(schedule, null)).not.toHaveProperty('description');
  });
});
