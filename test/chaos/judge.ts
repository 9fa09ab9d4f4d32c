// What a fault did to one every-second schedule, judged from the webhook sink alone: which
// occurrences arrived, which twice, which late (catch-ups), and whether that is what its misfire
// policy promises. Pure, so the rules are unit-tested (judge.test.ts) apart from the servers.
import type { Delivery } from './cluster.ts';

export type Policy = 'fireOnce' | 'skip' | 'fireAll';

/** A delivery later than this after its occurrence is a catch-up, not an on-time fire. */
export const ON_TIME_MS = 1500;

export interface Window {
  /** when the fault was injected */
  start: number;
  /** the first occurrence delivered on time after the fault was healed */
  recovered: number;
}

export interface Verdict {
  delivered: number;
  duplicate: number;
  /** occurrences outside the fault's gap that never arrived, plus what the policy owed from the gap */
  missed: number;
  late: number;
  gap: number;
  fromGap: number;
  problems: string[];
}

/**
 * `catchUps`: the occurrences the run history records as fired with trigger `catchup` from the
 * fault on. The sink alone cannot tell a catch-up delivered soon after recovery from an on-time
 * fire, so whether the gap was caught up is read from the history, and the sink says whether
 * it became a burst (late deliveries) and whether anything arrived twice or not at all.
 */
export function judge(
  ds: readonly Delivery[],
  policy: Policy,
  w: Window,
  cap: number,
  catchUps: readonly number[] = [],
  /** separate gaps the fault may open (a rolling restart: one per leader hand-over) */
  gaps = 1,
  periodMs = 1000,
): Verdict {
  const times = ds.map((d) => d.scheduledFor);
  const delivered = new Set(times);
  const duplicate = times.length - delivered.size;
  const problems: string[] = [];
  if (duplicate > 0) problems.push(`${duplicate} occurrence(s) delivered twice`);
  if (times.length === 0) {
    return {
      delivered: 0,
      duplicate,
      missed: 0,
      late: 0,
      gap: 0,
      fromGap: 0,
      problems: ['nothing delivered'],
    };
  }
  const first = Math.min(...times);
  const last = Math.max(...times);
  const all: number[] = [];
  for (let t = first; t <= last; t += periodMs) all.push(t);
  // An occurrence due within a second before the fault may already be caught in it.
  const inGap = (t: number) => t >= w.start - periodMs && t < w.recovered;
  const gap = all.filter(inGap);
  const outside = all.filter((t) => !inGap(t));
  const missedOutside = outside.filter((t) => !delivered.has(t)).length;
  if (missedOutside > 0) problems.push(`${missedOutside} occurrence(s) outside the fault never arrived`);
  const undelivered = gap.filter((t) => !delivered.has(t)).length;
  const caughtUp = catchUps.filter((t) => t >= w.start - periodMs && delivered.has(t)).length;
  const late = new Set(
    ds.filter((d) => d.receivedAt - d.scheduledFor > ON_TIME_MS).map((d) => d.scheduledFor),
  ).size;
  let owed = 0;
  // A burst is judged by the catch-ups the history records, not by lateness at the sink: on a
  // loaded machine an on-time fire can arrive more than ON_TIME_MS after its occurrence.
  if (policy === 'skip') {
    if (caughtUp > 0) problems.push(`skip: ${caughtUp} catch-up run(s)`);
  } else {
    // Per gap: the policy's catch-ups, plus the occurrence that fell due as the fault ended,
    // which may be claimed just past the on-time tolerance and is then recorded as a catch-up
    // (seen as a fourth fireAll catch-up after MongoDB outages). A burst is many more.
    const most = policy === 'fireOnce' ? 1 : cap;
    const bound = (most + 1) * gaps;
    if (caughtUp > bound) problems.push(`${policy}: ${caughtUp} catch-ups (at most ${bound})`);
    owed = Math.max(0, Math.min(undelivered, most) - caughtUp);
    if (owed > 0) problems.push(`${policy}: ${owed} catch-up(s) owed for the gap, ${caughtUp} fired`);
  }
  return {
    delivered: times.length,
    duplicate,
    missed: missedOutside + owed,
    late,
    gap: gap.length,
    fromGap: caughtUp,
    problems,
  };
}
