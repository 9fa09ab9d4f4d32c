import {
  MongoError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
} from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ChangeHistoryLostError, StoreUnavailableError } from './errors.ts';
import { mapMongoError } from './mongo-errors.ts';

const serverError = (code: number, labels: string[] = []) => {
  const err = new MongoServerError({ code, errmsg: `server error ${code}` });
  for (const l of labels) err.addErrorLabel(l);
  return err;
};

describe('mapMongoError', () => {
  it.each([
    ['a network error', new MongoNetworkError('connection reset')],
    ['a socket timeout', new MongoNetworkTimeoutError('timed out')],
    ['no server selected', new MongoServerSelectionError('no primary', {} as never)],
    ['an operation timeout (timeoutMS)', new MongoOperationTimeoutError('timed out')],
    ['NotWritablePrimary', serverError(10107)],
    ['PrimarySteppedDown', serverError(189)],
    ['InterruptedDueToReplStateChange', serverError(11602)],
    ['ShutdownInProgress', serverError(91)],
    ['a RetryableWriteError label', serverError(1, ['RetryableWriteError'])],
  ])('maps %s to StoreUnavailableError (503), keeping the cause', (_what, err) => {
    const mapped = mapMongoError(err);
    expect(mapped).toBeInstanceOf(StoreUnavailableError);
    expect(mapped.cause).toBe(err);
  });

  it('maps lost change history to ChangeHistoryLostError', () => {
    expect(mapMongoError(serverError(286))).toBeInstanceOf(ChangeHistoryLostError);
  });

  it('leaves other errors as they are', () => {
    const dup = serverError(11000);
    expect(mapMongoError(dup)).toBe(dup);
    const plain = new MongoError('something else');
    expect(mapMongoError(plain)).toBe(plain);
    expect(mapMongoError('text')).toBeInstanceOf(Error);
  });
});
