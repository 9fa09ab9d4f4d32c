import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import {
  cronFor,
  cronOptions,
  cronPatternProblem,
  DEFAULT_TIME_ZONE,
  InvalidCronError,
  isKnownTimeZone,
} from './cron.ts';

describe('cronPatternProblem', () => {
  it.each([
    '* * * * *',
    '*/5 * * * *',
    '0 30 2 * * *',
    '0 9 * * MON-FRI',
    '0 0 L * *',
    '0 0 * * 5#2',
    '0 0 29 2 *',
    '@hourly',
    '@daily',
  ])('accepts %j', (pattern) => {
    expect(cronPatternProblem(pattern)).toBeNull();
  });

  it.each([
    ['61 * * * *', 'Invalid value for minute: 61'],
    ['* * * *', 'exactly five, six, or seven space separated parts'],
    ['0 0 0 1 1 * 2027', "mode '5-or-6-parts' requires exactly 5 or 6 parts"],
    ['*/0 * * * *', 'illegal stepping'],
    ['', 'invalid configuration format'],
    ['@reboot', '@reboot is not supported'],
    ['2026-12-01T10:00:00Z', 'a date, not a cron pattern'],
    ['0 0 30 2 *', 'never matches any date'],
    [`${'1,'.repeat(200)}1 * * * *`, 'longer than 256 characters'],
  ])('rejects %j (%s)', (pattern, reason) => {
    expect(cronPatternProblem(pattern)).toContain(reason);
  });
});

describe('isKnownTimeZone', () => {
  it.each([
    'UTC',
    'Etc/UTC',
    'Europe/Berlin',
    'America/New_York',
    'Etc/GMT+5',
    'America/Argentina/Buenos_Aires',
  ])('knows %s', (zone) => {
    expect(isKnownTimeZone(zone)).toBe(true);
  });

  it.each(['Mars/Base', '', '+01:00', 'UTC+1', 'Europe/ Berlin', '../etc/passwd'])('rejects %j', (zone) => {
    expect(isKnownTimeZone(zone)).toBe(false);
  });
});

describe('cronFor', () => {
  it('defaults to UTC, never the process zone', () => {
    expect(DEFAULT_TIME_ZONE).toBe('Etc/UTC');
    expect(cronOptions(undefined).timezone).toBe('Etc/UTC');
    expect(cronFor('0 12 * * *', undefined).nextRun(new Date('2026-01-01T00:00:00Z'))?.toISOString()).toBe(
      '2026-01-01T12:00:00.000Z',
    );
  });

  it.each([
    '* * * * *',
    '*/7 * * * * *',
    '0 30 2 * * *',
    '0 9 * * MON-FRI',
    '0 0 L * *',
    '0 0 * * 5#2',
    '0 0 29 2 *',
    '15 10 * * 1,3,5',
    '@hourly',
  ])('finds the same instants for %j in UTC as croner with timezone Etc/UTC', (pattern) => {
    const reference = new Cron(pattern, { ...cronOptions('Etc/UTC'), paused: true });
    for (const zone of [undefined, 'UTC', 'Etc/UTC']) {
      const fast = cronFor(pattern, zone);
      let from = new Date('2026-01-01T00:00:00Z');
      for (let i = 0; i < 200; i++) {
        const want = reference.nextRun(from);
        expect(fast.nextRun(from)?.toISOString()).toBe(want?.toISOString());
        if (!want) break;
        from = new Date(want.getTime() + 1 + ((i * 7919) % 3_600_000));
      }
    }
  });

  it('returns the same parsed pattern for the same pattern and zone, another for another zone', () => {
    const a = cronFor('0 12 * * *', 'Europe/Berlin');
    expect(cronFor('0 12 * * *', 'Europe/Berlin')).toBe(a);
    expect(cronFor('0 12 * * *', 'America/New_York')).not.toBe(a);
  });

  it('throws InvalidCronError with the pattern, zone and cause', () => {
    let caught: unknown;
    try {
      cronFor('61 * * * *', 'Europe/Berlin');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidCronError);
    expect(caught).toMatchObject({ pattern: '61 * * * *', timezone: 'Europe/Berlin' });
    expect((caught as Error).cause).toBeInstanceOf(Error);
    expect(() => cronFor('* * * * *', 'Mars/Base')).toThrow(InvalidCronError);
    expect(() => cronFor('2026-12-01T10:00:00Z', undefined)).toThrow(InvalidCronError);
  });
});

