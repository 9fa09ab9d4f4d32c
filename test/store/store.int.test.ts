// The store against the real MongoDB-protocol server: versioned writes,
// conditional replace, pagination, the change stream feed and exact-once claims.
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ScheduleInput, validateScheduleInput } from '../../src/schedule/schema.ts';
import {
  DuplicateNameError,
  InvalidCursorError,
  NameTakenError,
  NotFoundError,
  OwnedScheduleError,
  VersionConflictError,
} from '../../src/store/errors.ts';
import { ensureIndexes } from '../../src/store/indexes.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import type { ClaimRequest } from '../../src/store/types.ts';
import { freshDb, stack } from '../helpers/clients.ts';

let client: MongoClient;
let db: Db;
let schedules: MongoScheduleStore;
let runs: MongoRunStore;
// In the future, for the reason given at T0 in ../api/api-harness.ts: runs written with a fixed
// past date would be removed by the runs' TTL index while the tests read them.
const t0 = new Date('2426-11-23T10:00:00Z');

function input(name: string, extra: Record<string, unknown> = {}): ScheduleInput {
  const r = validateScheduleInput({ name, schedule: { every: '5s' }, action: { type: 'log' }, ...extra });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

beforeAll(async () => {
  ({ client, db } = await freshDb('store'));
  await ensureIndexes(db, { runRetentionDays: 7 });
  schedules = new MongoScheduleStore(db);
  runs = new MongoRunStore(db);
});
afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

describe('MongoScheduleStore', () => {
  it('creates with version 1 and rejects a duplicate name', async () => {
    const s = await schedules.create(input('alpha'), t0);
    expect(s).toMatchObject({ name: 'alpha', version: 1, createdAt: t0, updatedAt: t0 });
    expect(await schedules.get(s.id)).toEqual(s);
    await expect(schedules.create(input('alpha'), t0)).rejects.toBeInstanceOf(DuplicateNameError);
    expect((await schedules.list({ limit: 100 })).items.filter((x) => x.name === 'alpha')).toHaveLength(1);
  });

  it('replaces with +1 version, honours ifVersion, and reports absent ids', async () => {
    const s = await schedules.create(input('beta', { description: 'first' }), t0);
    const t1 = new Date(t0.getTime() + 1000);
    const r = await schedules.replace(s.id, input('beta', { paused: true }), { ifVersion: 1, now: t1 });
    expect(r).toMatchObject({ version: 2, paused: true, updatedAt: t1, createdAt: t0 });
    expect(r.description).toBeUndefined();
    await expect(schedules.replace(s.id, input('beta'), { ifVersion: 1, now: t1 })).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    expect((await schedules.get(s.id))?.version).toBe(2);
    await expect(schedules.replace('nope', input('beta'), { now: t1 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lets exactly one of two concurrent conditional replaces win', async () => {
    const s = await schedules.create(input('gamma'), t0);
    const results = await Promise.allSettled([
      schedules.replace(s.id, input('gamma', { paused: true }), { ifVersion: 1, now: t0 }),
      schedules.replace(s.id, input('gamma', { labels: { a: 'b' } }), { ifVersion: 1, now: t0 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected');
    expect(failed?.status === 'rejected' && failed.reason).toBeInstanceOf(VersionConflictError);
    expect((await schedules.get(s.id))?.version).toBe(2);
  });

  it('lists with filters and an opaque cursor that pages through everything once', async () => {
    for (let i = 0; i < 7; i++) {
      await schedules.create(
        input(`page-${i}`, { labels: { team: i % 2 ? 'odd' : 'even' }, paused: i === 3 }),
        new Date(t0.getTime() + i),
      );
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await schedules.list({
        limit: 3,
        labels: { team: 'even' },
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((x) => x.name));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(['page-0', 'page-2', 'page-4', 'page-6']);
    const paused = await schedules.list({ limit: 50, paused: true, labels: { team: 'odd' } });
    expect(paused.items.map((x) => x.name)).toEqual(['page-3']);
    await expect(schedules.list({ limit: 3, cursor: 'garbage!' })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('applyOwned writes what a Schedule object declares, once per change, and only it may change it (issue 12)', async () => {
    const source = {
      kind: 'Schedule' as const,
      apiVersion: 'leasecron.io/v1alpha1',
      namespace: 'team-o',
      name: 'owned',
      uid: 'uid-1',
      generation: 1,
    };
    const declared = { ...input('owned'), namespace: 'team-o' };
    const first = await schedules.applyOwned(declared, source, t0);
    expect(first).toMatchObject({ changed: true, schedule: { version: 1, source, namespace: 'team-o' } });
    const t1 = new Date(t0.getTime() + 1000);
    // a relist, or the controller's own status write coming back: nothing to write
    expect(await schedules.applyOwned(declared, source, t1)).toMatchObject({
      changed: false,
      schedule: { version: 1 },
    });
    // a label edit does not bump the object's generation but changes the schedule
    const relabelled = await schedules.applyOwned({ ...declared, labels: { team: 'o' } }, source, t1);
    expect(relabelled).toMatchObject({
      changed: true,
      schedule: { id: first.schedule.id, version: 2, labels: { team: 'o' } },
    });
    const edited = await schedules.applyOwned(
      { ...declared, paused: true },
      { ...source, generation: 2 },
      t1,
    );
    expect(edited.schedule).toMatchObject({
      id: first.schedule.id,
      version: 3,
      paused: true,
      source: { generation: 2 },
    });
    // the REST paths cannot touch it
    await expect(schedules.replace(first.schedule.id, declared, { now: t1 })).rejects.toBeInstanceOf(
      OwnedScheduleError,
    );
    await expect(schedules.delete(first.schedule.id)).rejects.toBeInstanceOf(OwnedScheduleError);
    await expect(schedules.delete(first.schedule.id, { ifVersion: 3 })).rejects.toBeInstanceOf(
      OwnedScheduleError,
    );
    // an object deleted and created again (new uid) is a new schedule
    const again = await schedules.applyOwned(declared, { ...source, uid: 'uid-2' }, t1);
    expect(again.schedule.id).not.toBe(first.schedule.id);
    expect(await schedules.get(first.schedule.id)).toBeNull();
    expect(await schedules.ownedIn('team-o')).toEqual([
      { id: again.schedule.id, name: 'owned', uid: 'uid-2' },
    ]);
    // a name held by a schedule made through the API is not taken over
    const rest = await schedules.create({ ...input('by-rest'), namespace: 'team-o' }, t0);
    await expect(
      schedules.applyOwned(
        { ...input('by-rest'), namespace: 'team-o' },
        { ...source, name: 'by-rest', uid: 'uid-3' },
        t1,
      ),
    ).rejects.toBeInstanceOf(NameTakenError);
    expect((await schedules.get(rest.id))?.source).toBeUndefined();
    expect(await schedules.deleteOwned('uid-2')).toBe(true);
    expect(await schedules.deleteOwned('uid-2')).toBe(false);
    expect(await schedules.ownedIn('team-o')).toEqual([]);
  });

  it('feeds an established change stream and resumes from a token', async () => {
    const stream = await schedules.watch(null);
    const s = await schedules.create(input('delta'), t0);
    const ev1 = await stream.next();
    expect(ev1).toMatchObject({ kind: 'upsert', schedule: { id: s.id, version: 1 } });
    await schedules.replace(s.id, input('delta', { paused: true }), { now: t0 });
    const ev2 = await stream.next();
    expect(ev2).toMatchObject({ kind: 'upsert', schedule: { id: s.id, version: 2, paused: true } });
    await stream.close();
    await schedules.delete(s.id);
    const resumed = await schedules.watch(ev2.token);
    expect(await resumed.next()).toMatchObject({ kind: 'delete', id: s.id });
    await resumed.close();
  });
});

describe('MongoRunStore', () => {
  const claim = (scheduleId: string, at: Date, leader = 'a', epoch = 1) => ({
    id: crypto.randomUUID(),
    scheduleId,
    scheduleName: 'n',
    scheduledFor: at,
    firedAt: new Date(at.getTime() + 5),
    trigger: 'schedule' as const,
    leader,
    epoch,
    status: 'running' as const,
  });

  it('claims an occurrence exactly once, even when two leaders race', async () => {
    const at = new Date('2426-11-23T11:00:00Z');
    const results = await Promise.all([runs.claim(claim('s1', at, 'a')), runs.claim(claim('s1', at, 'b'))]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await runs.claimedCount('s1')).toBe(1);
    expect((await runs.lastClaimed(['s1'])).get('s1')).toEqual(at);
  });

  it('finishes runs, settles orphans as unknown and pages history newest first', async () => {
    const base = new Date('2426-11-23T12:00:00Z').getTime();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const c = claim('s2', new Date(base + i * 1000), i < 4 ? 'old' : 'new', i < 4 ? 1 : 2);
      ids.push(c.id);
      expect(await runs.claim(c)).toBe(c.id);
    }
    await runs.finish(ids[0]!, { status: 'succeeded', finishedAt: new Date(base + 10), attempts: 1 });
    // 3 stale runs of s2 plus the still-running claim of s1 from the test above
    expect(await runs.settleOrphans({ leader: 'new', epoch: 2 }, new Date(base + 9000))).toBe(4);
    expect(await runs.runningFor('s2')).toBe(1);
    const page1 = await runs.list('s2', { limit: 2 });
    expect(page1.items.map((r) => r.scheduledFor.getTime() - base)).toEqual([4000, 3000]);
    const page2 = await runs.list('s2', { limit: 10, cursor: page1.nextCursor! });
    expect(page2.items.map((r) => [r.scheduledFor.getTime() - base, r.status])).toEqual([
      [2000, 'unknown'],
      [1000, 'unknown'],
      [0, 'succeeded'],
    ]);
    expect(page2.nextCursor).toBeNull();
    const statusOf = async (id: string) =>
      (await runs.list('s2', { limit: 10 })).items.find((r) => r.id === id)?.status;
    // Its own leader, frozen meanwhile, may still know how it ended: `unknown` gives way to that.
    await runs.finish(ids[1]!, { status: 'succeeded', finishedAt: new Date(), attempts: 1 });
    expect(await statusOf(ids[1]!)).toBe('succeeded');
    // A known outcome is final.
    await runs.finish(ids[1]!, { status: 'failed', finishedAt: new Date(), attempts: 1 });
    expect(await statusOf(ids[1]!)).toBe('succeeded');
    await runs.finish(ids[0]!, { status: 'unknown', finishedAt: new Date(), attempts: 1 });
    expect(await statusOf(ids[0]!)).toBe('succeeded');
  });

  it('records a manual request that exactly one leader can start', async () => {
    const run = await runs.requestManual({ id: 's3', name: 'manual' }, new Date('2426-11-23T13:00:00Z'));
    expect(run).toMatchObject({ status: 'pending', trigger: 'manual' });
    expect((await runs.pendingManual(10)).map((r) => r.id)).toContain(run.id);
    const started = await Promise.all([
      runs.startManual(run.id, 'a', 1, new Date()),
      runs.startManual(run.id, 'b', 1, new Date()),
    ]);
    expect(started.filter(Boolean)).toHaveLength(1);
    expect((await runs.pendingManual(10)).map((r) => r.id)).not.toContain(run.id);
    expect(await runs.claimedCount('s3')).toBe(0);
  });

  it('a retried claim with the same run id is still ours; another id is refused', async () => {
    const at = new Date('2426-11-23T14:00:00Z');
    const c = claim('s4', at);
    expect(await runs.claim(c)).toBe(c.id);
    expect(await runs.claim(c)).toBe(c.id); // the retry of a claim whose answer was lost
    expect(await runs.claim({ ...c, id: crypto.randomUUID() })).toBeNull();
    expect((await runs.list('s4', { limit: 10 })).items).toHaveLength(1);
  });

  it('unclaim marks a claim released: the fence stays, only a leader of that epoch or a later one takes it over (issue 10)', async () => {
    const at = new Date('2426-11-23T15:00:00Z');
    const c = claim('s5', at, 'a', 3);
    expect(await runs.claim(c)).toBe(c.id);
    expect(await runs.claimedCount('s5')).toBe(1);
    await runs.unclaim(c.id);
    // the record stays, marked, and is not counted as a run for maxRuns
    expect((await runs.list('s5', { limit: 10 })).items).toMatchObject([{ id: c.id, status: 'released' }]);
    expect(await runs.claimedCount('s5')).toBe(0);
    expect(await runs.runningFor('s5')).toBe(0);
    // the next leader's catch-up starts before the given-back occurrence
    expect((await runs.lastClaimed(['s5'])).get('s5')?.getTime()).toBe(at.getTime() - 1);
    // a stale leader (an older epoch) cannot claim it
    expect(await runs.claim({ ...claim('s5', at, 'stale', 2) })).toBeNull();
    // the next leader takes it over in place: same run id, so one Idempotency-Key per occurrence
    const next = claim('s5', at, 'b', 4);
    expect(await runs.claim(next)).toBe(c.id);
    expect(await runs.claimedCount('s5')).toBe(1);
    // a retry of that takeover, as after an answer lost before the counter was updated
    // (undone here by hand), is still ours and counts once; nobody else's
    await db.collection('run_counters').updateOne({ _id: 's5' as never }, { $inc: { claimed: -1 } });
    expect(await runs.claim(next)).toBe(c.id);
    expect(await runs.claimedCount('s5')).toBe(1);
    expect(await runs.claim(claim('s5', at, 'c', 4))).toBeNull();
    const [run] = (await runs.list('s5', { limit: 10 })).items;
    expect(run).toMatchObject({ id: c.id, status: 'running', leader: 'b', epoch: 4 });
    expect((await runs.lastClaimed(['s5'])).get('s5')).toEqual(at);
    // a late repeat of the old holder's unclaim cannot give back the new holder's claim ...
    await runs.unclaim(c.id);
    expect(await runs.runningFor('s5')).toBe(1);
    // ... the new holder can (its claim is named by its own request id)
    await runs.unclaim(c.id, next.id);
    expect((await runs.list('s5', { limit: 10 })).items).toMatchObject([{ id: c.id, status: 'released' }]);
    expect(await runs.claimedCount('s5')).toBe(0);

    // On t0's clock, like every write here: a manual run of the real now would be expired at once by
    // the date check's database, whose clock is a year ahead.
    const m = await runs.requestManual({ id: 's5', name: 'n' }, new Date(at.getTime() + 1000));
    expect(await runs.startManual(m.id, 'a', 1, new Date())).toBe(true);
    await runs.unclaim(m.id);
    expect((await runs.pendingManual(50)).map((r) => r.id)).toContain(m.id);
  });

  it('a release whose counter update was lost still lets the next leader decide the occurrence', async () => {
    const at = new Date('2426-11-23T15:30:00Z');
    const c = claim('s5b', at, 'a', 3);
    expect(await runs.claim(c)).toBe(c.id);
    // the releasing leader died between marking the run and updating the counter
    await db.collection('runs').updateOne({ _id: c.id as never }, { $set: { status: 'released' } });
    expect((await runs.lastClaimed(['s5b'])).get('s5b')?.getTime()).toBe(at.getTime() - 1);
    expect((await runs.lastClaimed()).get('s5b')?.getTime()).toBe(at.getTime() - 1);
    // once a later occurrence is claimed, the released one was decided by that leader
    expect(await runs.claim(claim('s5b', new Date(at.getTime() + 1000), 'b', 4))).not.toBeNull();
    expect((await runs.lastClaimed(['s5b'])).get('s5b')?.getTime()).toBe(at.getTime() + 1000);
  });

  it('a manual trigger never takes the claim key of a scheduled occurrence', async () => {
    const at = new Date('2426-11-23T16:00:00Z');
    await runs.requestManual({ id: 's6', name: 'n' }, at);
    expect(await runs.claim(claim('s6', at))).not.toBeNull();
    expect((await runs.list('s6', { limit: 10 })).items.map((r) => r.trigger).sort()).toEqual([
      'manual',
      'schedule',
    ]);
  });

  it('remembers the last claimed occurrence after the run documents expire', async () => {
    const at = new Date('2426-11-23T17:00:00Z');
    expect(await runs.claim(claim('s7', at))).not.toBeNull();
    expect(await runs.claim(claim('s7', new Date(at.getTime() - 60_000)))).not.toBeNull();
    await db.collection('runs').deleteMany({ scheduleId: 's7' }); // what the TTL index does
    expect((await runs.lastClaimed(['s7'])).get('s7')).toEqual(at);
    expect(await runs.claimedCount('s7')).toBe(2);
  });

  it('settles a running run of a previous process with the same name and epoch', async () => {
    const at = new Date('2426-11-23T18:00:00Z');
    const c = { ...claim('s8', at, 'pod-0', 7), instance: 'old-process' };
    await runs.settleOrphans({ leader: 'pod-0', epoch: 7, instance: 'old-process' }, new Date()); // earlier tests' runs
    expect(await runs.claim(c)).toBe(c.id);
    expect(await runs.settleOrphans({ leader: 'pod-0', epoch: 7, instance: 'old-process' }, new Date())).toBe(
      0,
    );
    expect(await runs.settleOrphans({ leader: 'pod-0', epoch: 7, instance: 'new-process' }, new Date())).toBe(
      1,
    );
  });

  it('a stale leader never settles the runs of a newer epoch (issue 10)', async () => {
    const at = new Date('2426-11-23T19:00:00Z');
    const live = claim('s9', at, 'pod-live', 9);
    expect(await runs.claim(live)).toBe(live.id);
    // pod-stale led epoch 8 and starts its engine late, after pod-live took over at 9
    await runs.settleOrphans({ leader: 'pod-stale', epoch: 8 }, new Date());
    expect((await runs.list('s9', { limit: 10 })).items.map((r) => r.status)).toEqual(['running']);
    expect(await runs.runningFor('s9')).toBe(1);
    // the next leader (epoch 10) does settle it: its action may have taken effect
    await runs.settleOrphans({ leader: 'pod-next', epoch: 10 }, new Date());
    expect((await runs.list('s9', { limit: 10 })).items.map((r) => r.status)).toEqual(['unknown']);
  });

  it('a run handed off to a Job stays running, survives settleOrphans and is settled from its Job once', async () => {
    const at = new Date('2426-11-23T20:00:00Z');
    const handed = claim('s10', at, 'pod-a', 11);
    const lost = claim('s10', new Date(at.getTime() + 1000), 'pod-a', 11);
    for (const c of [handed, lost]) expect(await runs.claim(c)).toBe(c.id);
    const job = { namespace: 'team-a', name: 'j-1' };
    const response = { statusCode: 201, durationMs: 12, summary: 'team-a/j-1' };
    const handedAt = new Date(at.getTime() + 10);
    await runs.handOff(handed.id, { job, attempts: 1, response }, handedAt);
    const get = async (id: string) => (await runs.list('s10', { limit: 10 })).items.find((r) => r.id === id)!;
    expect(await get(handed.id)).toMatchObject({
      status: 'running',
      job,
      attempts: 1,
      response,
      finishedAt: null,
    });
    expect((await get(lost.id)).job).toBeNull();

    // The next leader: only the run that never recorded its Job is an orphan.
    await runs.settleOrphans({ leader: 'pod-b', epoch: 12 }, new Date());
    expect((await get(handed.id)).status).toBe('running');
    expect((await get(lost.id)).status).toBe('unknown');
    expect(await runs.jobRuns('team-a', new Date(handedAt.getTime() + 1))).toEqual([
      { id: handed.id, scheduleId: 's10', job },
    ]);
    expect(await runs.jobRuns('team-a', handedAt)).toEqual([]); // handed off after the list began
    expect(await runs.jobRuns('team-b', new Date(handedAt.getTime() + 1))).toEqual([]);

    // Its Job found: the unknown run follows it again; a second adoption changes nothing.
    const lostJob = { namespace: 'team-a', name: 'j-2' };
    expect(await runs.adoptJob(lost.id, lostJob, new Date())).toBe(true);
    expect(await get(lost.id)).toMatchObject({
      status: 'running',
      job: lostJob,
      finishedAt: null,
      error: null,
    });
    expect(await runs.adoptJob(lost.id, lostJob, new Date())).toBe(false);
    expect(await runs.adoptJob(handed.id, job, new Date())).toBe(false);

    // Settled once: status, finishedAt and error only; attempts and response stay.
    const finishedAt = new Date(at.getTime() + 60_000);
    const failed = {
      status: 'failed' as const,
      finishedAt,
      error: 'Job team-a/j-1 failed: DeadlineExceeded',
      job,
    };
    expect(await runs.settleJob(handed.id, failed)).toBe(true);
    expect(await get(handed.id)).toMatchObject({ ...failed, attempts: 1, response });
    expect(await runs.settleJob(handed.id, { status: 'succeeded', finishedAt, job })).toBe(false);
    // A hand-off recorded after its Job already settled the run does not reopen it.
    await runs.handOff(handed.id, { job, attempts: 1 }, new Date());
    expect((await get(handed.id)).status).toBe('failed');
  });

  it('ensureIndexes is idempotent and follows a changed retention', async () => {
    await ensureIndexes(db, { runRetentionDays: 7 });
    await ensureIndexes(db, { runRetentionDays: 3 });
    const ttl = (await db.collection('runs').indexes()).find((i) => i.name === 'retention_ttl');
    expect(ttl?.expireAfterSeconds).toBe(3 * 86_400);
  });
});

describe('MongoRunStore claims in batches (issue 13)', () => {
  const claim = (scheduleId: string, at: Date, extra: Partial<ClaimRequest> = {}): ClaimRequest => ({
    id: crypto.randomUUID(),
    scheduleId,
    scheduleName: 'n',
    scheduledFor: at,
    firedAt: new Date(at.getTime() + 5),
    trigger: 'schedule',
    leader: 'a',
    epoch: 1,
    status: 'running',
    ...extra,
  });

  it.each([true, false])(
    'batch=%s: one wake-up of claims, with races, retries and takeovers inside it, answers each as alone',
    async (batch) => {
      // its own client, so the inserts this test causes can be counted
      const watched = new MongoClient(stack().mongo.uri, { monitorCommands: true });
      const inserts: number[] = [];
      watched.on('commandStarted', (e) => {
        if (e.commandName === 'insert' && e.command.insert === 'runs')
          inserts.push(e.command.documents.length);
      });
      const store = new MongoRunStore(watched.db(db.databaseName), { batch });
      const at = new Date(`2426-11-24T0${batch ? 1 : 2}:00:00Z`);
      const tag = `b${batch}`;
      // a released claim a later epoch may take over, and one an earlier epoch may not
      const given = await store.claim(claim(`${tag}-released`, at));
      await store.unclaim(given!);
      const fenced = await store.claim(claim(`${tag}-fenced`, at, { epoch: 5 }));
      await store.unclaim(fenced!);
      const retried = claim(`${tag}-retried`, at);
      expect(await store.claim(retried)).toBe(retried.id);

      const fresh = Array.from({ length: 300 }, (_, i) => claim(`${tag}-s${i}`, at));
      const rivalA = claim(`${tag}-contested`, at);
      const rivalB = claim(`${tag}-contested`, at, { leader: 'b' });
      const takeover = claim(`${tag}-released`, at, { epoch: 2 });
      const stale = claim(`${tag}-fenced`, at, { epoch: 4 });
      const skipped = claim(`${tag}-skipped`, at, { status: 'skipped', error: 'forbid' });
      // all issued in the same turn: one batch when batching
      const answers = await Promise.all([
        ...fresh.map((r) => store.claim(r)),
        store.claim(rivalA),
        store.claim(rivalB),
        store.claim(takeover),
        store.claim(stale),
        store.claim(retried),
        store.claim(skipped),
      ]);
      const [a, b, took, refused, again, skip] = answers.slice(fresh.length);
      // the 306 claims of one turn: one bulk insert batched, one insert each per fire
      expect(inserts.slice(3)).toEqual(batch ? [306] : Array(306).fill(1));
      expect(answers.slice(0, fresh.length)).toEqual(fresh.map((r) => r.id));
      expect([a, b].filter((x) => x !== null)).toHaveLength(1); // exactly one rival holds it
      expect(took).toBe(given); // the taken-over run keeps its id
      expect(refused).toBeNull();
      expect(again).toBe(retried.id); // a retry of a landed claim is still ours
      expect(skip).toBe(skipped.id);

      await store.flushCounters(); // counters without maxRuns are written a moment later
      const counters = db.collection<{ _id: string; claimed: number; last: Date }>('run_counters');
      const c = await counters
        .find({
          _id: { $in: [`${tag}-s0`, `${tag}-s299`, `${tag}-contested`, `${tag}-released`, `${tag}-skipped`] },
        })
        .toArray();
      const byId = Object.fromEntries(c.map((d) => [d._id, d]));
      expect(byId[`${tag}-s0`]).toMatchObject({ claimed: 1, last: at });
      expect(byId[`${tag}-s299`]).toMatchObject({ claimed: 1 });
      expect(byId[`${tag}-contested`]).toMatchObject({ claimed: 1 });
      expect(byId[`${tag}-released`]).toMatchObject({ claimed: 1 }); // given back (0), taken over (1)
      expect(byId[`${tag}-skipped`]).toMatchObject({ claimed: 0, last: at });
      const runsOf = await db.collection('runs').countDocuments({ scheduleId: { $regex: `^${tag}-s\\d` } });
      expect(runsOf).toBe(300);

      // finishes of one turn, in one round trip: each applied to its own run, only if unsettled
      const done = new Date(at.getTime() + 1000);
      await Promise.all(
        fresh.map((r, i) =>
          store.finish(r.id, {
            status: i % 2 ? 'failed' : 'succeeded',
            finishedAt: done,
            attempts: 1,
            ...(i % 2 ? { error: `e${i}` } : {}),
          }),
        ),
      );
      const first = await db.collection('runs').findOne({ _id: fresh[0]!.id as never });
      const second = await db.collection('runs').findOne({ _id: fresh[1]!.id as never });
      expect(first).toMatchObject({ status: 'succeeded', attempts: 1, error: null });
      expect(second).toMatchObject({ status: 'failed', error: 'e1' });
      // a finish never reopens what is settled
      await store.finish(fresh[0]!.id, { status: 'failed', finishedAt: done, attempts: 2 });
      expect(await db.collection('runs').findOne({ _id: fresh[0]!.id as never })).toMatchObject({
        status: 'succeeded',
      });
      await watched.close();
    },
  );
});
