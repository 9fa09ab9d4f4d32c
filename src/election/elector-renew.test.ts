// What the elector tells onRenew (the Lease renew metrics), against an in-memory Lease.
import { describe, expect, it } from 'vitest';
import { Elector, type RenewResult } from './elector.ts';
import {
  type LeaseClient,
  LeaseConflictError,
  type LeaseSpec,
  LeaseUnavailableError,
  type ObservedLease,
} from './types.ts';

/** One Lease in memory; `failNext` makes the next replace throw. */
class MemoryLease implements LeaseClient {
  lease: ObservedLease | null = null;
  failNext: Error | undefined;
  /** The next replace answers only after this long (ignoring its signal, as a lost answer would). */
  delayNextMs = 0;
  #rv = 0;

  #write(spec: LeaseSpec): ObservedLease {
    this.lease = {
      holderIdentity: spec.holderIdentity,
      leaseDurationSeconds: spec.leaseDurationSeconds,
      acquireTime: spec.acquireTime,
      renewTime: spec.renewTime,
      leaseTransitions: spec.leaseTransitions,
      holderNonce: spec.holderNonce || null,
      resourceVersion: String(++this.#rv),
    };
    return this.lease;
  }
  async get(): Promise<ObservedLease | null> {
    return this.lease;
  }
  async create(spec: LeaseSpec): Promise<ObservedLease> {
    if (this.lease) throw new LeaseConflictError('exists');
    return this.#write(spec);
  }
  async replace(spec: LeaseSpec, resourceVersion: string): Promise<ObservedLease> {
    const fail = this.failNext;
    this.failNext = undefined;
    if (fail) throw fail;
    const delayMs = this.delayNextMs;
    this.delayNextMs = 0;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (this.lease?.resourceVersion !== resourceVersion) throw new LeaseConflictError('conflict');
    return this.#write(spec);
  }
  /** Another process takes the Lease behind the leader's back. */
  steal(identity: string): void {
    if (!this.lease) throw new Error('no lease');
    this.#write({
      holderIdentity: identity,
      leaseDurationSeconds: 1,
      acquireTime: new Date(),
      renewTime: new Date(),
      leaseTransitions: (this.lease.leaseTransitions ?? 0) + 1,
      holderNonce: 'other',
    });
  }
  watch(_onEvent: unknown, options: { signal: AbortSignal }): Promise<void> {
    return new Promise((resolve) => options.signal.addEventListener('abort', () => resolve()));
  }
}

async function until(what: string, f: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!f()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function elector(client: MemoryLease, renews: [RenewResult, number][]): Elector {
  return new Elector({
    client,
    identity: 'me',
    leaseDurationMs: 1_000,
    renewDeadlineMs: 500,
    retryPeriodMs: 50,
    onRenew: (result, ms) => renews.push([result, ms]),
  });
}

describe('Elector onRenew', () => {
  it('reports each renew by the leader, ok or failed, with its duration; not the acquire', async () => {
    const client = new MemoryLease();
    const renews: [RenewResult, number][] = [];
    const e = elector(client, renews);
    e.start();
    try {
      await until('leading', () => e.isLeader);
      expect(renews).toEqual([]); // acquiring is not a renew
      await until('a renew', () => renews.length >= 1);
      expect(renews[0]?.[0]).toBe('ok');
      expect(renews[0]?.[1]).toBeGreaterThanOrEqual(0);

      client.failNext = new LeaseUnavailableError('API server unreachable');
      await until('a failed renew', () => renews.some(([r]) => r === 'error'));
      expect(e.isLeader).toBe(true); // one failure within the renew deadline is survived

      const before = renews.length;
      client.steal('other');
      await until('the conflict', () => renews.slice(before).some(([r]) => r === 'conflict'));
      expect(e.isLeader).toBe(false);
    } finally {
      await e.stop();
    }
  });

  it('a renew answered after the renew deadline is reported late, and leadership ends', async () => {
    const client = new MemoryLease();
    const renews: [RenewResult, number][] = [];
    const e = elector(client, renews);
    e.start();
    try {
      await until('a renew', () => renews.length >= 1);
      client.delayNextMs = 700; // past the 500 ms renew deadline
      await until('the late renew', () => renews.some(([r]) => r === 'late'));
      const [, ms] = renews.find(([r]) => r === 'late')!;
      expect(ms).toBeGreaterThanOrEqual(650);
    } finally {
      await e.stop();
    }
  });

  it('a throwing onRenew does not stop the elector', async () => {
    const client = new MemoryLease();
    let calls = 0;
    const e = new Elector({
      client,
      identity: 'me',
      leaseDurationMs: 1_000,
      renewDeadlineMs: 500,
      retryPeriodMs: 50,
      onRenew: () => {
        calls++;
        throw new Error('boom');
      },
    });
    e.start();
    try {
      await until('three renews', () => calls >= 3);
      expect(e.isLeader).toBe(true);
    } finally {
      await e.stop();
    }
  });
});
