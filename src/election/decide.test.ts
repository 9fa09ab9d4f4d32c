import { describe, expect, it } from 'vitest';
import {
  type DecideInput,
  type Decision,
  decide,
  fitToLead,
  isMine,
  leaseChanged,
  mayCampaign,
  releaseSpec,
  shouldStepDown,
} from './decide.ts';
import type { ObservedLease } from './types.ts';

// Monotonic and wall clocks are deliberately unrelated, as they are in a real process.
const NOW = 5_000_000;
const WALL = new Date('2026-03-01T12:00:00.000Z');
const ACQUIRED = new Date('2026-03-01T11:00:00.000Z');

function lease(overrides: Partial<ObservedLease> = {}): ObservedLease {
  return {
    holderIdentity: 'other',
    leaseDurationSeconds: 15,
    acquireTime: ACQUIRED,
    renewTime: new Date('2026-03-01T11:59:59.000Z'),
    leaseTransitions: 4,
    holderNonce: null,
    resourceVersion: '42',
    ...overrides,
  };
}

function input(overrides: Partial<DecideInput>): DecideInput {
  return {
    observed: null,
    observedAtMs: NOW,
    me: 'me',
    nonce: 'my-nonce',
    canLead: true,
    nowMs: NOW,
    wallNow: WALL,
    leaseDurationSeconds: 15,
    ...overrides,
  };
}

const mySpec = (acquireTime: Date, leaseTransitions: number, leaseDurationSeconds = 15) => ({
  holderIdentity: 'me',
  leaseDurationSeconds,
  acquireTime,
  renewTime: WALL,
  leaseTransitions,
  holderNonce: 'my-nonce',
});

/** A record this very process wrote. */
const mine = (overrides: Partial<ObservedLease> = {}) =>
  lease({ holderIdentity: 'me', holderNonce: 'my-nonce', ...overrides });

