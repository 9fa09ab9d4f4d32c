// What the elector should do given the Lease it last saw and its own clocks: client-go's
// tryAcquireOrRenew, release and isLeaseValid as pure functions, so the loop around them only
// does the Kubernetes calls and the timing. Expiry is judged from when this replica saw the
// record change, by the Lease's own leaseDurationSeconds; timestamps inside the Lease come from
// other machines' clocks and are only ever written, never trusted (clock skew must not matter).

import type { LeaseSpec, ObservedLease } from './types.ts';

export interface DecideInput {
  /** The Lease as last read or watched; null when it does not exist. */
  readonly observed: ObservedLease | null;
  /** Monotonic time at which this replica last saw the record change (see leaseChanged). */
  readonly observedAtMs: number;
  readonly me: string;
  /** Monotonic clock, same source as observedAtMs (e.g. performance.now()). */
  readonly nowMs: number;
  /** Wall clock, only written into acquireTime/renewTime for humans and tools. */
  readonly wallNow: Date;
  /** Our configured lease duration; may have decimals. */
  readonly leaseDurationSeconds: number;
}

export type Decision =
  | { readonly kind: 'create'; readonly spec: LeaseSpec }
  | { readonly kind: 'acquire'; readonly spec: LeaseSpec; readonly resourceVersion: string }
  | { readonly kind: 'renew'; readonly spec: LeaseSpec; readonly resourceVersion: string }
  | { readonly kind: 'follow'; readonly leader: string; readonly expiresInMs: number };

export function decide(input: DecideInput): Decision {
  const { observed, me, wallNow } = input;
  // The API field is whole seconds; rounding up keeps what others wait ≥ what we configured,
  // so the LEASE_DURATION > RENEW_DEADLINE margin checked at start-up still holds.
  const leaseDurationSeconds = Math.max(1, Math.ceil(input.leaseDurationSeconds));
  const spec = (acquireTime: Date, leaseTransitions: number): LeaseSpec => ({
    holderIdentity: me,
    leaseDurationSeconds,
    acquireTime: new Date(acquireTime.getTime()),
    renewTime: new Date(wallNow.getTime()),
    leaseTransitions,
  });

  if (observed === null) return { kind: 'create', spec: spec(wallNow, 0) };

  const holder = observed.holderIdentity ?? '';
  const transitions = observed.leaseTransitions ?? 0;
  const { resourceVersion } = observed;

  // As client-go: our own name in the record means renew, even when it looks expired (e.g. a
  // restart with the same pod name). The resourceVersion guard makes that safe: if anyone took
  // the Lease meanwhile, the replace fails with a conflict.
  if (holder === me) {
    return { kind: 'renew', spec: spec(observed.acquireTime ?? wallNow, transitions), resourceVersion };
  }
  if (holder !== '') {
    const expiresInMs = leaseExpiresInMs(observed, input.observedAtMs, input.nowMs);
    if (expiresInMs > 0) return { kind: 'follow', leader: holder, expiresInMs };
  }
  // Free or expired: take it. Every change of holder counts, including from '' after a release.
  return { kind: 'acquire', spec: spec(wallNow, transitions + 1), resourceVersion };
}

/**
 * Milliseconds until the observed lease expires for this replica (≤ 0: expired). client-go's
 * isLeaseValid: observedTime + leaseDurationSeconds (the Lease's, not ours) is after now.
 */
export function leaseExpiresInMs(observed: ObservedLease, observedAtMs: number, nowMs: number): number {
  return observedAtMs + (observed.leaseDurationSeconds ?? 0) * 1000 - nowMs;
}

/**
 * True when `next` is a different election record from `prev`, i.e. the caller must set
 * observedAtMs = now. Compares the record fields, as client-go compares the marshalled record;
 * resourceVersion alone is not a change, so an edit to labels or annotations of a dead leader's
 * Lease cannot keep it alive. Keep the newest ObservedLease for its resourceVersion regardless.
 */
export function leaseChanged(prev: ObservedLease | null, next: ObservedLease | null): boolean {
  if (prev === null || next === null) return prev !== next;
  return (
    (prev.holderIdentity ?? '') !== (next.holderIdentity ?? '') ||
    (prev.leaseDurationSeconds ?? 0) !== (next.leaseDurationSeconds ?? 0) ||
    (prev.leaseTransitions ?? 0) !== (next.leaseTransitions ?? 0) ||
    !sameInstant(prev.acquireTime, next.acquireTime) ||
    !sameInstant(prev.renewTime, next.renewTime)
  );
}

// Object.is so that two Invalid Dates compare equal: otherwise a malformed timestamp would look
// like a fresh renewal on every read and keep a dead leader's lease valid forever.
function sameInstant(a: Date | null, b: Date | null): boolean {
  if (a === null || b === null) return a === b;
  return Object.is(a.getTime(), b.getTime());
}

/**
 * A leader must stop firing once it has gone renewDeadlineMs without a successful renew.
 * lastRenewOkMs is the monotonic time the successful acquire/renew request was *sent*: others
 * start their wait no earlier than that, so counting from it errs on the safe side.
 */
export function shouldStepDown(input: {
  readonly lastRenewOkMs: number;
  readonly nowMs: number;
  readonly renewDeadlineMs: number;
}): boolean {
  return input.nowMs - input.lastRenewOkMs >= input.renewDeadlineMs;
}

/**
 * client-go's release: clear the holder and shorten the lease to 1 s so that even a replica that
 * ignores the empty holder takes over quickly; keep leaseTransitions, the count of holder changes.
 * Write it with replace(spec, observed.resourceVersion) so it cannot clobber a newer holder.
 */
export function releaseSpec(observed: ObservedLease, wallNow: Date): LeaseSpec {
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: new Date(wallNow.getTime()),
    renewTime: new Date(wallNow.getTime()),
    leaseTransitions: observed.leaseTransitions ?? 0,
  };
}
