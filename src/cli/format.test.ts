import { describe, expect, it } from 'vitest';
import {
  clusterTable,
  describeSpec,
  formatProblem,
  humanDuration,
  type RunView,
  relative,
  runsTable,
  type ScheduleView,
  schedulesTable,
  table,
} from './format.ts';

const NOW = new Date('2026-11-23T10:00:00.000Z');

describe('table', () => {
  it('pads every column but the last to its widest cell, three spaces apart, no trailing blanks', () => {
    expect(
      table(
        ['NAME', 'X', 'LAST'],
        [
          ['a', 'longer', ''],
          ['bbbbbb', 'y', 'z'],
        ],
      ),
    ).toBe('NAME     X        LAST\na        longer\nbbbbbb   y        z');
  });
});

describe('times', () => {
  it.each([
    [0, '0s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [192_000, '3m12s'],
    [660_000, '11m'],
    [3_600_000, '1h'],
    [5 * 3_600_000 + 180_000, '5h3m'],
    [9 * 3_600_000 + 180_000, '9h'],
    [(2 * 24 + 4) * 3_600_000, '2d4h'],
    [400 * 86_400_000, '400d'],
    [-45_000, '45s'],
  ])('humanDuration(%i) = %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it('relative: future as "in …", past as "… ago", absent as <none>', () => {
    expect(relative('2026-11-23T10:00:05.000Z', NOW)).toBe('in 5s');
    expect(relative('2026-11-23T09:58:00.000Z', NOW)).toBe('2m ago');
    expect(relative(null, NOW)).toBe('<none>');
  });
});

const schedule = (over: Partial<ScheduleView> = {}): ScheduleView => ({
  id: '3f1c1c6e-8f3a-4b8e-9d2a-0c1f5e7b9a10',
  name: 'nightly',
  namespace: 'team-a',
  version: 3,
  schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
  action: { type: 'http', url: 'http://reports.svc/run', method: 'POST' },
  paused: false,
  concurrency: 'forbid',
  labels: { team: 'a', tier: '1' },
  createdAt: '2026-11-21T10:00:00.000Z',
  nextRunAt: '2026-11-24T01:30:00.000Z',
  ...over,
});

describe('schedulesTable', () => {
  it.each([
    [{ cron: '*/5 * * * *' }, '*/5 * * * *'],
    [{ every: '30s' }, 'every 30s'],
    [{ at: ['2026-12-01T10:00:00Z'] }, 'at 2026-12-01T10:00:00Z'],
    [{ at: ['2026-12-01T10:00:00Z', '2026-12-02T10:00:00Z'] }, 'at 2026-12-01T10:00:00Z (+1 more)'],
  ])('describes %j as %s', (spec, text) => {
    expect(describeSpec(spec)).toBe(text);
  });

  it('prints kubectl-like rows; wide adds id, action, concurrency, version and labels; -A the namespace', () => {
    const items = [
      schedule(),
      schedule({ name: 'every', schedule: { every: '5s' }, paused: true, nextRunAt: null, labels: {} }),
    ];
    expect(schedulesTable(items, NOW)).toBe(
      [
        'NAME      SCHEDULE       TIMEZONE        PAUSED   NEXT RUN   AGE',
        'nightly   0 30 2 * * *   Europe/Berlin   false    in 15h     2d',
        'every     every 5s       <none>          true     <none>     2d',
      ].join('\n'),
    );
    const wide = schedulesTable(items, NOW, { wide: true, namespaces: true }).split('\n');
    expect(wide[0]).toMatch(/^NAMESPACE +NAME +SCHEDULE .* AGE +ID +ACTION +CONCURRENCY +VERSION +LABELS$/);
    expect(wide[1]).toMatch(
      /^team-a +nightly .* 3f1c1c6e-8f3a-4b8e-9d2a-0c1f5e7b9a10 +http POST http:\/\/reports\.svc\/run +forbid +3 +team=a,tier=1$/,
    );
    expect(wide[2]).toMatch(/ http POST http:\/\/reports\.svc\/run +forbid +3 +<none>$/);
  });
});

const run = (over: Partial<RunView> = {}): RunView => ({
  id: 'r1',
  scheduledFor: '2026-11-23T09:59:55.000Z',
  createdAt: '2026-11-23T09:59:55.000Z',
  firedAt: '2026-11-23T09:59:55.004Z',
  finishedAt: '2026-11-23T09:59:55.120Z',
  status: 'succeeded',
  attempts: 1,
  trigger: 'schedule',
  leader: 'leasecron-0',
  epoch: 2,
  latenessMs: 4.4,
  error: null,
  response: { statusCode: 200, durationMs: 116, summary: 'ok' },
  ...over,
});

describe('runsTable', () => {
  it('one row per run; wide adds id, duration and the result (error, or status and summary)', () => {
    const items = [
      run(),
      run({
        id: 'r2',
        status: 'failed',
        error: 'HTTP 500\nInternal',
        response: null,
        leader: null,
        epoch: null,
        latenessMs: null,
      }),
    ];
    expect(runsTable(items, NOW).split('\n')).toEqual([
      'SCHEDULED FOR              STATUS      TRIGGER    LEADER        EPOCH    LATENESS   ATTEMPTS   AGE',
      '2026-11-23T09:59:55.000Z   succeeded   schedule   leasecron-0   2        4ms        1          5s',
      '2026-11-23T09:59:55.000Z   failed      schedule   <none>        <none>   <none>     1          5s',
    ]);
    const wide = runsTable(items, NOW, true).split('\n');
    expect(wide[1]).toMatch(/ r1 +116ms +200 ok$/);
    expect(wide[2]).toMatch(/ r2 +<none> +HTTP 500 Internal$/);
  });
});

describe('clusterTable', () => {
  it('one row; the auth warning below it', () => {
    expect(
      clusterTable(
        {
          identity: 'leasecron-1',
          role: 'follower',
          leader: 'leasecron-0',
          leaseTransitions: 3,
          renewTime: '2026-11-23T09:59:58.000Z',
          acquireTime: '2026-11-23T09:00:00.000Z',
          leaseName: 'leasecron-leader',
          namespace: 'leasecron',
          auth: { mode: 'none', warning: 'AUTH=none: open' },
        },
        NOW,
      ),
    ).toBe(
      [
        'LEADER        TRANSITIONS   RENEWED   REPLICA       ROLE',
        'leasecron-0   3             2s ago    leasecron-1   follower',
        'warning: AUTH=none: open',
      ].join('\n'),
    );
  });
});

describe('formatProblem', () => {
  it('detail with status and title, then one line per field error, then the request id', () => {
    expect(
      formatProblem(400, {
        title: 'Bad Request',
        detail: 'the schedule is not valid: schedule.cron, ',
        errors: [
          { field: 'schedule.cron', message: 'invalid cron expression' },
          { field: '', message: 'unknown field' },
        ],
        requestId: 'abc',
      }),
    ).toBe(
      [
        'error: the schedule is not valid: schedule.cron,  (400 Bad Request)',
        '  schedule.cron: invalid cron expression',
        '  (body): unknown field',
        '  request id: abc',
      ].join('\n'),
    );
  });

  it('a body that is not a problem: the status line and the text', () => {
    expect(formatProblem(502, '<html>Bad Gateway</html>', 'Bad Gateway')).toBe(
      'error: <html>Bad Gateway</html> (502 Bad Gateway)',
    );
    expect(formatProblem(503, null, 'Service Unavailable')).toBe('error: 503 Service Unavailable');
  });
});
