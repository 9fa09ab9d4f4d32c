import { describe, expect, it } from 'vitest';
import { RunPool } from './run-pool.ts';

const never = new AbortController().signal;

describe('RunPool', () => {
  it('runs at most `limit` at once, the rest in the order they asked', async () => {
    const pool = new RunPool(2);
    const a = await pool.acquire(never);
    const b = await pool.acquire(never);
    const order: string[] = [];
    const noted = (name: string) => (r: (() => void) | null) => {
      order.push(name);
      return r;
    };
    const c = pool.acquire(never).then(noted('c'));
    const d = pool.acquire(never).then(noted('d'));
    expect([pool.active, pool.queued]).toEqual([2, 2]);
    a!();
    a!(); // a second release of the same slot changes nothing
    const rc = await c;
    expect([pool.active, pool.queued]).toEqual([2, 1]);
    b!();
    const rd = await d;
    rc!();
    rd!();
    expect(order).toEqual(['c', 'd']);
    expect([pool.active, pool.queued]).toEqual([0, 0]);
  });

  it('a waiter whose signal aborts leaves the queue with null and takes no slot', async () => {
    const pool = new RunPool(1);
    const held = await pool.acquire(never);
    const ctrl = new AbortController();
    const waiting = pool.acquire(ctrl.signal);
    const behind = pool.acquire(never);
    ctrl.abort();
    expect(await waiting).toBeNull();
    expect(pool.queued).toBe(1);
    held!();
    const next = await behind;
    expect(next).toBeTypeOf('function');
    expect(await pool.acquire(AbortSignal.abort())).toBeNull();
    next!();
    expect(pool.active).toBe(0);
  });

  it('refuses a limit below 1', () => {
    expect(() => new RunPool(0)).toThrow(RangeError);
  });
});
