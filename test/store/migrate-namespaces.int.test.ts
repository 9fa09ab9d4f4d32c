// Schedules stored before namespaces (issue 11) get one at start-up, idempotently, with their
// version incremented so the engine (which applies changes by version) sees it; the old global
// unique index on names goes once every document has a namespace. Run on a database laid out as
// the previous version left it: documents without `namespace`, the `name_unique` index.
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureIndexes } from '../../src/store/indexes.ts';
import { migrateNamespaces } from '../../src/store/migrate-namespaces.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import { freshDb } from '../helpers/clients.ts';

let client: MongoClient;
let db: Db;
const at = new Date('2426-11-23T10:00:00Z');
const job = (namespace?: string) => ({
  type: 'kubernetesJob',
  ...(namespace ? { namespace } : {}),
  template: { spec: { template: { spec: { containers: [] } } } },
});
const legacy = (id: string, name: string, action: unknown, version: unknown = 4) => ({
  _id: id,
  name,
  version,
  schedule: { every: '1m' },
  action,
  createdAt: at,
  updatedAt: at,
});

beforeAll(async () => {
  ({ client, db } = await freshDb('migrate'));
  const col = db.collection<{ _id: string }>('schedules');
  await col.createIndex({ name: 1 }, { unique: true, name: 'name_unique' });
  await col.insertMany([
    legacy('s-log', 'plain', { type: 'log' }),
    legacy('s-job-ns', 'jobs-there', job('batch-jobs')),
    legacy('s-job', 'jobs-here', job()),
    legacy('s-broken', 'broken-version', { type: 'log' }, 'seven'),
  ]);
  await ensureIndexes(db, { runRetentionDays: 7 });
});
afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

describe('migrateNamespaces', () => {
  it('moves each legacy schedule once, where its Jobs already ran, and drops the old index', async () => {
    expect(await migrateNamespaces(db, { jobDefaultNamespace: 'leasecron' })).toBe(4);
    const docs = await db.collection('schedules').find({}).sort({ _id: 1 }).toArray();
    expect(docs.map((d) => [d._id, d.namespace, d.version])).toEqual([
      ['s-broken', 'default', 'seven'],
      ['s-job', 'leasecron', 5],
      ['s-job-ns', 'batch-jobs', 5],
      ['s-log', 'default', 5],
    ]);
    const indexes = (await db.collection('schedules').indexes()).map((i) => i.name);
    expect(indexes).not.toContain('name_unique');
    expect(indexes).toContain('namespace_name_unique');

    // Idempotent: a second start (or a second replica) moves nothing and bumps no version.
    expect(await migrateNamespaces(db, { jobDefaultNamespace: 'leasecron' })).toBe(0);
    const again = await db.collection('schedules').find({}).sort({ _id: 1 }).toArray();
    expect(again.map((d) => d.version)).toEqual(docs.map((d) => d.version));

    // Names are now unique per namespace: `plain` may exist once more, elsewhere.
    const store = new MongoScheduleStore(db);
    const s = (await store.get('s-log'))!;
    const { id: _i, version: _v, createdAt: _c, updatedAt: _u, ...input } = s;
    await expect(store.create({ ...input, namespace: 'default' }, at)).rejects.toThrow(/namespace 'default'/);
    expect((await store.create({ ...input, namespace: 'team-a' }, at)).namespace).toBe('team-a');
    expect(await store.namespaces()).toEqual(['batch-jobs', 'default', 'leasecron', 'team-a']);
  });
});
