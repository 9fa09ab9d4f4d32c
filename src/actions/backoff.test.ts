// Table tests for the pure retry-delay maths: no timers, fixed clock, fixed randomness.
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_DELAY_MS, parseRetryAfter, retryDelayMs } from './backoff.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');

describe('parseRetryAfter', () => {
  it.each([
    ['absent (null)', null, null],
    ['absent (undefined)', undefined, null],
    ['empty', '', null],
    ['zero seconds', '0', 0],
    ['one second', '1', 1000],
    ['padded seconds', ' 120 ', 120_000],
    ['large seconds (capping is the caller’s job)', '86400', 86_400_000],
    ['negative seconds', '-5', null],
    ['fractional seconds', '1.5', null],
    ['seconds with unit', '10s', null],
    ['IMF-fixdate 30 s ahead', 'Sun, 01 Mar 2026 12:00:30 GMT', 30_000],
    ['IMF-fixdate now', 'Sun, 01 Mar 2026 12:00:00 GMT', 0],
    ['IMF-fixdate in the past', 'Sat, 28 Feb 2026 12:00:00 GMT', 0],
    ['IMF-fixdate, wrong weekday is tolerated', 'Mon, 01 Mar 2026 12:01:00 GMT', 60_000],
    ['IMF-fixdate without GMT', 'Sun, 01 Mar 2026 12:00:30', null],
    ['IMF-fixdate with offset zone', 'Sun, 01 Mar 2026 12:00:30 +0000', null],
    ['IMF-fixdate 31 Feb', 'Tue, 31 Feb 2026 12:00:30 GMT', null],
    ['IMF-fixdate hour 24', 'Sun, 01 Mar 2026 24:00:00 GMT', null],
    ['RFC 850 date, two-digit year this century', 'Sunday, 01-Mar-26 12:02:00 GMT', 120_000],
    ['RFC 850 date, far-future year means last century', 'Sunday, 01-Mar-99 12:02:00 GMT', 0],
    ['asctime date, space-padded day', 'Sun Mar  1 12:00:05 2026', 5_000],
    ['asctime date, two-digit day', 'Tue Mar 10 12:00:00 2026', 9 * 86_400_000],
    ['ISO-8601 is not an HTTP-date', '2026-03-01T12:00:30Z', null],
    ['garbage', 'soon', null],
  ])('%s', (_name, value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('retryDelayMs', () => {
  const base = { backoffMs: 100, now: NOW, capMs: MAX_RETRY_DELAY_MS };
  const r = (x: number) => () => x;

  it.each([
    ['attempt 1, random 0 → 0', { attempt: 1, random: r(0) }, 0],
    ['attempt 1, random 0.5 → half of 100', { attempt: 1, random: r(0.5) }, 50],
    ['attempt 2 doubles the ceiling', { attempt: 2, random: r(0.5) }, 100],
    ['attempt 3 quadruples the ceiling', { attempt: 3, random: r(0.5) }, 200],
    ['random just under 1 stays under the ceiling', { attempt: 3, random: r(0.9999) }, 399],
    ['ceiling capped', { attempt: 30, random: r(0.5), capMs: 1000 }, 500],
    ['huge attempt does not overflow the cap', { attempt: 5000, random: r(0.5) }, MAX_RETRY_DELAY_MS / 2],
    ['zero backoff means no wait', { attempt: 4, backoffMs: 0, random: r(0.9) }, 0],
    ['attempt 0 is treated as 1', { attempt: 0, random: r(0.5) }, 50],
    ['Retry-After seconds is a floor', { attempt: 1, random: r(0.5), retryAfter: '1' }, 1000],
    ['jitter above Retry-After wins', { attempt: 8, random: r(0.5), retryAfter: '1' }, 6400],
    ['Retry-After 0 keeps the backoff', { attempt: 2, random: r(0.5), retryAfter: '0' }, 100],
    ['Retry-After date', { attempt: 1, random: r(0), retryAfter: 'Sun, 01 Mar 2026 12:00:02 GMT' }, 2000],
    ['Retry-After capped at 5 min', { attempt: 1, random: r(0), retryAfter: '3600' }, MAX_RETRY_DELAY_MS],
    ['Retry-After capped by capMs', { attempt: 1, random: r(0), retryAfter: '10', capMs: 3000 }, 3000],
    ['invalid Retry-After falls back to backoff', { attempt: 2, random: r(0.25), retryAfter: 'soon' }, 50],
    ['null Retry-After falls back to backoff', { attempt: 2, random: r(0.25), retryAfter: null }, 50],
  ])('%s', (_name, input, expected) => {
    expect(retryDelayMs({ ...base, ...input })).toBe(expected);
  });

  it('stays within [0, ceiling) over many random draws', () => {
    for (let i = 0; i < 1000; i++) {
      const d = retryDelayMs({ ...base, attempt: 3, random: Math.random });
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(400);
    }
  });
});
