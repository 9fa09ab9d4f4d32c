// What to do with occurrences that passed while no leader was firing (failover,
// restart, a long GC pause). A pure decision so every new leader — and the tests —
// reach the same answer from the same claims and clock.
import type { Misfire } from './schema.ts';

/** fireAll never fires more than this many catch-up runs at once (the newest ones). */
export const MAX_CATCH_UP_FIRES = 100;

export interface CatchUpArgs {
  misfire: Misfire;
  /** Occurrences strictly after the last claimed one, up to `now`. */
  missed: readonly Date[];
  now: Date;
  /** fireAll's cap (MAX_CATCHUP_PER_SCHEDULE); default {@link MAX_CATCH_UP_FIRES} */
  maxFires?: number;
}

export interface CatchUpPlan {
  /** To claim and run now (trigger `catchup`), ascending. */
  fire: Date[];
  /** To record as skipped, ascending. */
  skipped: Date[];
}

/**
 * Apply the misfire policy. Within grace means `now - occurrence <= graceSeconds`.
 * `skip` fires none; `fireOnce` fires the latest occurrence within grace; `fireAll`
 * fires every one within grace, newest {@link MAX_CATCH_UP_FIRES}. Everything else
 * is skipped. Input order and duplicates do not matter; entries after `now` are not
 * missed yet and appear in neither list.
 */
export function planCatchUp({
  misfire,
  missed,
  now,
  maxFires = MAX_CATCH_UP_FIRES,
}: CatchUpArgs): CatchUpPlan {
  const nowMs = now.getTime();
  const graceMs = misfire.graceSeconds * 1000;
  const due = [...new Set(missed.map((d) => d.getTime()))].filter((t) => t <= nowMs).sort((a, b) => a - b);
  const inGrace = due.filter((t) => nowMs - t <= graceMs);

  let fire: number[];
  switch (misfire.policy) {
    case 'skip':
      fire = [];
      break;
    case 'fireOnce':
      fire = inGrace.slice(-1);
      break;
    case 'fireAll':
      fire = inGrace.slice(-maxFires);
      break;
  }
  const fired = new Set(fire);
  return {
    fire: fire.map((t) => new Date(t)),
    skipped: due.filter((t) => !fired.has(t)).map((t) => new Date(t)),
  };
}
