import { describe, expect, it } from 'vitest';
import { LeaseConflictError, LeaseUnavailableError } from './types.ts';

describe('lease client errors', () => {
  it('are distinguishable by instanceof and name', () => {
    const conflict = new LeaseConflictError('lease changed', { cause: new Error('409') });
    expect(conflict).toBeInstanceOf(Error);
    expect(conflict).not.toBeInstanceOf(LeaseUnavailableError);
    expect(conflict.name).toBe('LeaseConflictError');
    expect(conflict.cause).toBeInstanceOf(Error);
  });

  it('LeaseUnavailableError carries the HTTP status when there was one', () => {
    const cause = new Error('boom');
    const error = new LeaseUnavailableError('get lease failed', { status: 503, cause });
    expect([error.name, error.status, error.cause]).toEqual(['LeaseUnavailableError', 503, cause]);
    const network = new LeaseUnavailableError('timeout');
    expect(network.status).toBeUndefined();
    expect('cause' in network).toBe(false);
  });
});