describe('decide', () => {
  const cases: [string, Partial<DecideInput>, Decision][] = [
    [
      'absent lease → create with 0 transitions',
      { observed: null },
      { kind: 'create', spec: mySpec(WALL, 0) },
    ],
    [
      'empty holder (released) → acquire at once, even if just renewed',
      { observed: lease({ holderIdentity: '', leaseDurationSeconds: 1 }) },
      { kind: 'acquire', spec: mySpec(WALL, 5), resourceVersion: '42' },
    ],
    [
      'absent holder field → free',
      { observed: lease({ holderIdentity: null }) },
      { kind: 'acquire', spec: mySpec(WALL, 5), resourceVersion: '42' },
    ],
    [
      'other holder, unchanged for exactly its duration → expired',
      { observed: lease(), observedAtMs: NOW - 15_000 },
      { kind: 'acquire', spec: mySpec(WALL, 5), resourceVersion: '42' },
    ],
    [
      'other holder, 1 ms before expiry → follow',
      { observed: lease(), observedAtMs: NOW - 14_999 },
      { kind: 'follow', leader: 'other', expiresInMs: 1 },
    ],
    [
      'other holder, just seen to change → follow for a full duration',
      { observed: lease() },
      { kind: 'follow', leader: 'other', expiresInMs: 15_000 },
    ],
    [
      'my lease → renew, keeping acquireTime and transitions',
      { observed: mine({ leaseTransitions: 3 }), observedAtMs: NOW - 2_000 },
      { kind: 'renew', spec: mySpec(ACQUIRED, 3), resourceVersion: '42' },
    ],
    [
      'my lease, expired locally (stepped down on the deadline) → still renew, as client-go',
      { observed: mine(), observedAtMs: NOW - 60_000 },
      { kind: 'renew', spec: mySpec(ACQUIRED, 4), resourceVersion: '42' },
    ],
    [
      'my lease without acquireTime → renew and fill it in',
      { observed: mine({ acquireTime: null, leaseTransitions: null }) },
      { kind: 'renew', spec: mySpec(WALL, 0), resourceVersion: '42' },
    ],
    [
      'my lease with their duration → renew writes ours',
      { observed: mine({ leaseDurationSeconds: 60 }) },
      { kind: 'renew', spec: mySpec(ACQUIRED, 4), resourceVersion: '42' },
    ],
    [
      'I held it, then another holder appeared → follow',
      { observed: lease({ holderIdentity: 'usurper', leaseTransitions: 5, resourceVersion: '43' }) },
      { kind: 'follow', leader: 'usurper', expiresInMs: 15_000 },
    ],
    [
      'skew: renewTime far in the future but unchanged for a duration → expired',
      { observed: lease({ renewTime: new Date('2100-01-01T00:00:00Z') }), observedAtMs: NOW - 16_000 },
      { kind: 'acquire', spec: mySpec(WALL, 5), resourceVersion: '42' },
    ],
    [
      'skew: renewTime far in the past but just changed → follow',
      { observed: lease({ renewTime: new Date('1970-01-02T00:00:00Z') }), observedAtMs: NOW - 1_000 },
      { kind: 'follow', leader: 'other', expiresInMs: 14_000 },
    ],
    [
      'skew: renewTime null is irrelevant too',
      { observed: lease({ renewTime: null }), observedAtMs: NOW - 1_000 },
      { kind: 'follow', leader: 'other', expiresInMs: 14_000 },
    ],
    [
      'their longer leaseDurationSeconds counts, not ours',
      { observed: lease({ leaseDurationSeconds: 60 }), observedAtMs: NOW - 30_000 },
      { kind: 'follow', leader: 'other', expiresInMs: 30_000 },
    ],
    [
      'their shorter leaseDurationSeconds counts, not ours',
      { observed: lease({ leaseDurationSeconds: 5 }), observedAtMs: NOW - 10_000 },
      { kind: 'acquire', spec: mySpec(WALL, 5), resourceVersion: '42' },
    ],
    [
      'missing leaseDurationSeconds → expired at once (client-go reads it as 0)',
      { observed: lease({ leaseDurationSeconds: null }) },
      { kind: 'acquire', spec: mySpec(WALL, 5), resourceVersion: '42' },
    ],
    [
      'leaseTransitions null counts as 0, so a takeover writes 1',
      { observed: lease({ leaseTransitions: null }), observedAtMs: NOW - 20_000 },
      { kind: 'acquire', spec: mySpec(WALL, 1), resourceVersion: '42' },
    ],
    [
      'fractional duration of ours is written rounded up to whole seconds',
      { observed: null, leaseDurationSeconds: 1.5 },
      { kind: 'create', spec: mySpec(WALL, 0, 2) },
    ],
    [
      'sub-second duration of ours is written as 1 s, the API minimum',
      { observed: lease({ holderIdentity: '' }), leaseDurationSeconds: 0.5 },
      { kind: 'acquire', spec: mySpec(WALL, 5, 1), resourceVersion: '42' },
    ],
    // Issue 10: two processes with one identity must not both lead; the nonce tells them apart.
    [
      'my name, another process’s nonce, valid → follow it (not renew as if it were mine)',
      { observed: lease({ holderIdentity: 'me', holderNonce: 'twin' }), observedAtMs: NOW - 2_000 },
      { kind: 'follow', leader: 'me', expiresInMs: 13_000 },
    ],
    [
      'my name without a nonce (an earlier life of this pod), valid → follow until it expires',
      { observed: lease({ holderIdentity: 'me' }), observedAtMs: NOW - 2_000 },
      { kind: 'follow', leader: 'me', expiresInMs: 13_000 },
    ],
    [
      'my name, another nonce, expired → acquire: a change of holder, so transitions + 1',
      { observed: lease({ holderIdentity: 'me', holderNonce: 'twin' }), observedAtMs: NOW - 15_000 },
      { kind: 'acquire', spec: mySpec(WALL, 5), resourceVersion: '42' },
    ],
    // Issue 10: a replica that cannot lead never takes the Lease and gives back one that names it.
    ['cannot lead, absent → abstain', { observed: null, canLead: false }, { kind: 'abstain' }],
    [
      'cannot lead, released → abstain',
      { observed: lease({ holderIdentity: '' }), canLead: false },
      { kind: 'abstain' },
    ],
    [
      'cannot lead, expired → abstain',
      { observed: lease(), observedAtMs: NOW - 15_000, canLead: false },
      { kind: 'abstain' },
    ],
    [
      'cannot lead, another valid holder → follow as usual',
      { observed: lease(), canLead: false },
      { kind: 'follow', leader: 'other', expiresInMs: 15_000 },
    ],
    [
      'cannot lead, still mine → release it (empty holder, 1 s, no nonce)',
      { observed: mine({ leaseTransitions: 6 }), canLead: false },
      {
        kind: 'release',
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: WALL,
          renewTime: WALL,
          leaseTransitions: 6,
          holderNonce: '',
        },
        resourceVersion: '42',
      },
    ],
    [
      'cannot lead, my name with another nonce, valid → follow (not ours to release)',
      { observed: lease({ holderIdentity: 'me', holderNonce: 'twin' }), canLead: false },
      { kind: 'follow', leader: 'me', expiresInMs: 15_000 },
    ],
  ];

  it.each(cases)('%s', (_name, overrides, expected) => {
    expect(decide(input(overrides))).toEqual(expected);
  });

  it('does not alias the caller’s dates in the spec', () => {
    const decision = decide(input({ observed: mine() }));
    if (decision.kind !== 'renew') throw new Error(decision.kind);
    expect(decision.spec.renewTime).not.toBe(WALL);
    expect(decision.spec.acquireTime).not.toBe(ACQUIRED);
    expect(decision.spec.acquireTime).not.toBe(decision.spec.renewTime);
  });
});

