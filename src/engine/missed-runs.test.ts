import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { MissedRecord } from '../store/types.ts';
import { type MissedNote, MissedRuns } from './missed-runs.ts';

const T = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const note = (scheduleId: string, first: number, count: number, until: number): MissedNote => ({
  scheduleId,
  scheduleName: `n-${scheduleId}`,
  first: T(first),
  count,
  until: T(until),
  reason: 'missed; passed over by misfire policy skip',
  leader: 'leasecron-0',
  epoch: 3,
});

function setup(opts: { maxPending?: number; fail?: boolean } = {}) {
  const written: MissedRecord[][] = [];
  const warnings: string[] = [];
  const clock = { ms: 0 };
  const logger = pino({ level: 'warn' }, { write: (s: string) => warnings.push(JSON.parse(s).msg) });
  const missed = new MissedRuns({
    write: async (r) => {
      if (opts.fail) throw new Error('db down');
      written.push(r);
    },
    logger,
    now: () => clock.ms,
    flushMs: 3_600_000, // flushed by hand below
    minSpacingMs: 10_000,
    batch: 2,
    ...(opts.maxPending === undefined ? {} : { maxPending: opts.maxPending }),
  });
  return { missed, written, warnings, clock };
}

describe('MissedRuns', () => {
  it('coalesces the notes of one schedule into one record: first, total count, latest until', async () => {
    const { missed, written } = setup();
    missed.note(note('a', 10, 5, 60));
    missed.note(note('a', 70, 1, 80));
    missed.note(note('b', 5, 1000, 61));
    await missed.flush();
    expect(written.flat().map((r) => [r.scheduleId, r.first, r.count, r.until])).toEqual([
      ['a', T(10), 6, T(80)],
      ['b', T(5), 1000, T(61)],
    ]);
    expect(
      written.flat().every((r) => r.leader === 'leasecron-0' && r.epoch === 3 && r.id.length === 36),
    ).toBe(true);
  });

  it('writes at most one record per schedule per spacing; the rest waits and is summed', async () => {
    const { missed, written, clock } = setup();
    missed.note(note('a', 0, 1, 1));
    await missed.flush();
    clock.ms = 1000;
    missed.note(note('a', 2, 1, 3));
    missed.note(note('a', 4, 1, 5));
    await missed.flush();
    expect(written.flat()).toHaveLength(1);
    clock.ms = 10_000;
    await missed.flush();
    expect(written.flat().map((r) => [r.first, r.count])).toEqual([
      [T(0), 1],
      [T(2), 2],
    ]);
  });

  it('writes in batches, and caps the schedules waiting at once (the rest counted and logged)', async () => {
    const { missed, written, warnings } = setup({ maxPending: 3 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) missed.note(note(id, 0, 2, 1));
    missed.note(note('a', 1, 1, 2)); // a is pending: still summed in
    await missed.flush();
    expect(written.map((w) => w.length)).toEqual([2, 1]);
    expect(written.flat().map((r) => [r.scheduleId, r.count])).toEqual([
      ['a', 3],
      ['b', 2],
      ['c', 2],
    ]);
    expect(warnings).toEqual([
      'missed occurrences not recorded in run history: too many schedules missed at once',
    ]);
  });

  it('a failed write is logged and dropped; close writes what is pending and takes no more', async () => {
    const failing = setup({ fail: true });
    failing.missed.note(note('a', 0, 1, 1));
    await failing.missed.flush();
    expect(failing.warnings).toEqual(['recording missed occurrences failed']);

    const { missed, written, clock } = setup();
    missed.note(note('a', 0, 1, 1));
    await missed.flush();
    missed.note(note('a', 2, 1, 3)); // held back by the spacing…
    await missed.close(); // …but written on close
    missed.note(note('a', 4, 1, 5));
    clock.ms = 60_000;
    await missed.flush();
    expect(written.flat().map((r) => r.first)).toEqual([T(0), T(2)]);
    await missed.close();
  });
});
