import { describe, expect, it } from 'vitest';
import { FitnessProbe } from './fitness-probe.ts';

describe('FitnessProbe.noteAnswer', () => {
  it('counts another request answered as a success sent then, never moving lastOkMs back', async () => {
    let now = 1000;
    // a probe that never answers: a ping queued behind the leader's own burst of writes
    const probe = new FitnessProbe({
      probe: () => new Promise(() => {}),
      periodMs: 10_000,
      timeoutMs: 10,
      now: () => now,
    });
    expect(probe.lastOkMs).toBeUndefined();
    probe.noteAnswer(1500);
    expect(probe.lastOkMs).toBe(1500);
    probe.noteAnswer(1200); // an older request answered late says nothing newer
    expect(probe.lastOkMs).toBe(1500);
    now = 2000;
    probe.noteAnswer(now);
    expect(probe.lastOkMs).toBe(2000);
  });
});
