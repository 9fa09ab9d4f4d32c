// When does a schedule fire? Exactly-once firing rests on every replica computing the
// same instants for the same schedule (the claim key is `{scheduleId, scheduledFor}`),
// so this is pure maths: no clock, no process time zone, only the arguments.
//
// Semantics:
// - cron: croner's `nextRun`, in the schedule's zone (UTC if none), DST as croner does
//   it; instants are whole seconds.
// - every D: `anchor + k·D` for integer k ≥ 0, anchor = startAt ?? createdAt. The
//   anchor itself is occurrence k = 0.
// - at: the listed instants.
// - startAt and endAt are inclusive bounds: nothing before startAt, nothing after endAt.
import { cronFor } from './cron.ts';
import { parseDuration } from './duration.ts';
import type { ScheduleSpec } from './schema.ts';

export { type CatchUpArgs, type CatchUpPlan, MAX_CATCH_UP_FIRES, planCatchUp } from './catch-up.ts';

export interface OccurrenceSource {
  schedule: ScheduleSpec;
  startAt: Date | null;
  endAt: Date | null;
  createdAt: Date;
}

export interface NextRunSource extends OccurrenceSource {
  paused: boolean;
  maxRuns: number | null;
}

/**
 * First occurrence strictly after `after` within [startAt, endAt], or null if there is none.
 * @throws InvalidCronError / InvalidDurationError when a stored spec no longer parses, RangeError for an invalid Date.
 */
export function nextOccurrence(source: OccurrenceSource, after: Date): Date | null {
  const next = stepper(source)(epochMs(after, 'after'));
  return next === null ? null : new Date(next);
}

/** Occurrences in (from, to], ascending, at most `limit` (the earliest ones). */
export function occurrencesBetween(source: OccurrenceSource, from: Date, to: Date, limit = 1000): Date[] {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  const toMs = epochMs(to, 'to');
  const next = stepper(source);
  const out: Date[] = [];
  let cursor = epochMs(from, 'from');
  while (out.length < limit) {
    const t = next(cursor);
    if (t === null || t > toMs) break;
    out.push(new Date(t));
    cursor = t;
  }
  return out;
}

/**
 * The `nextRunAt` of an API response: the first occurrence at or after `now`; null when paused,
 * finished (past endAt) or maxRuns reached. At, not after: the engine decides an occurrence at a
 * write's instant as due (engine/plan.ts, startCursor), so a new `every` schedule (anchor =
 * createdAt) fires at its creation, and its create response says so.
 */
export function nextRunAt(schedule: NextRunSource, now: Date, runsSoFar = 0): Date | null {
  if (schedule.paused) return null;
  if (schedule.maxRuns !== null && runsSoFar >= schedule.maxRuns) return null;
  return nextOccurrence(schedule, new Date(epochMs(now, 'now') - 1));
}

/** Exclusive lower bound (epoch ms) → next occurrence (epoch ms) or null. */
type Stepper = (afterMs: number) => number | null;

function stepper(source: OccurrenceSource): Stepper {
  const startMs = source.startAt === null ? null : epochMs(source.startAt, 'startAt');
  const endMs = source.endAt === null ? null : epochMs(source.endAt, 'endAt');
  const raw = rawStepper(source);
  return (afterMs) => {
    // "≥ startAt" is "> startAt − 1 ms": instants are whole milliseconds.
    const bound = startMs !== null && startMs - 1 > afterMs ? startMs - 1 : afterMs;
    const t = raw(bound);
    return t === null || (endMs !== null && t > endMs) ? null : t;
  };
}

function rawStepper(source: OccurrenceSource): Stepper {
  const spec = source.schedule;
  if ('cron' in spec) {
    const cron = cronFor(spec.cron, spec.timezone);
    return (afterMs) => cron.nextRun(new Date(afterMs))?.getTime() ?? null;
  }
  if ('every' in spec) {
    const period = parseDuration(spec.every);
    const anchor = epochMs(source.startAt ?? source.createdAt, 'anchor');
    return (afterMs) =>
      afterMs < anchor ? anchor : anchor + (Math.floor((afterMs - anchor) / period) + 1) * period;
  }
  const instants = [...new Set(spec.at.map((s) => Date.parse(s)))].sort((a, b) => a - b);
  if (instants.some(Number.isNaN))
    throw new RangeError(`schedule.at holds an invalid date: ${spec.at.join(', ')}`);
  return (afterMs) => instants[firstAbove(instants, afterMs)] ?? null;
}

/** Index of the first element of ascending `xs` greater than `x` (xs.length if none). */
function firstAbove(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function epochMs(d: Date, name: string): number {
  const t = d.getTime();
  if (Number.isNaN(t)) throw new RangeError(`${name} is an invalid Date`);
  return t;
}
