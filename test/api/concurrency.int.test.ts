// Conditional writes under real concurrency: with the same If-Match exactly one
// writer wins; without If-Match, read-patch-write retries so no update is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, harness, PROBLEM, send, validBody } from './api-harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness({ prefix: 'api_race' });
});
afterAll(async () => h.close());

const create = async (name: string) =>
  (await send(h.app, 'POST', '/api/v1/schedules', { body: validBody(name) })).body;

describe('concurrent writes', () => {
  it('two PUTs with the same If-Match: exactly one 200, one 412, and the winner is stored', async () => {
    for (let round = 0; round < 5; round++) {
      const s = await create(`put-race-${round}`);
      const results = await Promise.all(
        ['a', 'b'].map((team) =>
          send(h.app, 'PUT', `/api/v1/schedules/${s.id}`, {
            body: validBody(`put-race-${round}`, { labels: { team } }),
            headers: { 'if-match': '"1"' },
          }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
      const winner = results.find((r) => r.status === 200)!;
      const loser = results.find((r) => r.status === 412)!;
      expect(loser.headers.get('content-type')).toBe(PROBLEM);
      const stored = await send(h.app, 'GET', `/api/v1/schedules/${s.id}`);
      expect(stored.body.version).toBe(2);
      expect(stored.body.labels).toEqual(winner.body.labels);
    }
  });

  it('two PATCHes with the same If-Match: exactly one wins', async () => {
    const s = await create('patch-race');
    const results = await Promise.all(
      ['x', 'y'].map((v) =>
        send(h.app, 'PATCH', `/api/v1/schedules/${s.id}`, {
          body: { labels: { [v]: v } },
          headers: { 'if-match': '1' },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
  });

  it('PATCHes without If-Match never lose an update: every 200 is in the final document', async () => {
    const s = await create('patch-merge');
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
    const results = await Promise.all(
      keys.map((k) => send(h.app, 'PATCH', `/api/v1/schedules/${s.id}`, { body: { labels: { [k]: 'v' } } })),
    );
    for (const r of results) expect([200, 409]).toContain(r.status);
    const won = keys.filter((_, i) => results[i]?.status === 200);
    expect(won.length).toBeGreaterThan(0);
    const stored = await send(h.app, 'GET', `/api/v1/schedules/${s.id}`);
    for (const k of won) expect(stored.body.labels[k]).toBe('v');
    expect(Object.keys(stored.body.labels).sort()).toEqual(won.sort());
    expect(stored.body.version).toBe(1 + won.length);
  });
});
