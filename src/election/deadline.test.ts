import { describe, expect, it } from 'vitest';
import { deadline } from './deadline.ts';

describe('deadline', () => {
  it('aborts when the time is up', async () => {
    const d = deadline(undefined, 20);
    expect(d.signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 40));
    expect(d.signal.aborted).toBe(true);
    expect((d.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('aborts with its parent, and not after dispose', () => {
    const parent = new AbortController();
    const a = deadline(parent.signal, 10_000);
    const b = deadline(parent.signal, 10_000);
    b.dispose();
    parent.abort(new Error('stop'));
    expect(a.signal.aborted).toBe(true);
    expect(b.signal.aborted).toBe(false);
    a.dispose();
  });

  it('starts aborted under an aborted parent', () => {
    const parent = new AbortController();
    parent.abort();
    expect(deadline(parent.signal, 10_000).signal.aborted).toBe(true);
  });
});
