// The two designs bench/burst.ts compares: `batched` (claims and finishes of one wake-up in one
// bulk write each, the default) and `per-fire` (one insert and one counter upsert per claim).
import type { Db } from 'mongodb';
import type { EngineDeps } from '../../src/engine/types.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';

export type RunStoreMode = 'batched' | 'per-fire';

export function runStore(db: Db, mode: RunStoreMode): MongoRunStore {
  return new MongoRunStore(db, { batch: mode === 'batched' });
}

/** 0 or less: the engine's default (MAX_CONCURRENT_RUNS). */
export function engineOptions(o: { maxConcurrentRuns: number }): Partial<EngineDeps> {
  return o.maxConcurrentRuns > 0 ? { maxConcurrentRuns: o.maxConcurrentRuns } : {};
}
