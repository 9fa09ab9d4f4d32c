// Options of the batched claim path (issue 13), passed before the code that takes them has
// landed: `new MongoRunStore(db, { batch })` (false: one insert + one counter upsert per claim,
// as today; true, the default: claims and finishes in batches) and the engine's
// `maxConcurrentRuns`. Until MongoRunStore and EngineDeps declare them, TypeScript is told
// about them here, in one place, and today's code ignores them.
// TODO(issue 13): once the options exist, call `new MongoRunStore(db, { batch })` and pass
// `maxConcurrentRuns` in EngineDeps directly, and delete this file.
import type { Db } from 'mongodb';
import type { EngineDeps } from '../../src/engine/types.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';

export type RunStoreMode = 'batched' | 'per-fire';

export function runStore(db: Db, mode: RunStoreMode): MongoRunStore {
  const runStoreOptions = { batch: mode === 'batched' } as Record<string, unknown>;
  return new (MongoRunStore as unknown as new (db: Db, o?: Record<string, unknown>) => MongoRunStore)(
    db,
    runStoreOptions,
  );
}

/** EngineDeps fields that do not exist yet; spread into the deps. 0 or less: the engine's default. */
export function engineOptions(o: { maxConcurrentRuns: number }): Partial<EngineDeps> {
  return (o.maxConcurrentRuns > 0 ? { maxConcurrentRuns: o.maxConcurrentRuns } : {}) as Partial<EngineDeps>;
}
