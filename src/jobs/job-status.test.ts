import type { V1JobCondition, V1JobStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HISTORY_LIMITS,
  type FinishedJob,
  failureError,
  jobOutcome,
  jobsToPrune,
  parseLimit,
  toDate,
} from './job-status.ts';

const T1 = '2026-12-01T10:00:05Z';
const T2 = '2026-12-01T10:00:09Z';
const cond = (type: string, status = 'True', extra: Partial<V1JobCondition> = {}) =>
  ({ type, status, lastTransitionTime: T1, ...extra }) as unknown as V1JobCondition;

describe('jobOutcome', () => {
  const cases: [string, V1JobStatus | undefined, ReturnType<typeof jobOutcome>][] = [
    ['no status yet', undefined, { state: 'active' }],
    ['started, running', { startTime: new Date(T1), active: 1 }, { state: 'active' }],
    [
      'SuccessCriteriaMet alone: pods still terminating',
      { conditions: [cond('SuccessCriteriaMet')] },
      { state: 'active' },
    ],
    [
      'FailureTarget alone: pods still terminating',
      { conditions: [cond('FailureTarget')] },
      { state: 'active' },
    ],
    ['Complete=False', { conditions: [cond('Complete', 'False')] }, { state: 'active' }],
    ['Suspended', { conditions: [cond('Suspended')] }, { state: 'active' }],
    [
      'Complete: finished at its transition',
      { completionTime: new Date(T2), conditions: [cond('SuccessCriteriaMet'), cond('Complete')] },
      { state: 'succeeded', finishedAt: new Date(T1) },
    ],
    [
      'Complete without a transition time: completionTime',
      {
        completionTime: T2 as unknown as Date, // a watch event carries strings
        conditions: [cond('Complete', 'True', { lastTransitionTime: undefined })],
      },
      { state: 'succeeded', finishedAt: new Date(T2) },
    ],
    [
      'Failed: reason and message',
      {
        conditions: [
          cond('FailureTarget', 'True', { reason: 'BackoffLimitExceeded' }),
          cond('Failed', 'True', {
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          }),
        ],
      },
      {
        state: 'failed',
        finishedAt: new Date(T1),
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
      },
    ],
    [
      'Failed without reason or message',
      { conditions: [cond('Failed')] },
      { state: 'failed', finishedAt: new Date(T1), reason: '', message: '' },
    ],
    [
      'the first finished condition wins',
      { conditions: [cond('Failed', 'False'), cond('Complete')] },
      { state: 'succeeded', finishedAt: new Date(T1) },
    ],
  ];
  it.each(cases)('%s', (_name, status, expected) => {
    expect(jobOutcome(status)).toEqual(expected);
  });
});

describe('failureError', () => {
  it('names the Job, its reason and message', () => {
    expect(
      failureError('ns', 'j', {
        reason: 'DeadlineExceeded',
        message: 'Job was active longer than specified',
      }),
    ).toBe('Job ns/j failed: DeadlineExceeded: Job was active longer than specified');
    expect(failureError('ns', 'j', { reason: 'BackoffLimitExceeded', message: '' })).toBe(
      'Job ns/j failed: BackoffLimitExceeded',
    );
    expect(failureError('ns', 'j', { reason: '', message: '' })).toBe('Job ns/j failed');
  });
});

describe('jobsToPrune', () => {
  const job = (name: string, state: FinishedJob['state'], order: number): FinishedJob => ({
    name,
    state,
    order,
  });

  it('keeps the newest N of each kind, by occurrence', () => {
    const finished = [
      job('s-1', 'succeeded', 1),
      job('s-5', 'succeeded', 5),
      job('f-2', 'failed', 2),
      job('s-3', 'succeeded', 3),
      job('f-4', 'failed', 4),
      job('s-6', 'succeeded', 6),
      job('s-7', 'succeeded', 7),
    ];
    expect(jobsToPrune(finished, DEFAULT_HISTORY_LIMITS).sort()).toEqual(['f-2', 's-1', 's-3']);
    expect(jobsToPrune(finished, { succeeded: 0, failed: 0 }).sort()).toEqual(
      ['f-2', 'f-4', 's-1', 's-3', 's-5', 's-6', 's-7'].sort(),
    );
    expect(jobsToPrune(finished, { succeeded: 100, failed: 100 })).toEqual([]);
    expect(jobsToPrune(finished, { succeeded: 1, failed: 2 }).sort()).toEqual(['s-1', 's-3', 's-5', 's-6']);
  });

  it('breaks ties by name, so the choice does not depend on the order Jobs were seen', () => {
    const a = [job('x-a', 'succeeded', 1), job('x-b', 'succeeded', 1)];
    expect(jobsToPrune(a, { succeeded: 1, failed: 1 })).toEqual(['x-a']);
    expect(jobsToPrune([...a].reverse(), { succeeded: 1, failed: 1 })).toEqual(['x-a']);
  });

  it('prunes nothing when there is nothing finished', () => {
    expect(jobsToPrune([], DEFAULT_HISTORY_LIMITS)).toEqual([]);
  });
});

describe('parseLimit', () => {
  it('reads integers 0..100 and falls back otherwise', () => {
    expect(parseLimit('0', 3)).toBe(0);
    expect(parseLimit('100', 3)).toBe(100);
    expect(parseLimit('101', 3)).toBe(3);
    expect(parseLimit('-1', 3)).toBe(3);
    expect(parseLimit('2.5', 3)).toBe(3);
    expect(parseLimit('', 3)).toBe(3);
    expect(parseLimit(undefined, 1)).toBe(1);
  });
});

describe('toDate', () => {
  it('accepts Dates and wire strings, nothing else', () => {
    expect(toDate(new Date(T1))).toEqual(new Date(T1));
    expect(toDate(T1)).toEqual(new Date(T1));
    expect(toDate('')).toBeNull();
    expect(toDate('not a date')).toBeNull();
    expect(toDate(undefined)).toBeNull();
    expect(toDate(5)).toBeNull();
  });
});
