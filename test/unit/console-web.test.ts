// The console's pure browser modules (src/console/web/), run in Node: how schedules and runs
// read in the tables, the form ⇄ body mapping and its error placement, the upcoming fires and
// the chart scale.
import { describe, expect, it } from 'vitest';
import { bodyFromForm, emptyForm, formFieldOf, formFromSchedule } from '../../src/console/web/form-model.ts';
import {
  expressionOf,
  kindOf,
  matchesText,
  millis,
  parseLabelFilter,
  relative,
  responseSummary,
  zoneOf,
} from '../../src/console/web/format.ts';
import { niceCeil, scalePoints } from '../../src/console/web/plot.ts';
import type { Run, Schedule, ScheduleSpec } from '../../src/console/web/types.ts';
import { consoleCronOptions, firesOf, periodMs, upcomingFires } from '../../src/console/web/upcoming.ts';
import { cronOptions } from '../../src/schedule/cron.ts';
import { parseDuration } from '../../src/schedule/duration.ts';

const NOW = new Date('2026-12-01T10:00:00Z');

function schedule(over: Partial<Schedule>): Schedule {
  return {
    id: '3f1c1c6e-8f3a-4b8e-9d2a-0c1f5e7b9a10',
    version: 3,
    name: 'nightly',
    schedule: { every: '30s' },
    action: { type: 'log' },
    paused: false,
    startAt: null,
    endAt: null,
    maxRuns: null,
    concurrency: 'forbid',
    misfire: { policy: 'fireOnce', graceSeconds: 300 },
    labels: { team: 'a' },
    createdAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
    nextRunAt: '2026-12-01T10:00:30.000Z',
    ...over,
  };
}

describe('table text', () => {
  it.each([
    [{ cron: '0 30 2 * * *', timezone: 'Europe/Berlin' }, 'cron', '0 30 2 * * *', 'Europe/Berlin'],
    [{ cron: '*/5 * * * *' }, 'cron', '*/5 * * * *', 'UTC'],
    [{ every: '1h30m' }, 'every', '1h30m', '—'],
    [
      { at: ['2026-12-01T10:00:00.000Z', '2026-12-02T10:00:00.000Z', '2026-12-03T10:00:00.000Z'] },
      'at',
      '2026-12-01T10:00:00.000Z, 2026-12-02T10:00:00.000Z (+1 more)',
      '—',
    ],
  ] as [ScheduleSpec, string, string, string][])(
    '%j reads as %s %s in %s',
    (spec, kind, expression, zone) => {
      expect(kindOf(spec)).toBe(kind);
      expect(expressionOf(spec)).toBe(expression);
      expect(zoneOf(spec)).toBe(zone);
    },
  );

  it.each([
    ['2026-12-01T10:00:00.400Z', 'now'],
    ['2026-12-01T10:00:12Z', 'in 12 s'],
    ['2026-12-01T09:57:00Z', '3 min ago'],
    ['2026-12-01T15:00:00Z', 'in 5 h'],
    ['2026-12-10T10:00:00Z', 'in 9 d'],
  ])('%s is %s from the fixed now', (iso, text) => expect(relative(iso, NOW)).toBe(text));

  it('summarises a run by its response, its Job or its error', () => {
    const run = { response: null, job: null, error: null } as Run;
    expect(responseSummary(run)).toBe('—');
    expect(
      responseSummary({ ...run, response: { statusCode: 503, durationMs: 1520 }, error: 'HTTP 503' }),
    ).toBe('HTTP 503 · 1.5 s · HTTP 503');
    expect(responseSummary({ ...run, job: { namespace: 'ns', name: 'nightly-29412345' } })).toBe(
      'Job ns/nightly-29412345',
    );
    expect(millis(12.4)).toBe('12 ms');
  });

  it('filters by text over name, expression, action url and labels; labels must be key=value', () => {
    const s = schedule({ action: { type: 'http', url: 'http://reports.svc/run' } });
    for (const needle of ['NIGHT', '30s', 'reports.svc', 'team=a', ''])
      expect(matchesText(s, needle)).toBe(true);
    expect(matchesText(s, 'billing')).toBe(false);
    expect(parseLabelFilter(' team=a, env=prod ,')).toEqual({ labels: ['team=a', 'env=prod'], error: null });
    expect(parseLabelFilter('team')).toEqual({ labels: ['team'], error: "'team' is not key=value" });
  });
});

