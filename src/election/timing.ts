// How long the elector waits between attempts, as pure functions so the loop's timing can be
// table-tested without timers. Safety never depends on these: a leader's step-down is driven by
// its renew deadline, a follower's takeover by decide(); these only trade load for speed.

import { JITTER_FACTOR } from '../config/load-config.ts';

/**
 * A follower's retry period with jitter, in [retryPeriodMs, JITTER_FACTOR × retryPeriodMs], so
 * replicas started together do not hit the API server in lockstep. The upper bound is the one the
 * config validates against the renew deadline (client-go's wait.Jitter(d, 1.2) would reach 2.2 × d).
 */
export function jitter(retryPeriodMs: number, random: () => number): number {
  return retryPeriodMs * (1 + (JITTER_FACTOR - 1) * random());
}

/**
 * A follower's next attempt: after a jittered retry period, or as soon as the observed lease
 * expires if that is sooner, so a crashed leader is replaced after leaseDuration rather than
 * leaseDuration plus up to a retry period. expiresInMs is undefined when there is nothing to
 * wait for (no holder, or the last attempt failed).
 */
export function followerDelayMs(input: {
  readonly retryPeriodMs: number;
  readonly expiresInMs: number | undefined;
  readonly random: () => number;
}): number {
  const jittered = jitter(input.retryPeriodMs, input.random);
  if (input.expiresInMs === undefined) return jittered;
  return Math.max(0, Math.min(jittered, input.expiresInMs));
}
