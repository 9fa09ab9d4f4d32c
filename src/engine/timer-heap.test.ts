import { describe, expect, it } from 'vitest';
import { MAX_WAIT_MS, type TimerClock, TimerHeap } from './timer-heap.ts';

/** A manual clock: time moves only when the test says so. */
function manualClock(start = 1_000_000) {
  let now = start;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let id = 0;
  const clock: TimerClock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.set(++id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => {
      timers.delete(h as number);
    },
  };
  const advance = (ms: number) => {
    const target = now + ms;
    for (;;) {
      const next = [...timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (!next || next[1].at > target) break;
      timers.delete(next[0]);
      now = Math.max(now, next[1].at);
      next[1].fn();
    }
    now = target;
  };
  return {
    clock,
    advance,
    pending: () => timers.size,
    get now() {
      return now;
    },
  };
}

describe('TimerHeap', () => {
  it('fires keys in time order, once each', () => {
    const mc = manualClock();
    const fired: string[] = [];
    const heap = new TimerHeap((k) => fired.push(k), mc.clock);
    heap.arm('c', mc.now + 300);
    heap.arm('a', mc.now + 100);
    heap.arm('b', mc.now + 200);
    mc.advance(150);
    expect(fired).toEqual(['a']);
    mc.advance(1000);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(heap.size).toBe(0);
    expect(mc.pending()).toBe(0);
  });

  it('re-arming a key replaces its previous time; disarm drops it', () => {
    const mc = manualClock();
    const fired: string[] = [];
    const heap = new TimerHeap((k) => fired.push(k), mc.clock);
    heap.arm('a', mc.now + 100);
    heap.arm('a', mc.now + 500);
    heap.arm('b', mc.now + 200);
    heap.disarm('b');
    mc.advance(300);
    expect(fired).toEqual([]);
    mc.advance(300);
    expect(fired).toEqual(['a']);
  });

  it('caps every wait at 30 s and checks the clock on waking', () => {
    const mc = manualClock();
    const fired: number[] = [];
    const heap = new TimerHeap((_k, at) => fired.push(at), mc.clock);
    const at = mc.now + 95_000;
    heap.arm('far', at);
    mc.advance(MAX_WAIT_MS);
    mc.advance(MAX_WAIT_MS);
    mc.advance(MAX_WAIT_MS);
    expect(fired).toEqual([]);
    mc.advance(5_000);
    expect(fired).toEqual([at]);
  });

  it('fires a time already in the past at once, and clear() stops everything', () => {
    const mc = manualClock();
    const fired: string[] = [];
    const heap = new TimerHeap((k) => fired.push(k), mc.clock);
    heap.arm('past', mc.now - 50);
    heap.arm('later', mc.now + 50);
    mc.advance(0);
    expect(fired).toEqual(['past']);
    heap.clear();
    mc.advance(1000);
    expect(fired).toEqual(['past']);
  });

  it('keeps 10,000 random keys in order under churn', () => {
    const mc = manualClock(0);
    const fired: number[] = [];
    const heap = new TimerHeap((_k, at) => fired.push(at), mc.clock);
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 10_000; i++) heap.arm(`k${i}`, Math.floor(rnd() * 10_000) + 1);
    for (let i = 0; i < 5_000; i++) heap.arm(`k${i}`, Math.floor(rnd() * 10_000) + 1); // re-arm half
    expect(heap.size).toBe(10_000);
    mc.advance(20_000);
    expect(fired).toHaveLength(10_000);
    expect(fired.every((t, i) => i === 0 || fired[i - 1]! <= t)).toBe(true);
  });
});