describe('the schedule form', () => {
  it('round-trips a schedule through the form, keeping members it has no input for', () => {
    const s = schedule({
      description: 'kept',
      schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
      labels: { team: 'a', env: 'prod' },
      maxRuns: 5,
    });
    const { body, errors } = bodyFromForm(formFromSchedule(s), s);
    expect(errors).toEqual([]);
    expect(body).toEqual({
      name: 'nightly',
      description: 'kept',
      schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
      action: { type: 'log' },
      paused: false,
      startAt: null,
      endAt: null,
      maxRuns: 5,
      concurrency: 'forbid',
      misfire: { policy: 'fireOnce', graceSeconds: 300 },
      labels: { team: 'a', env: 'prod' },
    });
  });

  it('splits one-shot times on commas and lines; passes non-numbers on for the API to name', () => {
    const v = {
      ...emptyForm(),
      name: 'x',
      kind: 'at' as const,
      expression: '2026-12-01T10:00:00Z,\n2026-12-02T10:00:00Z',
    };
    const { body } = bodyFromForm({ ...v, graceSeconds: 'soon', maxRuns: '' }, null);
    expect(body).not.toHaveProperty('namespace'); // the API's default
    expect(bodyFromForm({ ...v, namespace: ' team-a ' }, null).body.namespace).toBe('team-a');
    expect(body.schedule).toEqual({ at: ['2026-12-01T10:00:00Z', '2026-12-02T10:00:00Z'] });
    expect(body.misfire).toEqual({ policy: 'fireOnce', graceSeconds: 'soon' });
    expect(body.maxRuns).toBeNull();
  });

  it('refuses only what it cannot send: an action that is not JSON, a label that is not key=value', () => {
    const { errors } = bodyFromForm({ ...emptyForm(), action: '{type: log}', labels: 'team' }, null);
    expect(errors.map((e) => e.field)).toEqual(['action', 'labels']);
  });

  it.each([
    ['schedule.cron', 'schedule'],
    ['action.url', 'action'],
    ['action.headers.Connection', 'action'],
    ['misfire.graceSeconds', 'misfire'],
    ['labels', 'labels'],
    ['endAt', 'endAt'],
    ['', null],
    ['cursor', null],
  ])('an API error on %j is shown under %s', (field, input) => expect(formFieldOf(field)).toBe(input));
});

describe('upcoming fires', () => {
  it('uses the croner options the engine fires by', () => {
    for (const zone of [undefined, 'Europe/Berlin'])
      expect(consoleCronOptions(zone)).toEqual(cronOptions(zone));
  });

  it.each(['500ms', '30s', '5m', '2h', '1h30m', '1m30s250ms'])('reads %s as the server does', (d) =>
    expect(periodMs(d)).toBe(parseDuration(d)),
  );

  it('continues cron in its zone, every by its period and at by its list, from nextRunAt to endAt', () => {
    const until = new Date('2026-12-05T00:00:00Z');
    const cron = schedule({
      schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
      nextRunAt: '2026-12-02T01:30:00.000Z',
    });
    expect(firesOf(cron, 3, until).map((d) => d.toISOString())).toEqual([
      '2026-12-02T01:30:00.000Z',
      '2026-12-03T01:30:00.000Z',
      '2026-12-04T01:30:00.000Z',
    ]);
    const every = schedule({ endAt: '2026-12-01T10:01:30.000Z' });
    expect(firesOf(every, 10, until).map((d) => d.toISOString())).toEqual([
      '2026-12-01T10:00:30.000Z',
      '2026-12-01T10:01:00.000Z',
      '2026-12-01T10:01:30.000Z',
    ]);
    const at = schedule({
      schedule: { at: ['2026-12-01T09:00:00.000Z', '2026-12-01T11:00:00.000Z', '2026-12-06T00:00:00.000Z'] },
      nextRunAt: '2026-12-01T11:00:00.000Z',
    });
    expect(firesOf(at, 10, until).map((d) => d.toISOString())).toEqual(['2026-12-01T11:00:00.000Z']);
    expect(firesOf(schedule({ paused: true }), 10, until)).toEqual([]);
  });

  it('merges schedules in time order and keeps the first n', () => {
    const a = schedule({
      id: 'a',
      name: 'a',
      schedule: { every: '1m' },
      nextRunAt: '2026-12-01T10:01:00.000Z',
    });
    const b = schedule({
      id: 'b',
      name: 'b',
      schedule: { every: '90s' },
      nextRunAt: '2026-12-01T10:00:30.000Z',
    });
    const fires = upcomingFires([a, b], 4, NOW, 3_600_000);
    expect(fires.map((f) => `${f.schedule.name} ${f.at.toISOString().slice(11, 19)}`)).toEqual([
      'b 10:00:30',
      'a 10:01:00',
      'a 10:02:00',
      'b 10:02:00',
    ]);
  });
});

describe('chart scale', () => {
  it.each([
    [0, 1],
    [0.5, 1],
    [7, 10],
    [13, 20],
    [250, 500],
    [1000, 1000],
  ])('niceCeil(%d) = %d', (v, top) => expect(niceCeil(v)).toBe(top));

  it('puts the oldest run left, the newest right, zero at the bottom', () => {
    const box = { width: 120, height: 70, pad: [10, 10, 10, 10] as [number, number, number, number] };
    const { points, yMax } = scalePoints(
      [
        { t: 0, v: 0 },
        { t: 50, v: 10 },
        { t: 100, v: 5 },
      ],
      box,
    );
    expect(yMax).toBe(10);
    expect(points).toEqual([
      { x: 10, y: 60 },
      { x: 60, y: 10 },
      { x: 110, y: 35 },
    ]);
    expect(scalePoints([{ t: 5, v: 1 }], box).points).toEqual([{ x: 60, y: 10 }]);
  });
});
