// Maps MongoDB driver errors to the store's own classes in one place.
import { MongoError, MongoNetworkError, MongoServerSelectionError } from 'mongodb';
import { ChangeHistoryLostError, StoreUnavailableError } from './errors.ts';

export const DUPLICATE_KEY = 11000;
/** ChangeStreamHistoryLost (286) and ChangeStreamFatalError (280): the token cannot be resumed. */
const HISTORY_LOST = new Set([286, 280, 136]);

export function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoError && err.code === DUPLICATE_KEY;
}

export function mapMongoError(err: unknown): Error {
  if (err instanceof MongoError && typeof err.code === 'number' && HISTORY_LOST.has(err.code)) {
    return new ChangeHistoryLostError(err.message, { cause: err });
  }
  if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError) {
    return new StoreUnavailableError(`MongoDB unavailable: ${err.message}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** For `.catch(rethrow)`: the driver's error, mapped to the store's own classes. */
export function rethrow(err: unknown): never {
  throw mapMongoError(err);
}
