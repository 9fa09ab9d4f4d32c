import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../store/errors.ts';
import { bounded, DbBudget } from './deadline.ts';

const never = () => new Promise<never>(() => {});

describe('DbBudget', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('passes a result or an error through while the budget lasts', async () => {
    const budget = new DbBudget(1000);
    await expect(budget.call('a', async () => 42)).resolves.toBe(42);
    const boom = new Error('boom');
    await expect(budget.call('b', () => Promise.reject(boom))).rejects.toBe(boom);
    expect(budget.call('c', () => 'sync')).toBe('sync');
  });

  it('gives up on a call that does not settle, with StoreUnavailableError naming the call', async () => {
    const budget = new DbBudget(1500);
    const result = budget.call('schedules.list', never);
    const check = expect(result).rejects.toThrow(
      new StoreUnavailableError('MongoDB did not answer within 1500 ms (schedules.list)'),
    );
    await vi.advanceTimersByTimeAsync(1500);
    await check;
  });

  it('is one budget for all calls of a request, started by the first call', async () => {
    const budget = new DbBudget(1000);
    await vi.advanceTimersByTimeAsync(5000); // before the first call: not counted
    const slow = (ms: number) => () => new Promise((r) => setTimeout(() => r(ms), ms));
    const first = budget.call('first', slow(600));
    await vi.advanceTimersByTimeAsync(600);
    await expect(first).resolves.toBe(600);
    const second = budget.call('second', never);
    const check = expect(second).rejects.toBeInstanceOf(StoreUnavailableError);
    await vi.advanceTimersByTimeAsync(400);
    await check;
    // Spent: a later call is not even started.
    const work = vi.fn(async () => 1);
    expect(() => budget.call('third', work)).toThrow(StoreUnavailableError);
    expect(work).not.toHaveBeenCalled();
  });

  it('does not leave an unhandled rejection when an abandoned call fails later', async () => {
    const budget = new DbBudget(100);
    let fail: (e: Error) => void = () => {};
    const result = budget.call('x', () => new Promise((_, reject) => (fail = reject)));
    const check = expect(result).rejects.toBeInstanceOf(StoreUnavailableError);
    await vi.advanceTimersByTimeAsync(100);
    await check;
    fail(new Error('late')); // vitest fails the run on an unhandled rejection
    await vi.advanceTimersByTimeAsync(0);
  });
});

describe('bounded', () => {
  it('calls methods on the target itself (private fields work) under the budget', async () => {
    class Store {
      #n = 7;
      async get(): Promise<number> {
        return this.#n;
      }
      hang(): Promise<never> {
        return never();
      }
    }
    vi.useFakeTimers();
    try {
      const store = bounded(new Store(), new DbBudget(50), 'store');
      await expect(store.get()).resolves.toBe(7);
      const check = expect(store.hang()).rejects.toThrow('(store.hang)');
      await vi.advanceTimersByTimeAsync(50);
      await check;
    } finally {
      vi.useRealTimers();
    }
  });
});
