import { describe, expect, it } from 'vitest';
import { MAX_CATCH_UP_FIRES, planCatchUp } from './catch-up.ts';
import type { MisfirePolicy } from './schema.ts';

const NOW = new Date('2026-01-01T12:00:00.000Z');
/** An instant `s` seconds before NOW. */
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);
const isos = (dates: readonly Date[]) => dates.map((x) => x.toISOString());

function plan(policy: MisfirePolicy, graceSeconds: number, missedSecondsAgo: number[]) {
  const result = planCatchUp({
    misfire: { policy, graceSeconds },
    missed: missedSecondsAgo.map(ago),
    now: NOW,
  });
  return { fire: isos(result.fire), skipped: isos(result.skipped) };
}

describe('planCatchUp', () => {
  it.each<[string, MisfirePolicy, number, number[], number[], number[]]>([
    // name, policy, grace, missed (s ago, ascending), fired (s ago), skipped (s ago)
    ['skip fires none, even within grace', 'skip', 300, [240, 120, 60], [], [240, 120, 60]],
    ['fireOnce fires the latest within grace', 'fireOnce', 300, [240, 120, 60], [60], [240, 120]],
    ['fireOnce: exactly graceSeconds old is within grace', 'fireOnce', 300, [300], [300], []],
    ['fireOnce: 1 ms past grace is skipped', 'fireOnce', 300, [300.001], [], [300.001]],
    ['fireOnce: none within grace fires none', 'fireOnce', 300, [900, 600, 301], [], [900, 600, 301]],
    [
      'fireOnce: old ones skipped, latest in grace fires',
      'fireOnce',
      300,
      [900, 200, 100],
      [100],
      [900, 200],
    ],
    ['fireOnce: an occurrence exactly at now fires', 'fireOnce', 0, [1, 0], [0], [1]],
    ['fireOnce with grace 0 and nothing at now fires none', 'fireOnce', 0, [0.001], [], [0.001]],
    ['fireAll fires every one within grace', 'fireAll', 300, [240, 120, 60], [240, 120, 60], []],
    ['fireAll skips those past grace', 'fireAll', 300, [301, 300, 10], [300, 10], [301]],
    ['fireAll: 1 ms past grace is skipped', 'fireAll', 60, [60.001, 60], [60], [60.001]],
    ['nothing missed', 'fireAll', 300, [], [], []],
  ])('%s', (_name, policy, grace, missed, fired, skipped) => {
    expect(plan(policy, grace, missed)).toEqual({
      fire: isos(fired.map(ago)),
      skipped: isos(skipped.map(ago)),
    });
  });

  it(`fireAll fires at most ${MAX_CATCH_UP_FIRES}, the newest, and skips the rest`, () => {
    const missed = Array.from({ length: 150 }, (_, i) => 150 - i); // 150 s … 1 s ago, ascending
    const result = plan('fireAll', 3600, missed);
    expect(result.fire).toHaveLength(100);
    expect(result.fire[0]).toBe(ago(100).toISOString());
    expect(result.fire.at(-1)).toBe(ago(1).toISOString());
    expect(result.skipped).toHaveLength(50);
    expect(result.skipped[0]).toBe(ago(150).toISOString());
    expect(result.skipped.at(-1)).toBe(ago(101).toISOString());
  });

  it('sorts and de-duplicates its input', () => {
    expect(plan('fireAll', 300, [60, 240, 60, 120])).toEqual({
      fire: isos([240, 120, 60].map(ago)),
      skipped: [],
    });
    expect(plan('fireOnce', 300, [60, 240, 60, 120])).toEqual({
      fire: isos([ago(60)]),
      skipped: isos([240, 120].map(ago)),
    });
  });

  it('leaves occurrences after now out of both lists (they are not missed yet)', () => {
    expect(plan('fireAll', 300, [60, -1])).toEqual({ fire: isos([ago(60)]), skipped: [] });
    expect(plan('skip', 300, [-5])).toEqual({ fire: [], skipped: [] });
  });
});
