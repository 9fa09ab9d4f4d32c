import { afterEach, describe, expect, it } from 'vitest';
import { InvalidCronError } from './cron.ts';
import { nextOccurrence, nextRunAt, type OccurrenceSource, occurrencesBetween } from './occurrences.ts';
import type { ScheduleSpec } from './schema.ts';

const d = (iso: string) => new Date(iso);
const isos = (dates: readonly Date[]) => dates.map((x) => x.toISOString());

function source(
  schedule: ScheduleSpec,
  {
    startAt = null,
    endAt = null,
    createdAt = '2020-01-01T00:00:00Z',
  }: { startAt?: string | null; endAt?: string | null; createdAt?: string } = {},
): OccurrenceSource {
  return {
    schedule,
    startAt: startAt === null ? null : d(startAt),
    endAt: endAt === null ? null : d(endAt),
    createdAt: d(createdAt),
  };
}

/** The first `n` occurrences after `from`, by chaining nextOccurrence as the engine does. */
function chain(s: OccurrenceSource, from: string, n: number): string[] {
  const out: string[] = [];
  let cursor: Date | null = d(from);
  while (out.length < n && cursor) {
    cursor = nextOccurrence(s, cursor);
    if (cursor) out.push(cursor.toISOString());
  }
  return out;
}

