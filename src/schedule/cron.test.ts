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
