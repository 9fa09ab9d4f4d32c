// The chaos suite's verdicts, on made-up deliveries: what each misfire policy owes after a gap.
import { describe, expect, it } from 'vitest';
import { judge } from '../chaos/judge.ts';

const S = 1_000_000; // occurrences every second from here
const onTime = (k: number) => ({ schedule: 'x', scheduledFor: S + k * 1000, receivedAt: S + k * 1000 + 20 });
const lateBy = (k: number, ms: number) => ({
  schedule: 'x',
  scheduledFor: S + k * 1000,
  receivedAt: S + k * 1000 + ms,
});
// Fault at occurrence 3, healed so that occurrence 10 is the first on time again.
const w = { start: S + 3000 + 500, recovered: S + 10_000 };
const before = [0, 1, 2, 3].map(onTime);
const after = [10, 11, 12].map(onTime);

describe('judge', () => {
  it('fireOnce: one catch-up is right; none, or two, is not', () => {
    expect(judge([...before, lateBy(9, 800), ...after], 'fireOnce', w, 3).problems).toEqual([]);
    expect(judge([...before, lateBy(8, 2500), ...after], 'fireOnce', w, 3).problems).toEqual([]);
    expect(judge([...before, ...after], 'fireOnce', w, 3)).toMatchObject({ missed: 1 });
    expect(judge([...before, lateBy(8, 2500), lateBy(9, 2000), ...after], 'fireOnce', w, 3).problems).toEqual(
      ['fireOnce: 2 late deliveries (one catch-up at most)'],
    );
  });

  it('skip: nothing late', () => {
    expect(judge([...before, ...after], 'skip', w, 3).problems).toEqual([]);
    expect(judge([...before, lateBy(9, 2000), ...after], 'skip', w, 3).problems).toEqual([
      'skip: 1 late delivery(ies)',
    ]);
  });

  it('fireAll: the newest cap of the gap, no more late ones than the cap', () => {
    const three = [7, 8, 9].map((k) => lateBy(k, 3000));
    expect(judge([...before, ...three, ...after], 'fireAll', w, 3).problems).toEqual([]);
    expect(judge([...before, ...three.slice(1), ...after], 'fireAll', w, 3)).toMatchObject({ missed: 1 });
    const five = [5, 6, 7, 8, 9].map((k) => lateBy(k, 3000));
    expect(judge([...before, ...five, ...after], 'fireAll', w, 3).problems).toContain(
      'fireAll: 5 late deliveries (cap 3)',
    );
  });

  it('a duplicate or a hole outside the gap is always wrong', () => {
    expect(judge([...before, onTime(3), lateBy(9, 900), ...after], 'fireOnce', w, 3).duplicate).toBe(1);
    const holed = [onTime(0), onTime(2), onTime(3), lateBy(9, 900), ...after];
    expect(judge(holed, 'fireOnce', w, 3)).toMatchObject({ missed: 1 });
  });
});
