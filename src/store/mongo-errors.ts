// Maps MongoDB driver errors to the store's own classes in one place.
import {
  MongoError,
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerSelectionError,
} from 'mongodb';
import { ChangeHistoryLostError, StoreUnavailableError } from './errors.ts';

export const DUPLICATE_KEY = 11000;
/** ChangeStreamHistoryLost (286) and ChangeStreamFatalError (280): the token cannot be resumed. */
const HISTORY_LOST = new Set([286, 280, 136]);
/**
 * Server errors a retry may fix (the driver's retryable codes): no primary for now (election,
 * step-down, shutdown), the server's own network trouble, or an exceeded time limit.
 */
const TRANSIENT = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  134, // ReadConcernMajorityNotAvailableYet
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10058, // LegacyNotPrimary
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** The database did not answer, or answered "not now": StoreUnavailableError (503 in the API). */
function isUnavailable(err: unknown): err is MongoError {
  if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError) return true;
  // Thrown only where `timeoutMS` works (it is a no-op in driver 7.9); mapped for when it does.
  if (err instanceof MongoOperationTimeoutError) return true;
  if (!(err instanceof MongoError)) return false;
  return (
    (typeof err.code === 'number' && TRANSIENT.has(err.code)) || err.hasErrorLabel('RetryableWriteError')
  );
}

export function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoError && err.code === DUPLICATE_KEY;
}

export function mapMongoError(err: unknown): Error {
  if (err instanceof MongoError && typeof err.code === 'number' && HISTORY_LOST.has(err.code)) {
    return new ChangeHistoryLostError(err.message, { cause: err });
  }
  if (isUnavailable(err)) {
    return new StoreUnavailableError(`MongoDB unavailable: ${err.message}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** For `.catch(rethrow)`: the driver's error, mapped to the store's own classes. */
export function rethrow(err: unknown): never {
  throw mapMongoError(err);
}
