import { describe, expect, it } from 'vitest';
import type { ScheduleSpec } from '../schedule/schema.ts';
import {
  type DueSource,
  editBoundary,
  judgeTurn,
  ON_TIME_TOLERANCE_MS,
  planDue,
  startCursor,
} from './plan.ts';

const T = (iso: string) => new Date(iso);
function src(
  schedule: ScheduleSpec,
  misfire: DueSource['misfire'],
  extra: Partial<DueSource> = {},
): DueSource {
  return { schedule, startAt: null, endAt: null, createdAt: T('2026-01-01T00:00:00Z'), misfire, ...extra };
}
const iso = (p: ReturnType<typeof planDue>) => p.fire.map((f) => `${f.at.toISOString()} ${f.trigger}`);

describe('planDue', () => {
  const every10 = { every: '10s' };

  it('fires an on-time occurrence as a schedule fire and arms the next', () => {
    const p = planDue(
      src(every10, { policy: 'skip', graceSeconds: 300 }),
      T('2026-01-01T00:00:09.999Z'),
      T('2026-01-01T00:00:10.004Z'),
    );
    expect(iso(p)).toEqual(['2026-01-01T00:00:10.000Z schedule']);
    expect(p.next?.toISOString()).toBe('2026-01-01T00:00:20.000Z');
    expect(p.cursor.toISOString()).toBe('2026-01-01T00:00:10.004Z');
    expect(p.skippedCount).toBe(0);
    expect(p.firstSkipped).toBeNull();
  });

  it('fires nothing and arms the next when nothing is due yet', () => {
    const p = planDue(
      src(every10, { policy: 'fireAll', graceSeconds: 300 }),
      T('2026-01-01T00:00:10Z'),
      T('2026-01-01T00:00:15Z'),
    );
    expect(p.fire).toEqual([]);
    expect(p.next?.toISOString()).toBe('2026-01-01T00:00:20.000Z');
  });

  it('fireOnce after a gap fires only the latest missed occurrence as catch-up', () => {
    const p = planDue(
      src(every10, { policy: 'fireOnce', graceSeconds: 300 }),
      T('2026-01-01T00:00:10Z'),
      T('2026-01-01T00:01:05Z'),
    );
    expect(iso(p)).toEqual(['2026-01-01T00:01:00.000Z catchup']);
    expect(p.skippedCount).toBe(4); // 20, 30, 40, 50
    expect(p.firstSkipped?.toISOString()).toBe('2026-01-01T00:00:20.000Z');
  });

  it('fireAll fires every missed occurrence within grace, skipping older ones', () => {
    const p = planDue(
      src(every10, { policy: 'fireAll', graceSeconds: 25 }),
      T('2026-01-01T00:00:00Z'),
      T('2026-01-01T00:01:05Z'),
    );
    expect(iso(p)).toEqual([
      '2026-01-01T00:00:40.000Z catchup',
      '2026-01-01T00:00:50.000Z catchup',
      '2026-01-01T00:01:00.000Z catchup',
    ]);
    expect(p.skippedCount).toBe(3); // 10, 20, 30 are older than 25 s
    expect(p.firstSkipped?.toISOString()).toBe('2026-01-01T00:00:10.000Z');
  });

  it('skip drops missed occurrences but still fires the on-time one', () => {
    const p = planDue(
      src(every10, { policy: 'skip', graceSeconds: 300 }),
      T('2026-01-01T00:00:00Z'),
      T('2026-01-01T00:01:00.200Z'),
    );
    expect(iso(p)).toEqual(['2026-01-01T00:01:00.000Z schedule']);
    expect(p.skippedCount).toBe(5);
  });

  it('labels an occurrence just past the tolerance as catch-up', () => {
    const now = new Date(T('2026-01-01T00:00:10Z').getTime() + ON_TIME_TOLERANCE_MS + 1);
    const p = planDue(
      src(every10, { policy: 'fireOnce', graceSeconds: 300 }),
      T('2026-01-01T00:00:05Z'),
      now,
    );
    expect(iso(p)).toEqual(['2026-01-01T00:00:10.000Z catchup']);
  });

  it('keeps only the newest occurrences of a tiny period after a very long gap', () => {
    const p = planDue(
      src({ every: '1s' }, { policy: 'fireAll', graceSeconds: 7 * 86_400 }),
      T('2026-01-01T00:00:00Z'),
      T('2026-01-08T00:00:00Z'),
    );
    // The newest 100 missed ones, plus the two within the on-time tolerance (never misfires).
    expect(p.fire).toHaveLength(102);
    expect(p.fire.at(-1)?.at.toISOString()).toBe('2026-01-08T00:00:00.000Z');
    expect(p.fire[0]?.at.toISOString()).toBe('2026-01-07T23:58:19.000Z');
    expect(p.fire.filter((f) => f.trigger === 'catchup')).toHaveLength(100);
  });

  it('caps fireAll at the configured maximum (MAX_CATCHUP_PER_SCHEDULE)', () => {
    const p = planDue(
      src(every10, { policy: 'fireAll', graceSeconds: 3600 }),
      T('2026-01-01T00:00:00Z'),
      T('2026-01-01T00:10:00.5Z'),
      5,
    );
    // The cap is on catch-ups: the five newest missed, and the on-time one beside them.
    expect(p.fire.map((f) => `${f.at.toISOString()} ${f.trigger}`)).toEqual([
      '2026-01-01T00:09:10.000Z catchup',
      '2026-01-01T00:09:20.000Z catchup',
      '2026-01-01T00:09:30.000Z catchup',
      '2026-01-01T00:09:40.000Z catchup',
      '2026-01-01T00:09:50.000Z catchup',
      '2026-01-01T00:10:00.000Z schedule',
    ]);
    expect(p.skippedCount).toBe(54);
    expect(p.firstSkipped?.toISOString()).toBe('2026-01-01T00:00:10.000Z');
  });

  it('fireOnce catches up the newest missed occurrence beside an on-time one (not instead of it)', () => {
    const p = planDue(
      src({ every: '1s' }, { policy: 'fireOnce', graceSeconds: 300 }),
      T('2026-01-01T00:00:24.289Z'),
      T('2026-01-01T00:00:36.4Z'),
    );
    expect(p.fire.map((f) => `${f.at.toISOString()} ${f.trigger}`)).toEqual([
      '2026-01-01T00:00:35.000Z catchup',
      '2026-01-01T00:00:36.000Z schedule',
    ]);
  });

  it('respects endAt: nothing to arm after the end', () => {
    const p = planDue(
      src(every10, { policy: 'fireAll', graceSeconds: 300 }, { endAt: T('2026-01-01T00:00:30Z') }),
      T('2026-01-01T00:00:25Z'),
      T('2026-01-01T00:00:30.010Z'),
    );
    expect(iso(p)).toEqual(['2026-01-01T00:00:30.000Z schedule']);
    expect(p.next).toBeNull();
  });

  it('handles cron in a time zone across the spring-forward gap', () => {
    const s = src(
      { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
      { policy: 'fireOnce', graceSeconds: 300 },
    );
    const p = planDue(s, T('2026-03-28T01:30:00Z'), T('2026-03-28T01:30:00.050Z'));
    expect(p.next).not.toBeNull();
    // 02:30 does not exist in Berlin on 2026-03-29; whatever croner picks is after the gap
    expect(p.next!.getTime()).toBeGreaterThan(T('2026-03-29T00:59:59Z').getTime());
  });
});

describe('startCursor', () => {
  const now = T('2026-01-01T00:01:00Z');
  it('starts after the last claim, or just before the last edit when that is later', () => {
    const edit = T('2026-01-01T00:00:10Z');
    expect(startCursor(undefined, edit, now).toISOString()).toBe('2026-01-01T00:00:09.999Z');
    expect(startCursor(T('2026-01-01T00:00:20Z'), edit, now).toISOString()).toBe('2026-01-01T00:00:20.000Z');
    expect(startCursor(T('2026-01-01T00:00:05Z'), edit, now).toISOString()).toBe('2026-01-01T00:00:09.999Z');
  });

  it("never starts after the leader's now, whatever clock wrote the edit (issue 10)", () => {
    // updatedAt written by a replica whose clock runs 30 s ahead
    const ahead = T('2026-01-01T00:01:30Z');
    expect(startCursor(undefined, ahead, now).toISOString()).toBe('2026-01-01T00:01:00.000Z');
    expect(startCursor(T('2026-01-01T00:00:20Z'), ahead, now).toISOString()).toBe('2026-01-01T00:01:00.000Z');
  });
});

describe('editBoundary', () => {
  const now = T('2026-01-01T00:01:00Z');
  it('is just before the edit, so an occurrence at the edit belongs to the new version', () => {
    expect(new Date(editBoundary(T('2026-01-01T00:00:59.500Z'), now)).toISOString()).toBe(
      '2026-01-01T00:00:59.499Z',
    );
  });

  it("is clamped to the leader's now when the edit comes from a clock that runs ahead (issue 10)", () => {
    expect(new Date(editBoundary(T('2026-01-01T00:05:00Z'), now)).toISOString()).toBe(
      '2026-01-01T00:01:00.000Z',
    );
  });
});

describe('judgeTurn: an occurrence whose turn comes late is decided by the misfire policy', () => {
  const at = T('2026-01-01T00:00:10Z');
  const plus = (ms: number) => new Date(at.getTime() + ms);
  const fireOnce = { policy: 'fireOnce', graceSeconds: 300 } as const;
  const fireAll = { policy: 'fireAll', graceSeconds: 300 } as const;
  const skip = { policy: 'skip', graceSeconds: 300 } as const;

  it.each([
    ['on time, whatever is queued', fireOnce, ON_TIME_TOLERANCE_MS, 5, 100, null],
    ['skip: on time', skip, 200, 3, 100, null],
    ['skip: late', skip, ON_TIME_TOLERANCE_MS + 1, 0, 100, /misfire policy is skip/],
    ['fireOnce: late, the newest of the backlog', fireOnce, 8000, 0, 100, null],
    ['fireOnce: late, newer ones queued', fireOnce, 8000, 1, 100, /only the newest/],
    ['fireOnce: past grace', fireOnce, 301_000, 0, 100, /more than the misfire grace \(300 s\)/],
    ['fireAll: late, within the newest maxCatchUp', fireAll, 8000, 2, 3, null],
    ['fireAll: late, older than the newest maxCatchUp', fireAll, 8000, 3, 3, /fires the newest 3/],
    ['fireAll: default cap is 100', fireAll, 8000, 99, undefined, null],
    ['fireAll: past grace', fireAll, 300_001, 0, 3, /misfire grace/],
  ] as const)('%s', (_name, misfire, lateMs, behind, cap, want) => {
    const got = judgeTurn(misfire, at, plus(lateMs), behind, cap);
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatch(want);
  });

  it('a grace shorter than the on-time tolerance never skips an on-time turn', () => {
    expect(judgeTurn({ policy: 'fireOnce', graceSeconds: 0 }, at, plus(900), 0)).toBeNull();
  });
});
