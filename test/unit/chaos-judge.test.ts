// The chaos suite's verdicts, on made-up deliveries: what each misfire policy owes after a gap.
import { describe, expect, it } from 'vitest';
import { judge } from '../chaos/judge.ts';

const S = 1_000_000; // occurrences every second from here
const at = (k: number) => S + k * 1000;
const onTime = (k: number) => ({ schedule: 'x', scheduledFor: at(k), receivedAt: at(k) + 20 });
const lateBy = (k: number, ms: number) => ({ schedule: 'x', scheduledFor: at(k), receivedAt: at(k) + ms });
// Fault just after occurrence 3; occurrence 10 is the first on time again.
const w = { start: at(3) + 500, recovered: at(10) };
const before = [0, 1, 2, 3].map(onTime);
const after = [10, 11, 12].map(onTime);

describe('judge', () => {
  it('fireOnce: one catch-up for the gap is right; none, or a burst, is not', () => {
    expect(judge([...before, lateBy(9, 800), ...after], 'fireOnce', w, 3, [at(9)]).problems).toEqual([]);
    expect(judge([...before, lateBy(8, 2500), ...after], 'fireOnce', w, 3, [at(8)]).problems).toEqual([]);
    expect(judge([...before, ...after], 'fireOnce', w, 3, [])).toMatchObject({ missed: 1 });
    const burst = [5, 6, 7, 8, 9].map((k) => lateBy(k, 2000));
    expect(
      judge([...before, ...burst, ...after], 'fireOnce', w, 3, [5, 6, 7, 8, 9].map(at)).problems,
    ).toContain('fireOnce: 5 catch-ups (at most 2)');
    // an on-time fire that arrived late on a busy machine is no catch-up
    expect(
      judge([...before, lateBy(9, 800), lateBy(10, 1800), ...after.slice(1)], 'fireOnce', w, 3, [at(9)])
        .problems,
    ).toEqual([]);
  });

  it('a fault that opens several gaps may have a catch-up for each', () => {
    const three = [lateBy(4, 2000), lateBy(6, 2000), lateBy(9, 2000)];
    expect(judge([...before, ...three, ...after], 'fireOnce', w, 3, [at(4), at(6), at(9)]).problems).toEqual([
      'fireOnce: 3 catch-ups (at most 2)',
    ]);
    expect(
      judge([...before, ...three, ...after], 'fireOnce', w, 3, [at(4), at(6), at(9)], 2).problems,
    ).toEqual([]);
  });

  it('a catch-up that was claimed but never arrived does not count', () => {
    expect(judge([...before, ...after], 'fireOnce', w, 3, [at(9)])).toMatchObject({ missed: 1 });
  });

  it('skip: nothing late, no catch-up', () => {
    expect(judge([...before, ...after], 'skip', w, 3, []).problems).toEqual([]);
    expect(judge([...before, lateBy(9, 2000), ...after], 'skip', w, 3, [at(9)]).problems).toEqual([
      'skip: 1 catch-up run(s)',
    ]);
  });

  it('fireAll: the newest cap of the gap, no more late ones than the cap', () => {
    const three = [7, 8, 9].map((k) => lateBy(k, 3000));
    expect(judge([...before, ...three, ...after], 'fireAll', w, 3, [at(7), at(8), at(9)]).problems).toEqual(
      [],
    );
    expect(judge([...before, ...three.slice(1), ...after], 'fireAll', w, 3, [at(8), at(9)])).toMatchObject({
      missed: 1,
    });
    const five = [5, 6, 7, 8, 9].map((k) => lateBy(k, 3000)); // one over cap + 1
    expect(
      judge([...before, ...five, ...after], 'fireAll', w, 3, [5, 6, 7, 8, 9].map(at)).problems,
    ).toContain('fireAll: 5 catch-ups (at most 4)');
  });

  it('a duplicate or a hole outside the gap is always wrong', () => {
    expect(judge([...before, onTime(3), lateBy(9, 900), ...after], 'fireOnce', w, 3, [at(9)]).duplicate).toBe(
      1,
    );
    const holed = [onTime(0), onTime(2), onTime(3), lateBy(9, 900), ...after];
    expect(judge(holed, 'fireOnce', w, 3, [at(9)])).toMatchObject({ missed: 1 });
  });
});
