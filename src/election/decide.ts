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
  /**
   * This process's nonce (random per process start): our own name in the record is ours only
   * with our nonce; with another it is a second process of the same identity, or an earlier life
   * of this pod, and is treated like any other holder.
   */
  readonly nonce: string;
  /**
   * Whether this replica may hold the Lease now (it can do the leader's work: see fitToLead and
   * mayCampaign). When false it never takes the Lease, and gives back one that still names it.
   */
  readonly canLead: boolean;
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
  | { readonly kind: 'follow'; readonly leader: string; readonly expiresInMs: number }
  /** The Lease is free (or ours by a record we cannot lead on) but we cannot lead: leave it. */
  | { readonly kind: 'abstain' }
  /** The Lease names us (this process) but we cannot lead: clear it so another replica leads now. */
  | { readonly kind: 'release'; readonly spec: LeaseSpec; readonly resourceVersion: string };

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
    holderNonce: input.nonce,
  });

  if (observed === null)
    return input.canLead ? { kind: 'create', spec: spec(wallNow, 0) } : { kind: 'abstain' };

  const holder = observed.holderIdentity ?? '';
  const transitions = observed.leaseTransitions ?? 0;
  const { resourceVersion } = observed;

  // As client-go: our own record means renew, even when it looks expired (e.g. after stepping
  // down on the renew deadline). The resourceVersion guard makes that safe: if anyone took the
  // Lease meanwhile, the replace fails with a conflict. "Our own" is name *and* nonce: another
  // process with our name is another holder (client-go would let both lead).
  if (isMine(observed, me, input.nonce)) {
    if (!input.canLead) return { kind: 'release', spec: releaseSpec(observed, wallNow), resourceVersion };
    return { kind: 'renew', spec: spec(observed.acquireTime ?? wallNow, transitions), resourceVersion };
  }
  if (holder !== '') {
    const expiresInMs = leaseExpiresInMs(observed, input.observedAtMs, input.nowMs);
    if (expiresInMs > 0) return { kind: 'follow', leader: holder, expiresInMs };
  }
  if (!input.canLead) return { kind: 'abstain' };
  // Free or expired: take it. Every change of holder counts, including from '' after a release.
  return { kind: 'acquire', spec: spec(wallNow, transitions + 1), resourceVersion };
}

/** The record was written by this very process: our identity and our nonce. */
export function isMine(observed: ObservedLease | null | undefined, me: string, nonce: string): boolean {
  return observed != null && observed.holderIdentity === me && observed.holderNonce === nonce;
}

/**
 * Whether this replica can do the leader's work, from what main observes (no I/O here): leading
 * needs the database, so a leader that cannot use it must give the Lease to one that can.
 * - ready: what must exist before any claim (the indexes) does;
 * - lastProbeOkMs: monotonic send time of the last database ping that succeeded;
 * - troubleSinceMs: since when the leader's own work (starting the engine) keeps failing.
 * Unfit once either has been bad for toleranceMs (the renew deadline: the same patience the
 * Lease gets). A follower uses the same rule to decide whether to campaign at all.
 */
export function fitToLead(input: {
  readonly ready: boolean;
  readonly lastProbeOkMs: number | undefined;
  readonly troubleSinceMs: number | undefined;
  readonly nowMs: number;
  readonly toleranceMs: number;
}): boolean {
  const { nowMs, toleranceMs } = input;
  if (!input.ready || input.lastProbeOkMs === undefined) return false;
  if (nowMs - input.lastProbeOkMs >= toleranceMs) return false;
  return input.troubleSinceMs === undefined || nowMs - input.troubleSinceMs < toleranceMs;
}

/**
 * A replica that gave the Lease up because it could not lead waits holdOffMs before it
 * campaigns again, even if it looks fit: what broke its leadership (an engine that would not
 * start) may not show in the ping, and taking the Lease straight back would hand it to the one
 * replica known not to manage.
 */
export function mayCampaign(input: {
  readonly fit: boolean;
  readonly abdicatedAtMs: number | undefined;
  readonly nowMs: number;
  readonly holdOffMs: number;
}): boolean {
  if (!input.fit) return false;
  return input.abdicatedAtMs === undefined || input.nowMs - input.abdicatedAtMs >= input.holdOffMs;
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
    (prev.holderNonce ?? '') !== (next.holderNonce ?? '') ||
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
    holderNonce: '',
  };
}
