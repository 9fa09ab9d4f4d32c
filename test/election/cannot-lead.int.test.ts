// Issue 10: leadership depends on being able to lead. A leader whose canLead() turns false (in
// main: its MongoDB ping has failed for the renew deadline, or its engine keeps failing to start)
// stops leading and releases the Lease, so a follower takes over at once rather than never (it
// used to keep renewing for ever); it then stays out while it cannot lead, and for a lease duration
// after it gave up even if it looks fit again, so it does not take straight back what it could
// not use. Electors in this process against the real API server; canLead is a plain flag here.
import { afterEach, describe, expect, it } from 'vitest';
import type { Elector } from '../../src/election/elector.ts';
import { adminKubeConfig, createNamespace } from '../helpers/clients.ts';
import { leaseClient, type RecordedElector, rawLease, recordedElector, TIMING, waitFor } from './helpers.ts';

const running: Elector[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

function start(r: RecordedElector): RecordedElector {
  running.push(r.elector);
  r.elector.start();
  return r;
}

describe('a leader that cannot lead', () => {
  it('hands the Lease over at once, stays out while unfit, and holds off after giving up', async () => {
    const ns = await createNamespace('elect-unfit');
    const fit = { a: true, b: true };
    const a = start(recordedElector('a', leaseClient(adminKubeConfig(), ns), { canLead: () => fit.a }));
    await waitFor('a to lead', () => a.elector.isLeader);
    const b = start(recordedElector('b', leaseClient(adminKubeConfig(), ns), { canLead: () => fit.b }));
    await waitFor('b to see a', () => b.elector.leader === 'a');

    const unfitAt = performance.now();
    fit.a = false;
    const bLed = await waitFor('b to lead', () => b.terms[0], 5_000);
    const stoppedMs = a.terms[0]!.stoppedMs!;
    console.log(
      `[election] unfit → a stops ${(stoppedMs - unfitAt).toFixed(0)} ms, → b leads ${(bLed.startedMs - unfitAt).toFixed(0)} ms`,
    );
    expect(stoppedMs).toBeLessThan(bLed.startedMs);
    // Within a retry period or so, and by a release: far sooner than the lease would expire.
    expect(stoppedMs - unfitAt).toBeLessThan(TIMING.retryPeriodMs * 1.2 + 250);
    expect(bLed.startedMs - a.elector.lastRenewOkMs!).toBeLessThan(TIMING.leaseDurationMs);
    expect(bLed.epoch).toBe(a.terms[0]!.epoch + 1);

    // b gives up too while a is still unfit: the Lease stays free, a does not take it.
    fit.b = false;
    await waitFor('b to stop', () => b.terms[0]!.stoppedMs, 5_000);
    await waitFor('the release', async () => (await rawLease(ns)).spec.holderIdentity === '', 5_000);
    await new Promise((r) => setTimeout(r, 2 * TIMING.retryPeriodMs));
    expect(a.elector.isLeader).toBe(false);
    expect(a.terms).toHaveLength(1);

    // a is fit again, but gave up less than a lease duration ago... (b is still unfit)
    fit.a = true;
    const aGaveUpAt = a.terms[0]!.stoppedMs!;
    const aBack = await waitFor('a to lead again', () => a.terms[1], 10_000);
    expect(aBack.startedMs - aGaveUpAt).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - 5);
    expect(b.terms).toHaveLength(1);
    expect((await rawLease(ns)).spec.holderIdentity).toBe('a');
  });
});
