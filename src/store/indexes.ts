// Creates the collections' indexes at start-up, idempotently. Changing
// RUN_RETENTION_DAYS changes the TTL index in place (collMod) instead of failing.
import type { Db } from 'mongodb';
import { MongoServerError } from 'mongodb';

const INDEX_OPTIONS_CONFLICT = 85;
const INDEX_KEY_SPECS_CONFLICT = 86;

export async function ensureIndexes(db: Db, opts: { runRetentionDays: number }): Promise<void> {
  const schedules = db.collection('schedules');
  const runs = db.collection('runs');
  // Names are unique per namespace (issue 11). The global `name_unique` of earlier versions is
  // dropped by migrateNamespaces() once every document has its namespace.
  await schedules.createIndex({ namespace: 1, name: 1 }, { unique: true, name: 'namespace_name_unique' });
  await schedules.createIndex({ createdAt: 1, _id: 1 }, { name: 'created_id' });
  await schedules.createIndex({ paused: 1 }, { name: 'paused' });
  await schedules.createIndex({ labelPairs: 1 }, { name: 'label_pairs' });
  // The claim fence; manual runs (occurrence: false) stay outside it.
  await runs.createIndex(
    { scheduleId: 1, scheduledFor: 1 },
    { unique: true, name: 'occurrence_claim_unique', partialFilterExpression: { occurrence: true } },
  );
  await runs.createIndex({ scheduleId: 1, scheduledFor: -1, _id: -1 }, { name: 'history' });
  await runs.createIndex({ status: 1, createdAt: 1 }, { name: 'status_created' });
  const expireAfterSeconds = Math.round(opts.runRetentionDays * 86_400);
  try {
    await runs.createIndex({ createdAt: 1 }, { expireAfterSeconds, name: 'retention_ttl' });
  } catch (err) {
    if (
      err instanceof MongoServerError &&
      (err.code === INDEX_OPTIONS_CONFLICT || err.code === INDEX_KEY_SPECS_CONFLICT)
    ) {
      await db.command({ collMod: 'runs', index: { name: 'retention_ttl', expireAfterSeconds } });
    } else {
      throw err;
    }
  }
}
