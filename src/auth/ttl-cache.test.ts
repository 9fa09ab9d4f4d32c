import { describe, expect, it } from 'vitest';
import { TtlCache } from './ttl-cache.ts';

describe('TtlCache', () => {
  it('answers until the entry expires, then forgets it', () => {
    let now = 0;
    const cache = new TtlCache<string>({ maxEntries: 10, nowMs: () => now });
    cache.set('a', 'yes', 100);
    now = 99;
    expect(cache.get('a')).toBe('yes');
    now = 100;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('drops the oldest insert when full, so distinct keys cannot grow it', () => {
    const cache = new TtlCache<number>({ maxEntries: 3, nowMs: () => 0 });
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, i, 1000);
    expect(cache.size).toBe(3);
    expect(cache.get('k6')).toBeUndefined();
    expect([cache.get('k7'), cache.get('k8'), cache.get('k9')]).toEqual([7, 8, 9]);
  });

  it('a re-set key moves to the back and takes its new TTL', () => {
    let now = 0;
    const cache = new TtlCache<number>({ maxEntries: 2, nowMs: () => now });
    cache.set('a', 1, 10);
    cache.set('b', 2, 10);
    cache.set('a', 3, 50);
    cache.set('c', 4, 10); // evicts b, the oldest insert
    expect(cache.get('b')).toBeUndefined();
    now = 20;
    expect(cache.get('a')).toBe(3);
  });

  it('a zero TTL caches nothing', () => {
    const cache = new TtlCache<number>({ maxEntries: 2 });
    cache.set('a', 1, 0);
    expect(cache.get('a')).toBeUndefined();
  });
});
