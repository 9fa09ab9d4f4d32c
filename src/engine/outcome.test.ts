import { describe, expect, it } from 'vitest';
import type { ActionResult } from '../actions/types.ts';
import { runOutcome, type StopCause } from './outcome.ts';

describe('runOutcome', () => {
  const cases: [ActionResult['status'], StopCause, string][] = [
    ['succeeded', null, 'succeeded'],
    ['succeeded', 'leadership', 'succeeded'],
    ['failed', null, 'failed'],
    ['failed', 'leadership', 'failed'],
    ['unknown', 'leadership', 'unknown'],
    ['unknown', 'replaced', 'unknown'],
    ['aborted', 'leadership', 'abandoned'],
    ['aborted', 'replaced', 'failed'],
    ['aborted', null, 'failed'],
  ];
  it.each(cases)('%s (stopped by %s) is recorded %s', (status, cause, expected) => {
    expect(runOutcome({ status, attempts: 1 }, cause)).toBe(expected);
  });
});