describe('cron occurrences', () => {
  it.each<[string, ScheduleSpec, string, string[]]>([
    // UTC (no timezone given)
    [
      'UTC 5-field every 15 minutes',
      { cron: '*/15 * * * *' },
      '2026-01-01T00:00:00Z',
      [
        '2026-01-01T00:15:00.000Z',
        '2026-01-01T00:30:00.000Z',
        '2026-01-01T00:45:00.000Z',
        '2026-01-01T01:00:00.000Z',
      ],
    ],
    [
      'UTC 6-field daily 02:30:00',
      { cron: '0 30 2 * * *' },
      '2026-01-01T00:00:00Z',
      ['2026-01-01T02:30:00.000Z', '2026-01-02T02:30:00.000Z'],
    ],
    [
      'UTC 6-field every 10 s from a reference with milliseconds',
      { cron: '*/10 * * * * *' },
      '2026-01-01T00:00:05.500Z',
      ['2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z', '2026-01-01T00:00:30.000Z'],
    ],
    [
      'UTC weekdays only (Fri 2026-01-02 → Mon 2026-01-05)',
      { cron: '0 9 * * MON-FRI' },
      '2026-01-02T10:00:00Z',
      ['2026-01-05T09:00:00.000Z', '2026-01-06T09:00:00.000Z'],
    ],
    [
      'UTC 29 February only in leap years',
      { cron: '0 0 29 2 *' },
      '2026-01-01T00:00:00Z',
      ['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z'],
    ],
    [
      'UTC last day of month',
      { cron: '0 0 L * *' },
      '2026-02-01T00:00:00Z',
      ['2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z'],
    ],
    ['UTC @daily nickname', { cron: '@daily' }, '2026-01-01T00:00:00Z', ['2026-01-02T00:00:00.000Z']],
    [
      'UTC strictly after: a reference on an occurrence excludes it',
      { cron: '0 * * * *' },
      '2026-01-01T01:00:00Z',
      ['2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z'],
    ],
    [
      'explicit UTC zone is the same as none',
      { cron: '0 * * * *', timezone: 'UTC' },
      '2026-01-01T01:00:00Z',
      ['2026-01-01T02:00:00.000Z'],
    ],
    // Europe/Berlin: CET (+01:00) in winter, CEST (+02:00) in summer
    [
      'Berlin noon in winter is 11:00Z',
      { cron: '0 12 * * *', timezone: 'Europe/Berlin' },
      '2026-01-15T00:00:00Z',
      ['2026-01-15T11:00:00.000Z'],
    ],
    [
      'Berlin noon in summer is 10:00Z',
      { cron: '0 12 * * *', timezone: 'Europe/Berlin' },
      '2026-07-15T00:00:00Z',
      ['2026-07-15T10:00:00.000Z'],
    ],
    [
      'Berlin spring-forward gap, fixed-time 02:30 (croner: runs at 03:00 CEST, first valid time after the gap)',
      { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
      '2026-03-28T12:00:00Z',
      ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z'],
    ],
    [
      'Berlin spring-forward gap, interval */30 (croner: skips 02:00 and 02:30, which do not exist)',
      { cron: '*/30 * * * *', timezone: 'Europe/Berlin' },
      '2026-03-29T00:15:00Z',
      [
        '2026-03-29T00:30:00.000Z',
        '2026-03-29T01:00:00.000Z',
        '2026-03-29T01:30:00.000Z',
        '2026-03-29T02:00:00.000Z',
      ],
    ],
    [
      'Berlin fall-back overlap, fixed-time 02:30 (croner: runs once, at the first 02:30 CEST)',
      { cron: '30 2 * * *', timezone: 'Europe/Berlin' },
      '2026-10-24T12:00:00Z',
      ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
    ],
    [
      'Berlin fall-back overlap, list 1,2 is an interval job (croner: runs at both 02:30 CEST and 02:30 CET)',
      { cron: '0 30 1,2 * * *', timezone: 'Europe/Berlin' },
      '2026-10-24T12:00:00Z',
      [
        '2026-10-24T23:30:00.000Z',
        '2026-10-25T00:30:00.000Z',
        '2026-10-25T01:30:00.000Z',
        '2026-10-26T00:30:00.000Z',
      ],
    ],
    [
      'Berlin fall-back overlap, hourly (croner: 02:00 runs twice, once per real hour)',
      { cron: '0 * * * *', timezone: 'Europe/Berlin' },
      '2026-10-24T23:30:00Z',
      [
        '2026-10-25T00:00:00.000Z',
        '2026-10-25T01:00:00.000Z',
        '2026-10-25T02:00:00.000Z',
        '2026-10-25T03:00:00.000Z',
      ],
    ],
    // America/New_York: EST (−05:00) in winter, EDT (−04:00) in summer
    [
      'New York midnight in winter is 05:00Z',
      { cron: '0 0 * * *', timezone: 'America/New_York' },
      '2026-01-01T00:00:00Z',
      ['2026-01-01T05:00:00.000Z'],
    ],
    [
      'New York 6-field midnight in summer is 04:00Z',
      { cron: '0 0 0 * * *', timezone: 'America/New_York' },
      '2026-07-01T00:00:00Z',
      ['2026-07-01T04:00:00.000Z'],
    ],
    [
      'New York spring-forward gap, fixed-time 02:30 (croner: runs at 03:00 EDT)',
      { cron: '30 2 * * *', timezone: 'America/New_York' },
      '2026-03-07T12:00:00Z',
      ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z'],
    ],
    [
      'New York spring-forward gap, interval */30 in hour 2 (croner: no run at all on 2026-03-08)',
      { cron: '*/30 2 * * *', timezone: 'America/New_York' },
      '2026-03-07T12:00:00Z',
      ['2026-03-09T06:00:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:00:00.000Z'],
    ],
    [
      'New York fall-back overlap, fixed-time 01:30 (croner: runs once, at 01:30 EDT)',
      { cron: '30 1 * * *', timezone: 'America/New_York' },
      '2026-10-31T12:00:00Z',
      ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
    ],
    [
      'New York fall-back overlap, interval */30 in hour 1 (croner: runs through both 01:xx hours)',
      { cron: '*/30 1 * * *', timezone: 'America/New_York' },
      '2026-10-31T12:00:00Z',
      [
        '2026-11-01T05:00:00.000Z',
        '2026-11-01T05:30:00.000Z',
        '2026-11-01T06:00:00.000Z',
        '2026-11-01T06:30:00.000Z',
        '2026-11-02T06:00:00.000Z',
      ],
    ],
  ])('%s', (_name, spec, from, expected) => {
    expect(chain(source(spec), from, expected.length)).toEqual(expected);
  });

  describe('independent of the process time zone', () => {
    const saved = process.env.TZ;
    afterEach(() => {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    });

    it.each(['Pacific/Kiritimati', 'America/Los_Angeles'])('TZ=%s', (tz) => {
      process.env.TZ = tz;
      expect(chain(source({ cron: '0 12 * * *' }), '2026-01-01T00:00:00Z', 1)).toEqual([
        '2026-01-01T12:00:00.000Z',
      ]);
      expect(
        chain(source({ cron: '0 30 2 * * *', timezone: 'Europe/Berlin' }), '2026-03-28T12:00:00Z', 1),
      ).toEqual(['2026-03-29T01:00:00.000Z']);
    });
  });

  it('throws InvalidCronError for a stored pattern that no longer parses', () => {
    expect(() => nextOccurrence(source({ cron: 'nonsense' }), d('2026-01-01T00:00:00Z'))).toThrow(
      InvalidCronError,
    );
  });

  it('returns null when croner finds no later match (past year 9999)', () => {
    expect(nextOccurrence(source({ cron: '0 0 1 1 *' }), d('9999-06-01T00:00:00Z'))).toBeNull();
  });
});

describe('startAt and endAt bounds (inclusive)', () => {
  it.each<[string, ScheduleSpec, { startAt?: string; endAt?: string }, string, string | null]>([
    [
      'cron: nothing before startAt',
      { cron: '0 * * * *' },
      { startAt: '2026-01-01T05:30:00Z' },
      '2026-01-01T00:00:00Z',
      '2026-01-01T06:00:00.000Z',
    ],
    [
      'cron: an occurrence at startAt is included',
      { cron: '0 * * * *' },
      { startAt: '2026-01-01T05:00:00Z' },
      '2026-01-01T00:00:00Z',
      '2026-01-01T05:00:00.000Z',
    ],
    [
      'cron: startAt 1 ms after an occurrence excludes it',
      { cron: '* * * * * *' },
      { startAt: '2026-01-01T05:00:00.001Z' },
      '2026-01-01T00:00:00Z',
      '2026-01-01T05:00:01.000Z',
    ],
    [
      'cron: after later than startAt wins',
      { cron: '0 * * * *' },
      { startAt: '2026-01-01T05:00:00Z' },
      '2026-01-01T07:10:00Z',
      '2026-01-01T08:00:00.000Z',
    ],
    [
      'cron: an occurrence at endAt is included',
      { cron: '0 * * * *' },
      { endAt: '2026-01-01T06:00:00Z' },
      '2026-01-01T05:30:00Z',
      '2026-01-01T06:00:00.000Z',
    ],
    [
      'cron: none after endAt',
      { cron: '0 * * * *' },
      { endAt: '2026-01-01T05:59:59.999Z' },
      '2026-01-01T05:00:00Z',
      null,
    ],
    [
      'cron: reference past endAt',
      { cron: '0 * * * *' },
      { endAt: '2026-01-01T06:00:00Z' },
      '2026-02-01T00:00:00Z',
      null,
    ],
    [
      'at: startAt drops earlier instants',
      { at: ['2026-01-01T10:00:00.000Z', '2026-01-02T10:00:00.000Z'] },
      { startAt: '2026-01-01T10:00:00.001Z' },
      '2020-01-01T00:00:00Z',
      '2026-01-02T10:00:00.000Z',
    ],
    [
      'at: endAt drops later instants',
      { at: ['2026-01-01T10:00:00.000Z', '2026-01-02T10:00:00.000Z'] },
      { endAt: '2026-01-02T09:59:59Z' },
      '2026-01-01T10:00:00Z',
      null,
    ],
  ])('%s', (_name, spec, bounds, after, expected) => {
    expect(nextOccurrence(source(spec, bounds), d(after))?.toISOString() ?? null).toBe(expected);
  });
});

describe('every occurrences: anchor + k·D, k ≥ 0', () => {
  const created = '2026-01-01T00:00:00.250Z';

  it.each<[string, { startAt?: string; endAt?: string }, string, string | null]>([
    [
      'anchor is createdAt; k = 0 is createdAt itself',
      {},
      '2026-01-01T00:00:00.249Z',
      '2026-01-01T00:00:00.250Z',
    ],
    ['strictly after the anchor → k = 1', {}, '2026-01-01T00:00:00.250Z', '2026-01-01T00:00:30.250Z'],
    ['between occurrences → the next grid point', {}, '2026-01-01T00:01:10Z', '2026-01-01T00:01:30.250Z'],
    ['on an occurrence → the one after', {}, '2026-01-01T00:01:30.250Z', '2026-01-01T00:02:00.250Z'],
    ['a year later stays on the grid', {}, '2027-01-01T00:00:00Z', '2027-01-01T00:00:00.250Z'],
    [
      'startAt replaces createdAt as anchor',
      { startAt: '2026-02-01T10:00:07Z' },
      '2026-01-15T00:00:00Z',
      '2026-02-01T10:00:07.000Z',
    ],
    [
      'startAt anchor, later reference',
      { startAt: '2026-02-01T10:00:07Z' },
      '2026-02-01T10:00:40Z',
      '2026-02-01T10:01:07.000Z',
    ],
    [
      'an occurrence at endAt is included',
      { endAt: '2026-01-01T00:01:00.250Z' },
      '2026-01-01T00:00:45Z',
      '2026-01-01T00:01:00.250Z',
    ],
    ['none after endAt', { endAt: '2026-01-01T00:01:00.250Z' }, '2026-01-01T00:01:00.250Z', null],
  ])('%s', (_name, bounds, after, expected) => {
    const s = source({ every: '30s' }, { createdAt: created, ...bounds });
    expect(nextOccurrence(s, d(after))?.toISOString() ?? null).toBe(expected);
  });

  it('gives every replica the same instant whatever its clock reads within a period', () => {
    const s = source({ every: '1h30m' }, { createdAt: '2026-03-01T08:17:00Z' });
    const seen = ['2026-03-05T10:00:00Z', '2026-03-05T10:45:59.999Z', '2026-03-05T09:47:00.001Z'].map((now) =>
      nextOccurrence(s, d(now))?.toISOString(),
    );
    expect(seen).toEqual([
      '2026-03-05T11:17:00.000Z',
      '2026-03-05T11:17:00.000Z',
      '2026-03-05T11:17:00.000Z',
    ]);
  });

  it('ignores DST: an interval is real elapsed time', () => {
    const s = source({ every: '1h' }, { createdAt: '2026-03-29T00:00:00Z' });
    expect(
      occurrencesBetween(s, d('2026-03-29T00:00:00Z'), d('2026-03-29T03:00:00Z')).map((x) => x.toISOString()),
    ).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z', '2026-03-29T03:00:00.000Z']);
  });
});

describe('at occurrences', () => {
  const at = { at: ['2026-12-01T10:00:00.000Z', '2026-12-01T12:00:00.000Z', '2026-12-02T10:00:00.000Z'] };

  it.each<[string, string | null]>([
    ['2026-01-01T00:00:00Z', '2026-12-01T10:00:00.000Z'],
    ['2026-12-01T10:00:00Z', '2026-12-01T12:00:00.000Z'],
    ['2026-12-01T11:59:59.999Z', '2026-12-01T12:00:00.000Z'],
    ['2026-12-02T09:00:00Z', '2026-12-02T10:00:00.000Z'],
    ['2026-12-02T10:00:00Z', null],
  ])('after %s → %s', (after, expected) => {
    expect(nextOccurrence(source(at), d(after))?.toISOString() ?? null).toBe(expected);
  });

  it('does not rely on the stored list being sorted', () => {
    const s = source({ at: ['2026-12-02T10:00:00Z', '2026-12-01T10:00:00Z', '2026-12-01T10:00:00Z'] });
    expect(isos(occurrencesBetween(s, d('2026-01-01T00:00:00Z'), d('2027-01-01T00:00:00Z')))).toEqual([
      '2026-12-01T10:00:00.000Z',
      '2026-12-02T10:00:00.000Z',
    ]);
  });
});

describe('occurrencesBetween', () => {
  const hourly = source({ cron: '0 * * * *' });

  it('excludes from and includes to', () => {
    expect(isos(occurrencesBetween(hourly, d('2026-01-01T01:00:00Z'), d('2026-01-01T04:00:00Z')))).toEqual([
      '2026-01-01T02:00:00.000Z',
      '2026-01-01T03:00:00.000Z',
      '2026-01-01T04:00:00.000Z',
    ]);
  });

  it('keeps the earliest `limit`', () => {
    expect(isos(occurrencesBetween(hourly, d('2026-01-01T00:00:00Z'), d('2026-01-02T00:00:00Z'), 2))).toEqual(
      ['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z'],
    );
  });

  it('stops at 1000 by default', () => {
    const list = occurrencesBetween(
      source({ every: '1s' }, { createdAt: '2026-01-01T00:00:00Z' }),
      d('2026-01-01T00:00:00Z'),
      d('2026-01-02T00:00:00Z'),
    );
    expect(list).toHaveLength(1000);
    expect(list.at(-1)?.toISOString()).toBe('2026-01-01T00:16:40.000Z');
  });

  it.each<[string, string, string]>([
    ['empty window (from = to)', '2026-01-01T01:00:00Z', '2026-01-01T01:00:00Z'],
    ['reversed window', '2026-01-01T05:00:00Z', '2026-01-01T01:00:00Z'],
    ['window without occurrences', '2026-01-01T01:00:00Z', '2026-01-01T01:59:59.999Z'],
  ])('%s → []', (_name, from, to) => {
    expect(occurrencesBetween(hourly, d(from), d(to))).toEqual([]);
  });

  it('returns [] for limit 0 and rejects a bad limit', () => {
    expect(occurrencesBetween(hourly, d('2026-01-01T00:00:00Z'), d('2026-01-02T00:00:00Z'), 0)).toEqual([]);
    expect(() =>
      occurrencesBetween(hourly, d('2026-01-01T00:00:00Z'), d('2026-01-02T00:00:00Z'), -1),
    ).toThrow(RangeError);
    expect(() =>
      occurrencesBetween(hourly, d('2026-01-01T00:00:00Z'), d('2026-01-02T00:00:00Z'), 1.5),
    ).toThrow(RangeError);
  });

  it('honours startAt and endAt', () => {
    const s = source(
      { cron: '0 * * * *' },
      { startAt: '2026-01-01T02:00:00Z', endAt: '2026-01-01T04:00:00Z' },
    );
    expect(isos(occurrencesBetween(s, d('2026-01-01T00:00:00Z'), d('2026-01-01T23:00:00Z')))).toEqual([
      '2026-01-01T02:00:00.000Z',
      '2026-01-01T03:00:00.000Z',
      '2026-01-01T04:00:00.000Z',
    ]);
  });

  it('lists the Berlin spring-forward night as croner does (the gap hour has no */30 runs)', () => {
    const s = source({ cron: '*/30 * * * *', timezone: 'Europe/Berlin' });
    expect(isos(occurrencesBetween(s, d('2026-03-29T00:00:00Z'), d('2026-03-29T01:30:00Z')))).toEqual([
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T01:30:00.000Z',
    ]);
  });

  it('rejects invalid dates', () => {
    expect(() => occurrencesBetween(hourly, d('nope'), d('2026-01-01T00:00:00Z'))).toThrow(RangeError);
    expect(() => nextOccurrence(hourly, d('nope'))).toThrow(RangeError);
  });
});

describe('nextRunAt', () => {
  const base = { ...source({ cron: '0 * * * *' }), paused: false, maxRuns: null as number | null };
  const now = d('2026-01-01T10:20:00Z');

  it.each<[string, Partial<typeof base> & { endAt?: Date | null }, number | undefined, string | null]>([
    ['active → next occurrence after now', {}, undefined, '2026-01-01T11:00:00.000Z'],
    ['paused → null', { paused: true }, undefined, null],
    ['maxRuns reached → null', { maxRuns: 3 }, 3, null],
    ['maxRuns exceeded → null', { maxRuns: 3 }, 4, null],
    ['maxRuns not yet reached', { maxRuns: 3 }, 2, '2026-01-01T11:00:00.000Z'],
    ['maxRuns with runsSoFar omitted counts 0', { maxRuns: 1 }, undefined, '2026-01-01T11:00:00.000Z'],
    ['past endAt → null', { endAt: d('2026-01-01T10:00:00Z') }, undefined, null],
    ['next occurrence after endAt → null', { endAt: d('2026-01-01T10:59:59Z') }, undefined, null],
  ])('%s', (_name, patch, runsSoFar, expected) => {
    expect(nextRunAt({ ...base, ...patch }, now, runsSoFar)?.toISOString() ?? null).toBe(expected);
  });

  // The engine decides occurrences in (lastEdit − 1 ms, now] (engine/plan.ts startCursor), so one
  // at the write instant fires: a new `every` schedule fires at its creation. Its create response
  // must say so, not createdAt + period (issue 15).
  it('counts an occurrence at now as the next run: a new every schedule fires at its creation', () => {
    const created = d('2026-01-01T10:20:00Z');
    const every = { ...source({ every: '30s' }), createdAt: created, paused: false, maxRuns: null };
    expect(nextRunAt(every, created)?.toISOString()).toBe('2026-01-01T10:20:00.000Z');
    expect(nextRunAt(every, d('2026-01-01T10:20:00.001Z'))?.toISOString()).toBe('2026-01-01T10:20:30.000Z');
    expect(nextRunAt({ ...base }, d('2026-01-01T11:00:00Z'))?.toISOString()).toBe('2026-01-01T11:00:00.000Z');
    expect(nextRunAt({ ...every, startAt: d('2026-01-01T12:00:00Z') }, created)?.toISOString()).toBe(
      '2026-01-01T12:00:00.000Z',
    );
  });
});