describe('leaseChanged', () => {
  const base = lease();
  const cases: [string, ObservedLease | null, ObservedLease | null, boolean][] = [
    ['both absent', null, null, false],
    ['created', null, base, true],
    ['deleted', base, null, true],
    ['identical', base, { ...base }, false],
    ['only resourceVersion differs (metadata edit)', base, lease({ resourceVersion: '99' }), false],
    ['holder changed', base, lease({ holderIdentity: 'b' }), true],
    [
      'holder null vs empty is the same record',
      lease({ holderIdentity: null }),
      lease({ holderIdentity: '' }),
      false,
    ],
    ['renewed', base, lease({ renewTime: new Date(base.renewTime!.getTime() + 1) }), true],
    ['renewTime set from null', lease({ renewTime: null }), base, true],
    ['acquireTime changed', base, lease({ acquireTime: WALL }), true],
    ['transitions changed', base, lease({ leaseTransitions: 5 }), true],
    ['duration changed', base, lease({ leaseDurationSeconds: 1 }), true],
    ['holder nonce changed (same name, other process)', base, lease({ holderNonce: 'x' }), true],
    ['holder nonce null vs empty is the same record', base, lease({ holderNonce: '' }), false],
    [
      'equal instants in different Date objects',
      base,
      lease({ renewTime: new Date(base.renewTime!.toISOString()) }),
      false,
    ],
    ['both Invalid Date', lease({ renewTime: new Date('x') }), lease({ renewTime: new Date('y') }), false],
  ];

  it.each(cases)('%s → %s', (_name, prev, next, expected) => {
    expect(leaseChanged(prev, next)).toBe(expected);
  });
});

describe('shouldStepDown', () => {
  it.each([
    [0, false],
    [9_999, false],
    [10_000, true],
    [60_000, true],
  ])('%i ms after the last successful renew → %s', (elapsed, expected) => {
    expect(shouldStepDown({ lastRenewOkMs: NOW - elapsed, nowMs: NOW, renewDeadlineMs: 10_000 })).toBe(
      expected,
    );
  });
});

describe('releaseSpec', () => {
  it('clears the holder, shortens the lease to 1 s and keeps transitions', () => {
    expect(releaseSpec(lease({ holderIdentity: 'me', leaseTransitions: 7 }), WALL)).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: WALL,
      renewTime: WALL,
      leaseTransitions: 7,
      holderNonce: '',
    });
  });

  it('writes 0 transitions when the Lease had none', () => {
    expect(releaseSpec(lease({ leaseTransitions: null }), WALL).leaseTransitions).toBe(0);
  });
});

