import { describe, expect, it } from 'vitest';
import { followerDelayMs, jitter } from './timing.ts';

describe('jitter', () => {
  it.each([
    [0, 500],
    [0.5, 550],
    [0.999_999, 599.9999],
  ])('random %d → %d ms for a 500 ms period', (random, expected) => {
    expect(jitter(500, () => random)).toBeCloseTo(expected, 3);
  });

  it('never goes below the period nor above 1.2 × the period', () => {
    for (let i = 0; i < 1000; i++) {
      const ms = jitter(2000, Math.random);
      expect(ms).toBeGreaterThanOrEqual(2000);
      expect(ms).toBeLessThanOrEqual(2400);
    }
  });
});

describe('followerDelayMs', () => {
  const random = () => 0.5; // jittered 500 ms → 550 ms
  it.each([
    ['nothing to wait for', undefined, 550],
    ['lease expires later than the retry', 10_000, 550],
    ['lease expires before the retry', 120, 120],
    ['lease expires now', 0, 0],
    ['lease already expired', -300, 0],
  ])('%s', (_name, expiresInMs, expected) => {
    expect(followerDelayMs({ retryPeriodMs: 500, expiresInMs, random })).toBeCloseTo(expected, 6);
  });
});
