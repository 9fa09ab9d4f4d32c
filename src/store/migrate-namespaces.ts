// Start-up migration to namespaced schedules (issue 11), idempotent and safe to run on every
// replica at once. A schedule stored before namespaces gets one:
// - a kubernetesJob schedule: the namespace its Jobs were created in (its action's namespace,
//   else the operator's own, the old default), so its Jobs keep going where they went and
//   whoever may manage Jobs there manages the schedule;
// - any other: `default`.
// Each is a conditional update (only while it still has no namespace) that also increments its
// version, so the engine, which applies changes by version, sees the new namespace. Names were
// unique across the whole collection before, so no two can clash in one namespace. The old
// global unique index on `name` is dropped last, when no document is left without a namespace.
import type { AnyBulkWriteOperation, Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { DEFAULT_NAMESPACE } from '../schedule/schema.ts';
import type { ScheduleDoc } from './mongo-schedule-store.ts';

const INDEX_NOT_FOUND = 27;
const BATCH = 1000;

interface LegacyDoc {
  _id: string;
  version?: unknown;
  action?: { type?: unknown; namespace?: unknown };
}

/** The namespace a schedule stored without one moves to. Pure. */
export function legacyNamespace(doc: LegacyDoc, jobDefaultNamespace: string): string {
  const action = doc.action;
  if (action?.type !== 'kubernetesJob') return DEFAULT_NAMESPACE;
  return typeof action.namespace === 'string' && action.namespace !== ''
    ? action.namespace
    : jobDefaultNamespace;
}

/** Gives every schedule without a namespace its namespace; returns how many it moved. */
export async function migrateNamespaces(db: Db, opts: { jobDefaultNamespace: string }): Promise<number> {
  const col = db.collection<ScheduleDoc>('schedules');
  // The old index goes only once nothing is left to move: without it there is nothing to do, and
  // every later start-up skips the two collection scans below.
  if (!(await col.indexes()).some((i) => i.name === 'name_unique')) return 0;
  let moved = 0;
  let batch: AnyBulkWriteOperation<ScheduleDoc>[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const r = await col.bulkWrite(batch, { ordered: false });
    moved += r.modifiedCount;
    batch = [];
  };
  const legacy = col.find(
    { namespace: { $exists: false } },
    { projection: { _id: 1, version: 1, action: 1 } },
  );
  for await (const doc of legacy) {
    batch.push({
      updateOne: {
        filter: { _id: doc._id, namespace: { $exists: false } },
        update: {
          $set: { namespace: legacyNamespace(doc as LegacyDoc, opts.jobDefaultNamespace) },
          // A document with a broken version (written around the API) stays as broken as it
          // was, apart from its namespace: an $inc on it would fail the whole migration.
          ...(typeof doc.version === 'number' ? { $inc: { version: 1 } } : {}),
        },
      },
    });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  if ((await col.countDocuments({ namespace: { $exists: false } }, { limit: 1 })) === 0) {
    try {
      await col.dropIndex('name_unique');
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === INDEX_NOT_FOUND)) throw err;
    }
  }
  return moved;
}
