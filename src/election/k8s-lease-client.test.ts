import { describe, expect, it } from 'vitest';
import { toObserved, toWire, withNonce } from './k8s-lease-client.ts';
import { HOLDER_NONCE_ANNOTATION } from './types.ts';

describe('toWire', () => {
  it('serialises both times as MicroTime: RFC 3339 UTC with six fractional digits', () => {
    const wire = toWire({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: new Date('2026-03-01T11:00:00.000Z'),
      renewTime: new Date('2026-03-01T12:00:00.123Z'),
      leaseTransitions: 2,
      holderNonce: 'n1',
    });
    expect(JSON.parse(JSON.stringify(wire))).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: '2026-03-01T11:00:00.000000Z',
      renewTime: '2026-03-01T12:00:00.123000Z',
      leaseTransitions: 2,
    });
  });

  it('keeps an empty holder (a release) as an empty string', () => {
    const now = new Date(0);
    const wire = toWire({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
      holderNonce: '',
    });
    expect(wire.holderIdentity).toBe('');
  });
});

describe('withNonce', () => {
  it('sets the holder nonce annotation and keeps the others', () => {
    expect(withNonce({ name: 'l', annotations: { a: 'b' } }, 'n2')).toEqual({
      name: 'l',
      annotations: { a: 'b', [HOLDER_NONCE_ANNOTATION]: 'n2' },
    });
  });

  it('removes it on release', () => {
    expect(withNonce({ annotations: { a: 'b', [HOLDER_NONCE_ANNOTATION]: 'n1' } }, '')).toEqual({
      annotations: { a: 'b' },
    });
  });

  it('is read back by toObserved', () => {
    const observed = toObserved({ metadata: withNonce({ resourceVersion: '3' }, 'n3'), spec: {} });
    expect(observed.holderNonce).toBe('n3');
  });
});

describe('toObserved', () => {
  it('reads MicroTime strings (as the API and the watch deliver them) to the millisecond', () => {
    const observed = toObserved({
      metadata: { resourceVersion: '7' },
      spec: {
        holderIdentity: 'go-writer',
        leaseDurationSeconds: 15,
        acquireTime: '2026-03-01T11:00:00.000000Z' as never,
        renewTime: '2026-03-01T12:00:00.123456Z' as never,
        leaseTransitions: 4,
      },
    });
    expect(observed).toEqual({
      holderIdentity: 'go-writer',
      leaseDurationSeconds: 15,
      acquireTime: new Date('2026-03-01T11:00:00.000Z'),
      renewTime: new Date('2026-03-01T12:00:00.123Z'),
      leaseTransitions: 4,
      holderNonce: null,
      resourceVersion: '7',
    });
  });

  it('accepts Date values and maps absent fields to null', () => {
    const renewTime = new Date('2026-03-01T12:00:00.5Z');
    const observed = toObserved({ metadata: { resourceVersion: '1' }, spec: { renewTime } });
    expect(observed).toEqual({
      holderIdentity: null,
      leaseDurationSeconds: null,
      acquireTime: null,
      renewTime,
      leaseTransitions: null,
      holderNonce: null,
      resourceVersion: '1',
    });
    expect(observed.renewTime).not.toBe(renewTime);
    expect(toObserved({}).resourceVersion).toBe('');
  });
});
