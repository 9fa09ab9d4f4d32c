// Proves the MongoDB half of the stack through the `mongodb` driver: change
// streams with updateLookup and resumeAfter (the engine's input), and the
// duplicate-key error that the run claim relies on.
import type { ChangeStreamDocument, MongoClient, ResumeToken } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDb } from '../helpers/clients.ts';

interface Doc {
  _id: string;
  name: string;
  version: number;
}

let client: MongoClient;
let db: import('mongodb').Db;
beforeAll(async () => {
  ({ client, db } = await freshDb('proof_cs'));
});
afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

async function take<T>(iter: AsyncIterator<T>, n: number, timeoutMs = 10_000): Promise<T[]> {
  const out: T[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${out.length}/${n} events within ${timeoutMs} ms`);
    const r = await iter.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('change stream on schedules', () => {
  it('delivers insert, update (with full document), replace and delete in order, and resumes after a token', async () => {
    const col = db.collection<Doc>('schedules');
    await col.insertOne({ _id: 'warmup', name: 'warmup', version: 1 }); // the collection exists before watching
    const stream = col.watch<Doc, ChangeStreamDocument<Doc>>([], { fullDocument: 'updateLookup' });
    const iter = stream[Symbol.asyncIterator]();
    // The driver opens the cursor lazily; tryNext() sends the aggregate now, so
    // the stream provably covers every change made after this line.
    expect(await stream.tryNext()).toBeNull();
    expect(stream.resumeToken).toBeTruthy();
    await col.insertOne({ _id: 's1', name: 'a', version: 1 });
    await col.updateOne({ _id: 's1' }, { $set: { name: 'b' }, $inc: { version: 1 } });
    // updateLookup returns the document as it is when the event is read (MongoDB's
    // documented semantics), so read these two before the document changes again.
    const [ins, upd] = await take(iter, 2);
    await col.replaceOne({ _id: 's1' }, { name: 'c', version: 3 });
    await col.deleteOne({ _id: 's1' });
    const [rep, del] = await take(iter, 2);

    expect([ins, upd, rep, del].map((e) => e?.operationType)).toEqual([
      'insert',
      'update',
      'replace',
      'delete',
    ]);
    expect(ins?.operationType === 'insert' && ins.fullDocument).toEqual({ _id: 's1', name: 'a', version: 1 });
    expect(upd?.operationType === 'update' && upd.fullDocument).toEqual({ _id: 's1', name: 'b', version: 2 });
    expect(upd?.operationType === 'update' && upd.updateDescription.updatedFields).toEqual({
      name: 'b',
      version: 2,
    });
    expect(rep?.operationType === 'replace' && rep.fullDocument).toEqual({
      _id: 's1',
      name: 'c',
      version: 3,
    });
    expect(del?.operationType === 'delete' && del.documentKey).toEqual({ _id: 's1' });
    const lastToken: ResumeToken = del!._id;
    await stream.close();

    // Changes made while nobody watches must arrive, exactly, after resumeAfter.
    await col.insertOne({ _id: 's2', name: 'd', version: 1 });
    await col.updateOne({ _id: 's2' }, { $set: { name: 'e' }, $inc: { version: 1 } });
    await col.insertOne({ _id: 's3', name: 'f', version: 1 });
    const resumed = col.watch<Doc, ChangeStreamDocument<Doc>>([], {
      resumeAfter: lastToken,
      fullDocument: 'updateLookup',
    });
    const got = await take(resumed[Symbol.asyncIterator](), 3);
    expect(got.map((e) => [e.operationType, 'documentKey' in e ? e.documentKey._id : null])).toEqual([
      ['insert', 's2'],
      ['update', 's2'],
      ['insert', 's3'],
    ]);
    // Nothing beyond the three: a fourth read must time out rather than replay.
    const extra = await Promise.race([
      resumed.tryNext(),
      new Promise<'none'>((r) => setTimeout(() => r('none'), 700)),
    ]);
    expect(extra === 'none' || extra === null).toBe(true);
    await resumed.close();
  });
});

describe('unique index', () => {
  it('rejects a second insert of the same key with code 11000', async () => {
    const runs = db.collection('runs');
    await runs.createIndex({ scheduleId: 1, scheduledFor: 1 }, { unique: true });
    const at = new Date('2026-01-01T00:00:00Z');
    await runs.insertOne({ scheduleId: 'x', scheduledFor: at });
    const second = runs.insertOne({ scheduleId: 'x', scheduledFor: at });
    await expect(second).rejects.toBeInstanceOf(MongoServerError);
    await expect(second).rejects.toMatchObject({ code: 11000 });
    expect(await runs.countDocuments({ scheduleId: 'x' })).toBe(1);
    // A different occurrence of the same schedule is a different claim.
    await runs.insertOne({ scheduleId: 'x', scheduledFor: new Date(at.getTime() + 1000) });
    expect(await runs.countDocuments({ scheduleId: 'x' })).toBe(2);
  });
});
