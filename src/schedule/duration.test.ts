import { describe, expect, it } from 'vitest';
import { formatDuration, InvalidDurationError, MAX_DURATION_MS, parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it.each([
    ['1ms', 1],
    ['500ms', 500],
    ['1s', 1_000],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['1s500ms', 1_500],
    ['1h2m3s4ms', 3_723_004],
    ['90m', 5_400_000],
    ['0h5m', 300_000],
    ['05s', 5_000],
    ['8784h', MAX_DURATION_MS],
    ['527040m', MAX_DURATION_MS],
  ])('%s → %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'empty'],
    ['0s', 'at least 1ms'],
    ['0ms', 'at least 1ms'],
    ['0h0m', 'at least 1ms'],
    ['-5s', 'must be positive'],
    ['5', "'5' has no unit"],
    ['1d', "unknown unit 'd'"],
    ['5min', "unknown unit 'min'"],
    ['5S', "unknown unit 'S'"],
    ['10µs', "unknown unit 'µs'"],
    ['1.5h', 'fractions are not supported'],
    ['s', "unexpected 's'"],
    ['1h 30m', "unexpected ' 30m'"],
    [' 1h', "unexpected ' 1h'"],
    ['30m1h', "unit 'h' repeated or out of order"],
    ['1h1h', "unit 'h' repeated or out of order"],
    ['8784h1ms', 'at most 366 days'],
    ['367d', "unknown unit 'd'"],
    ['9999999999999999999h', 'at most 366 days'],
    ['1h30', "'30' has no unit"],
  ])('rejects %j (%s)', (text, reason) => {
    let caught: unknown;
    try {
      parseDuration(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidDurationError);
    expect((caught as InvalidDurationError).input).toBe(text);
    expect((caught as Error).message).toContain(reason);
  });

  it('rejects a non-string with the typed error', () => {
    expect(() => parseDuration(30 as unknown as string)).toThrow(InvalidDurationError);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1, '1ms'],
    [500, '500ms'],
    [30_000, '30s'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [3_723_004, '1h2m3s4ms'],
    [MAX_DURATION_MS, '8784h'],
  ])('%i ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %d', (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1_000, 61_001, 3_600_000, 86_399_999, MAX_DURATION_MS]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