// `N/step` ("from N, every step") as Quartz, Spring and robfig/cron read it: N-max/step. croner
// refuses it ("stepping with numeric prefix is not allowed"). The expected instants are the ones
// those libraries' documentation gives for these patterns.
describe('N/step, as Quartz, Spring and robfig/cron read it', () => {
  const next = (pattern: string, from: string, n: number) => {
    const cron = cronFor(pattern, undefined);
    const out: string[] = [];
    let at = new Date(from);
    for (let i = 0; i < n; i++) {
      const t = cron.nextRun(at);
      if (!t) break;
      out.push(t.toISOString().slice(0, 19));
      at = t;
    }
    return out;
  };

  it.each([
    // Quartz CronTrigger tutorial: "0/15 in the seconds field means the seconds 0, 15, 30, and 45"
    [
      '0/15 * * * * *',
      '2026-03-02T10:00:00.500Z',
      5,
      ['10:00:15', '10:00:30', '10:00:45', '10:01:00', '10:01:15'],
    ],
    // …"and 5/15 in the seconds field means the seconds 5, 20, 35, and 50"
    [
      '5/15 * * * * *',
      '2026-03-02T10:00:00Z',
      5,
      ['10:00:05', '10:00:20', '10:00:35', '10:00:50', '10:01:05'],
    ],
    // the pattern: from 0, every 10 seconds
    ['0/10 * * * * *', '2026-03-02T10:00:41Z', 3, ['10:00:50', '10:01:00', '10:01:10']],
    // Quartz: "0 0/5 14 * * ?" fires every 5 minutes starting at 2pm and ending at 2:55pm
    ['0 0/5 14 * * *', '2026-03-02T14:50:00Z', 3, ['14:55:00', '14:00:00', '14:05:00']],
    // Spring CronExpression: "0 0/30 8-10 * * *" = 8:00, 8:30, 9:00, 9:30, 10:00 and 10:30 every day
    [
      '0 0/30 8-10 * * *',
      '2026-03-02T07:59:59Z',
      7,
      ['08:00:00', '08:30:00', '09:00:00', '09:30:00', '10:00:00', '10:30:00', '08:00:00'],
    ],
    // robfig/cron, 5 fields: minute 3/20 = 3, 23, 43
    ['3/20 * * * *', '2026-03-02T10:00:00Z', 4, ['10:03:00', '10:23:00', '10:43:00', '11:03:00']],
    // in a list, beside other values
    ['0 1,10/20 * * * *', '2026-03-02T10:00:00Z', 4, ['10:01:00', '10:10:00', '10:30:00', '10:50:00']],
    // hours: 22/2 = 22 only (the step passes the end of the day)
    ['0 0 22/2 * * *', '2026-03-02T00:00:00Z', 2, ['22:00:00', '22:00:00']],
  ])('%j from %s', (pattern, from, n, times) => {
    expect(cronPatternProblem(pattern)).toBeNull();
    expect(next(pattern, from, n).map((t) => t.slice(11))).toEqual(times);
  });

  it('day of month: Quartz "1/3" = every 3 days from the 1st (1, 4, …, 31); day of week 1/2 = Mon, Wed, Fri', () => {
    expect(next('0 0 1/3 * *', '2026-01-01T00:00:00Z', 11).map((t) => t.slice(8, 10))).toEqual([
      '04',
      '07',
      '10',
      '13',
      '16',
      '19',
      '22',
      '25',
      '28',
      '31',
      '01',
    ]);
    expect(next('0 0 * * 1/2', '2026-03-01T00:00:00Z', 4).map((t) => t.slice(0, 10))).toEqual([
      '2026-03-02',
      '2026-03-04',
      '2026-03-06',
      '2026-03-09',
    ]);
    // months: 2/6 = February and August
    expect(next('0 0 1 2/6 *', '2026-01-01T00:00:00Z', 3).map((t) => t.slice(0, 10))).toEqual([
      '2026-02-01',
      '2026-08-01',
      '2027-02-01',
    ]);
  });

  it('still refuses a bad start or step, naming the pattern as written', () => {
    expect(cronPatternProblem('60/10 * * * * *')).toContain('Invalid value for second');
    expect(cronPatternProblem('0/0 * * * * *')).toContain('illegal stepping');
    expect(() => cronFor('0 0 32/2 * *', undefined)).toThrow("invalid cron expression '0 0 32/2 * *'");
  });
});