describe('a follower over time (observedAtMs maintained with leaseChanged)', () => {
  // The leader's clock is an hour ahead; only the follower's monotonic clock matters.
  const leaderWall = (t: number) => new Date(Date.UTC(2026, 2, 1, 13, 0, 0) + t);

  it('follows while renewals keep arriving, takes over one duration after the last one', () => {
    let observed: ObservedLease | null = null;
    let observedAtMs = 0;
    const see = (next: ObservedLease, atMs: number) => {
      if (leaseChanged(observed, next)) observedAtMs = atMs;
      observed = next;
    };
    const decideAt = (nowMs: number) => decide(input({ observed, observedAtMs, nowMs }));

    // Renewals every 2 s for 10 s; the follower polls every 2 s, 1 s out of phase.
    for (let t = 0; t <= 10_000; t += 2_000) {
      see(lease({ renewTime: leaderWall(t), resourceVersion: String(t) }), t + 500);
      expect(decideAt(t + 1_000).kind).toBe('follow');
    }
    // The leader dies; the follower keeps seeing the same record (a metadata edit does not help).
    see(lease({ renewTime: leaderWall(10_000), resourceVersion: 'edited' }), 20_000);
    expect(decideAt(10_500 + 14_999)).toMatchObject({ kind: 'follow', expiresInMs: 1 });
    expect(decideAt(10_500 + 15_000)).toMatchObject({ kind: 'acquire', resourceVersion: 'edited' });
  });

  it('takes a released lease at once', () => {
    const released = { ...releaseSpec(lease({ holderIdentity: 'old' }), WALL), resourceVersion: '50' };
    expect(decide(input({ observed: released, observedAtMs: NOW }))).toMatchObject({
      kind: 'acquire',
      spec: { holderIdentity: 'me', leaseTransitions: 5 },
    });
  });
});

describe('isMine', () => {
  it.each([
    ['my name and nonce', mine(), true],
    ['my name, other nonce', lease({ holderIdentity: 'me', holderNonce: 'twin' }), false],
    ['my name, no nonce', lease({ holderIdentity: 'me' }), false],
    ['other name, my nonce', lease({ holderNonce: 'my-nonce' }), false],
    ['absent', null, false],
  ] as const)('%s → %s', (_name, observed, expected) => {
    expect(isMine(observed, 'me', 'my-nonce')).toBe(expected);
  });
});

describe('fitToLead', () => {
  const base = {
    ready: true,
    lastProbeOkMs: NOW - 100,
    troubleSinceMs: undefined,
    nowMs: NOW,
    toleranceMs: 2_000,
  };
  it.each([
    ['ping fresh, ready, no trouble', {}, true],
    ['not ready (indexes not built)', { ready: false }, false],
    ['never pinged successfully', { lastProbeOkMs: undefined }, false],
    ['last good ping 1 ms inside the tolerance', { lastProbeOkMs: NOW - 1_999 }, true],
    ['last good ping exactly the tolerance ago', { lastProbeOkMs: NOW - 2_000 }, false],
    ['engine failing to start, briefly', { troubleSinceMs: NOW - 1_999 }, true],
    ['engine failing to start for the tolerance', { troubleSinceMs: NOW - 2_000 }, false],
  ] as const)('%s → %s', (_name, overrides, expected) => {
    expect(fitToLead({ ...base, ...overrides })).toBe(expected);
  });
});

describe('mayCampaign', () => {
  it.each([
    ['fit, never abdicated', { fit: true, abdicatedAtMs: undefined }, true],
    ['unfit', { fit: false, abdicatedAtMs: undefined }, false],
    ['fit, abdicated just now', { fit: true, abdicatedAtMs: NOW - 1 }, false],
    ['fit, abdicated 1 ms short of the hold-off', { fit: true, abdicatedAtMs: NOW - 2_999 }, false],
    ['fit, abdicated a hold-off ago', { fit: true, abdicatedAtMs: NOW - 3_000 }, true],
    ['unfit, abdicated long ago', { fit: false, abdicatedAtMs: NOW - 60_000 }, false],
  ] as const)('%s → %s', (_name, overrides, expected) => {
    expect(mayCampaign({ ...overrides, nowMs: NOW, holdOffMs: 3_000 })).toBe(expected);
  });
});
