import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import {
  DuplicateNameError,
  InvalidCursorError,
  NotFoundError,
  StoreUnavailableError,
  VersionConflictError,
} from '../store/errors.ts';
import { ApiError, problemType, toApiError, toProblem } from './problem.ts';

describe('toApiError', () => {
  it.each([
    [new NotFoundError('x'), 404, []],
    [new DuplicateNameError('n', 'default'), 409, ['name']],
    [new VersionConflictError(1, 2), 412, []],
    [new InvalidCursorError('bad'), 400, ['cursor']],
    [new StoreUnavailableError('down'), 503, []],
    [new ApiError(415, 'nope'), 415, []],
    [new HTTPException(413), 413, []],
  ])('%s → %i', (err, status, fields) => {
    const mapped = toApiError(err);
    expect(mapped?.status).toBe(status);
    expect(mapped?.errors.map((e) => e.field)).toEqual(fields);
  });

  it('tells the client the current version on a 412 and when to retry on a 503', () => {
    expect(toApiError(new VersionConflictError(1, 7))?.headers).toEqual({ etag: '"7"' });
    expect(toApiError(new StoreUnavailableError('down'))?.headers['retry-after']).toBe('1');
  });

  it('leaves anything else to become a 500', () => {
    expect(toApiError(new Error('boom'))).toBeNull();
    expect(toApiError(new TypeError('x'))).toBeNull();
    expect(toApiError('string')).toBeNull();
    expect(toApiError(new HTTPException(418))).toBeNull();
  });
});

describe('toProblem', () => {
  it('builds an RFC 9457 document with the field list', () => {
    const err = new ApiError(400, 'bad', { errors: [{ field: 'limit', message: 'too big' }] });
    expect(toProblem(err, '/api/v1/schedules', 'req-1')).toEqual({
      type: problemType(400),
      title: 'Bad Request',
      status: 400,
      detail: 'bad',
      instance: '/api/v1/schedules',
      requestId: 'req-1',
      errors: [{ field: 'limit', message: 'too big' }],
    });
    expect(problemType(400)).toBe('urn:leasecron:problem:invalid-request');
  });
});
