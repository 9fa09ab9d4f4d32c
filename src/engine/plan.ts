// Which occurrences of one schedule are due now, and what to do with each: a pure
// function of the schedule, how far this leader has already processed it, and the
// clock. The engine calls it when a schedule is armed and whenever its timer fires,
// so a late timer, a long pause or a failover all go through the same misfire rules.
import { type CatchUpPlan, MAX_CATCH_UP_FIRES } from '../schedule/catch-up.ts';
import {
  nextOccurrence,
  type OccurrenceSource,
  occurrencesBetween,
  planCatchUp,
} from '../schedule/occurrences.ts';
import type { Misfire } from '../schedule/schema.ts';

/** An occurrence fired within this of its time is on schedule, not a catch-up. */
export const ON_TIME_TOLERANCE_MS = 1000;
const WINDOW_LIMIT = 20_000;

export interface DueSource extends OccurrenceSource {
  misfire: Misfire;
}

export interface DuePlan {
  fire: { at: Date; trigger: 'schedule' | 'catchup' }[];
  /** Occurrences passed over by the misfire policy (counted; at most the newest few are listed). */
  skippedCount: number;
  /** The earliest of the occurrences passed over; null when none was. */
  firstSkipped: Date | null;
  /** Everything up to and including this instant has been decided. */
  cursor: Date;
  /** The first occurrence after `now`, to arm a timer for. */
  next: Date | null;
}

/**
 * Decide the occurrences in (cursor, now]. Those within {@link ON_TIME_TOLERANCE_MS}
 * of `now` always fire (whatever the policy: they are not misfires); older ones are
 * missed and follow the schedule's misfire policy and grace.
 */
export function planDue(source: DueSource, cursor: Date, now: Date, maxCatchUp?: number): DuePlan {
  const nowMs = now.getTime();
  const graceMs = source.misfire.graceSeconds * 1000;
  const graceStart = Math.max(cursor.getTime(), nowMs - Math.max(graceMs, ON_TIME_TOLERANCE_MS) - 1);
  let skippedBefore = graceStart > cursor.getTime() ? countUpTo(source, cursor, new Date(graceStart)) : 0;

  // Enumerate the window; if it is enormous (a tiny period after a long gap), keep
  // halving it from the old end: only the newest occurrences can fire anyway.
  let from = graceStart;
  let inWindow = occurrencesBetween(source, new Date(from), now, WINDOW_LIMIT);
  while (inWindow.length === WINDOW_LIMIT) {
    const half = from + Math.floor((nowMs - from) / 2);
    skippedBefore += countUpTo(source, new Date(from), new Date(half));
    from = half;
    inWindow = occurrencesBetween(source, new Date(from), now, WINDOW_LIMIT);
  }

  // Only what is past the on-time tolerance is missed: an occurrence due within it fires anyway,
  // so counting it as the catch-up would leave the gap without one (fireOnce) or short of its
  // cap (fireAll) — as the chaos suite found after every outage.
  const plan: CatchUpPlan = planCatchUp({
    misfire: source.misfire,
    missed: inWindow.filter((d) => nowMs - d.getTime() > ON_TIME_TOLERANCE_MS),
    now,
    ...(maxCatchUp === undefined ? {} : { maxFires: maxCatchUp }),
  });
  const fireMs = new Set(plan.fire.map((d) => d.getTime()));
  for (const d of inWindow) if (nowMs - d.getTime() <= ON_TIME_TOLERANCE_MS) fireMs.add(d.getTime());
  const fire = [...fireMs]
    .sort((a, b) => a - b)
    .map((t) => ({
      at: new Date(t),
      trigger: nowMs - t <= ON_TIME_TOLERANCE_MS ? ('schedule' as const) : ('catchup' as const),
    }));
  const skippedCount = skippedBefore + inWindow.length - fire.length;
  return {
    fire,
    skippedCount,
    firstSkipped: skippedCount > 0 ? firstNotIn(source, cursor, fireMs) : null,
    cursor: new Date(Math.max(nowMs, cursor.getTime())),
    next: nextOccurrence(source, new Date(Math.max(nowMs, cursor.getTime()))),
  };
}

/** The first occurrence after `cursor` that is not one of `fired` (at most fired.size + 1 steps). */
function firstNotIn(source: OccurrenceSource, cursor: Date, fired: ReadonlySet<number>): Date | null {
  let t = nextOccurrence(source, cursor);
  while (t !== null && fired.has(t.getTime())) t = nextOccurrence(source, t);
  return t;
}

/** How many occurrences fall in (from, to], counting at most 1000 (a metric, not a fence). */
function countUpTo(source: OccurrenceSource, from: Date, to: Date): number {
  return occurrencesBetween(source, from, to, 1000).length;
}

/**
 * Where an edit takes effect on this leader (epoch ms): just before its `updatedAt`, so an
 * occurrence at the edit belongs to the new version, but never after the leader's `now`.
 * `updatedAt` comes from the clock of whichever replica served the write; one that runs
 * ahead would otherwise put the boundary in the future, and every occurrence until then
 * would be passed over without being decided.
 */
export function editBoundary(updatedAt: Date, now: Date): number {
  return Math.min(updatedAt.getTime() - 1, now.getTime());
}

/**
 * Where a (re)armed schedule starts deciding: after its last claim, never before its last
 * edit (see {@link editBoundary}, which keeps it from starting in the future).
 */
export function startCursor(lastClaimed: Date | undefined, updatedAt: Date, now: Date): Date {
  const sinceEdit = editBoundary(updatedAt, now);
  return new Date(lastClaimed ? Math.max(lastClaimed.getTime(), sinceEdit) : sinceEdit);
}

/**
 * An occurrence decided on time may get its turn late: its claim waited behind a slow or
 * unavailable database, and more occurrences of the schedule fell due meanwhile (each timer
 * wake-up queues one). At its turn — and again when a claim that hung returns — the misfire
 * policy decides it like any missed occurrence, so an outage is a gap, never a burst: `skip`
 * fires nothing late, `fireOnce` only the newest of the backlog, `fireAll` only the newest
 * `maxCatchUp`. Returns why it must not fire, or null to fire it. `behind` counts the
 * occurrences of this schedule queued after this one that are missed by now too (an on-time
 * one does not stand in for a missed one: the catch-up fires beside it, as in planDue).
 */
export function judgeTurn(
  misfire: Misfire,
  at: Date,
  now: Date,
  behind: number,
  maxCatchUp: number = MAX_CATCH_UP_FIRES,
): string | null {
  const lateMs = now.getTime() - at.getTime();
  if (lateMs <= ON_TIME_TOLERANCE_MS) return null;
  if (misfire.policy === 'skip') return 'late, and the misfire policy is skip';
  if (lateMs > Math.max(ON_TIME_TOLERANCE_MS, misfire.graceSeconds * 1000)) {
    return `late by more than the misfire grace (${misfire.graceSeconds} s)`;
  }
  if (misfire.policy === 'fireOnce' && behind > 0) {
    return 'late, and a later occurrence is due too (misfire fireOnce fires only the newest)';
  }
  if (misfire.policy === 'fireAll' && behind >= maxCatchUp) {
    return `late, and ${behind} later occurrences are due (misfire fireAll fires the newest ${maxCatchUp})`;
  }
  return null;
}
