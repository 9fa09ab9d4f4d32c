// The Schedule controller against the real API server and MongoDB-protocol server, with a real
// engine firing at a webhook sink: what the user observes is deliveries, status on the object,
// Events, and the REST API's answers.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import type { Db, MongoClient } from 'mongodb';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { openAuth } from '../../src/auth/api-auth.ts';
import { ScheduleController } from '../../src/crd/controller.ts';
import { EventRecorder } from '../../src/crd/events.ts';
import { FINALIZER, type ScheduleObject } from '../../src/crd/schedule-object.ts';
import { Engine } from '../../src/engine/engine.ts';
import type { RunObserver } from '../../src/engine/types.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { validateScheduleInput } from '../../src/schedule/schema.ts';
import { ensureIndexes } from '../../src/store/indexes.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import { adminKubeConfig, createNamespace, freshDb } from '../helpers/clients.ts';
import { installScheduleCrd } from '../helpers/crd.ts';
import { loopbackSinks, sinkActionRunner } from '../helpers/egress.ts';
import { type Probe, until as poll } from '../helpers/until.ts';

const logger = pino({ level: process.env.LEASECRON_TEST_LOG ?? 'silent' });
const G = { group: 'leasecron.io', version: 'v1alpha1', plural: 'schedules' } as const;

let client: MongoClient;
let db: Db;
let schedules: MongoScheduleStore;
let runs: MongoRunStore;
let ns: string;
let custom: k8s.CustomObjectsApi;
let sink: Server;
let sinkUrl: string;
const hits: { path: string; headers: IncomingHttpHeaders; at: number }[] = [];

/** One leader: an engine and its controller, wired as src/main.ts does. */
class Leader {
  readonly engine: Engine;
  controller: ScheduleController | null = null;
  readonly events: EventRecorder;
  readonly identity: string;
  constructor(identity: string) {
    this.identity = identity;
    const observer: RunObserver = {
      started: (...a) => this.controller?.observer().started(...a),
      finished: (...a) => this.controller?.observer().finished(...a),
      passedOver: (...a) => this.controller?.observer().passedOver(...a),
    };
    this.events = new EventRecorder({
      events: adminKubeConfig().makeApiClient(k8s.EventsV1Api),
      controller: 'leasecron.io/scheduler',
      instance: identity,
      logger,
    });
    this.engine = new Engine({
      schedules,
      runs,
      actions: sinkActionRunner(),
      identity,
      logger,
      now: () => new Date(),
      manualPollMs: 100,
      observer,
    });
  }
  async start(epoch: number): Promise<void> {
    await this.engine.start(epoch);
    this.controller = new ScheduleController({
      kubeConfig: adminKubeConfig(),
      namespaces: [ns],
      schedules,
      runs,
      logger,
      now: () => new Date(),
      identity: this.identity,
      egress: loopbackSinks,
      events: this.events,
      statusMinIntervalMs: 200,
      resyncMs: 1000,
    });
    this.controller.start();
  }
  async stop(): Promise<void> {
    await this.controller?.stop();
    this.controller = null;
    await this.engine.stop();
  }
}

function object(
  name: string,
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
): ScheduleObject {
  return {
    apiVersion: 'leasecron.io/v1alpha1',
    kind: 'Schedule',
    metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
    spec,
  };
}

const webhook = (path: string, extra: Record<string, unknown> = {}) => ({
  schedule: '@every 1s',
  http: { url: `${sinkUrl}/${path}`, method: 'POST', ...extra },
});

async function create(obj: ScheduleObject): Promise<ScheduleObject> {
  return (await custom.createNamespacedCustomObject({ ...G, namespace: ns, body: obj })) as ScheduleObject;
}
async function read(name: string): Promise<ScheduleObject> {
  return (await custom.getNamespacedCustomObject({ ...G, namespace: ns, name })) as ScheduleObject;
}
async function exists(name: string): Promise<boolean> {
  try {
    await read(name);
    return true;
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return false;
    throw err;
  }
}
async function replaceSpec(name: string, spec: Record<string, unknown>): Promise<ScheduleObject> {
  for (;;) {
    const current = await read(name);
    try {
      return (await custom.replaceNamespacedCustomObject({
        ...G,
        namespace: ns,
        name,
        body: { ...current, spec },
      })) as ScheduleObject;
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
    }
  }
}
async function remove(name: string): Promise<void> {
  await custom.deleteNamespacedCustomObject({ ...G, namespace: ns, name });
}

/** Waits as test/helpers/until.ts does; a probe that throws (an object not there yet) is "not yet". */
const until = <T>(what: string, probe: Probe<T>) => poll(what, probe, { everyMs: 100, retryErrors: true });

const cond = (o: ScheduleObject, type: string) => o.status?.conditions?.find((c) => c.type === type);
const hitsFor = (path: string) => hits.filter((h) => h.path === `/${path}`);

beforeAll(async () => {
  await installScheduleCrd();
  ({ client, db } = await freshDb('crd'));
  await ensureIndexes(db, { runRetentionDays: 1 });
  schedules = new MongoScheduleStore(db);
  runs = new MongoRunStore(db);
  ns = await createNamespace('crd');
  custom = adminKubeConfig().makeApiClient(k8s.CustomObjectsApi);
  sink = createServer((req, res) => {
    hits.push({ path: req.url ?? '', headers: req.headers, at: Date.now() });
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await client?.close();
  sink?.close();
});

describe('Schedule objects', () => {
  it('fire, report status, follow edits, and stop when deleted', async () => {
    const leader = new Leader('leader-a');
    await leader.start(1);
    try {
      await create(object('every-second', webhook('a'), { team: 'a' }));
      // fires within its first occurrence, at the sink
      const first = await until('a delivery', async () => hitsFor('a')[0]);
      const scheduleId = first.headers['x-leasecron-schedule-id'] as string;
      const stored = await schedules.get(scheduleId);
      expect(stored).toMatchObject({ name: 'every-second', namespace: ns, labels: { team: 'a' } });
      expect(stored?.source).toMatchObject({
        kind: 'Schedule',
        name: 'every-second',
        namespace: ns,
        generation: 1,
      });

      const ready = await until('Ready with lastRun', async () => {
        const o = await read('every-second');
        return cond(o, 'Ready')?.status === 'True' && o.status?.lastRun ? o : null;
      });
      expect(ready.metadata.finalizers).toContain(FINALIZER);
      expect(ready.status).toMatchObject({ observedGeneration: 1, scheduleId });
      expect(cond(ready, 'Synced')).toMatchObject({
        status: 'True',
        reason: 'Stored',
        observedGeneration: 1,
      });
      expect(cond(ready, 'Ready')).toMatchObject({ reason: 'Scheduled' });
      expect(Date.parse(ready.status!.nextRunAt!)).toBeGreaterThan(Date.now() - 2000);
      expect(ready.status!.lastRun).toMatchObject({ status: expect.any(String), runId: expect.any(String) });

      // The REST API shows it and refuses to change or delete it, naming the object.
      const app = createApp({
        auth: openAuth(),
        schedules,
        runs,
        config: { bodyLimitBytes: 65536, egress: loopbackSinks } as never,
        logger,
        metrics: createMetrics(),
        now: () => new Date(),
        ready: async () => true,
        cluster: () => ({}) as never,
      });
      const got = await app.request(`/api/v1/schedules/${scheduleId}`);
      expect(got.status).toBe(200);
      expect(((await got.json()) as { source: unknown }).source).toMatchObject({
        name: 'every-second',
        uid: ready.metadata.uid,
      });
      const body = validateScheduleInput(
        { name: 'every-second', schedule: { every: '5s' }, action: { type: 'log' } },
        { egress: loopbackSinks },
      );
      expect(body.ok).toBe(true);
      for (const [method, path, payload] of [
        [
          'PUT',
          `/api/v1/schedules/${scheduleId}`,
          { name: 'every-second', schedule: { every: '5s' }, action: { type: 'log' } },
        ],
        ['PATCH', `/api/v1/schedules/${scheduleId}`, { paused: true }],
        ['POST', `/api/v1/schedules/${scheduleId}/pause`, undefined],
        ['DELETE', `/api/v1/schedules/${scheduleId}`, undefined],
      ] as const) {
        const res = await app.request(path, {
          method,
          headers: {
            'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
          },
          ...(payload ? { body: JSON.stringify(payload) } : {}),
        });
        expect(res.status, `${method} ${path}`).toBe(409);
        const problem = (await res.json()) as { detail: string };
        expect(problem.detail).toContain(`Schedule object ${ns}/every-second`);
      }
      expect((await schedules.get(scheduleId))?.paused).toBe(false);

      // Edit: the new version is armed (deliveries move to the new path), observedGeneration follows.
      await replaceSpec('every-second', webhook('b'));
      await until('a delivery of the edited version', async () => hitsFor('b')[0]);
      const edited = await until('observedGeneration 2', async () => {
        const o = await read('every-second');
        return o.status?.observedGeneration === 2 && cond(o, 'Synced')?.status === 'True' ? o : null;
      });
      expect(edited.metadata.generation).toBe(2);
      expect((await schedules.get(scheduleId))?.source?.generation).toBe(2);

      // Events: fires are recorded on the object by the leader.
      const events = await until('a Fired event', async () => {
        const list = await adminKubeConfig()
          .makeApiClient(k8s.EventsV1Api)
          .listNamespacedEvent({ namespace: ns, fieldSelector: `regarding.name=every-second` });
        return list.items.some((e) => e.reason === 'Fired') ? list.items : null;
      });
      const fired = events.find((e) => e.reason === 'Fired')!;
      expect(fired).toMatchObject({
        reportingController: 'leasecron.io/scheduler',
        reportingInstance: 'leader-a',
      });
      expect(events.some((e) => e.reason === 'Handover')).toBe(true);

      // Delete: the finalizer removes it from MongoDB, then the object goes; no more deliveries.
      await remove('every-second');
      await until('the object to go', async () => !(await exists('every-second')));
      expect(await schedules.get(scheduleId)).toBeNull();
      await sleep(300); // a delivery already under way may still land
      const after = hitsFor('b').length;
      await sleep(2500);
      expect(hitsFor('b').length).toBe(after);
    } finally {
      await leader.stop();
    }
  });

  it('reports an invalid object with Ready=False and arms nothing', async () => {
    const leader = new Leader('leader-b');
    await leader.start(2);
    try {
      await create(object('bad-cron', { schedule: '61 * * * *', timeZone: 'Mars/Olympus', log: {} }));
      const bad = await until('Ready=False', async () => {
        const o = await read('bad-cron');
        return cond(o, 'Ready')?.status === 'False' ? o : null;
      });
      expect(cond(bad, 'Ready')).toMatchObject({ reason: 'InvalidSpec' });
      expect(cond(bad, 'Ready')?.message).toMatch(/spec\.schedule: invalid cron expression/);
      expect(cond(bad, 'Ready')?.message).toMatch(/spec\.timeZone: unknown time zone 'Mars\/Olympus'/);
      expect(cond(bad, 'Synced')).toMatchObject({
        status: 'False',
        reason: 'InvalidSpec',
        observedGeneration: 1,
      });
      expect(await schedules.ownedIn(ns)).toEqual(
        expect.not.arrayContaining([expect.objectContaining({ name: 'bad-cron' })]),
      );

      // A valid object whose later edit is not valid: the last valid generation keeps running.
      await create(object('stays', webhook('stays')));
      await until('a delivery', async () => hitsFor('stays')[0]);
      await replaceSpec('stays', { ...webhook('stays'), schedule: '99 * * * *' });
      const stale = await until('Synced=False on generation 2', async () => {
        const o = await read('stays');
        return o.status?.observedGeneration === 2 && cond(o, 'Synced')?.status === 'False' ? o : null;
      });
      expect(cond(stale, 'Ready')).toMatchObject({ status: 'True' });
      expect(cond(stale, 'Ready')?.message).toMatch(/generation 1 keeps running/);
      const n = hitsFor('stays').length;
      await until('deliveries to go on', async () => hitsFor('stays').length > n + 1);

      // An object cannot take over the name of a schedule made through the API.
      await schedules.create({ ...okInput('taken'), namespace: ns }, new Date());
      await create(object('taken', { schedule: '@every 1h', log: {} }));
      const taken = await until('NameTaken', async () => {
        const o = await read('taken');
        return cond(o, 'Ready')?.reason === 'NameTaken' ? o : null;
      });
      expect(cond(taken, 'Ready')?.message).toMatch(/made through the API/);
      await Promise.all(['bad-cron', 'stays', 'taken'].map(remove));
    } finally {
      await leader.stop();
    }
  });

  it('a new leader relists without rewriting a status that is already right', async () => {
    const a = new Leader('leader-e');
    await a.start(5);
    const names = ['calm-1', 'calm-2', 'calm-3'];
    for (const name of names) await create(object(name, { schedule: '0 0 1 1 *', log: {} }));
    await until('all Ready', async () => {
      const all = await Promise.all(names.map(read));
      return all.every((o) => cond(o, 'Ready')?.status === 'True');
    });
    await a.controller!.idle();
    expect(a.controller!.stats.statusWrites).toBe(names.length);
    await a.stop();
    const b = new Leader('leader-f');
    await b.start(6);
    try {
      await until('all reconciled', async () => b.controller!.stats.reconciles >= names.length);
      await b.controller!.idle();
      expect(b.controller!.stats).toMatchObject({ statusWrites: 0, statusUnchanged: names.length });
      await Promise.all(names.map(remove));
    } finally {
      await b.stop();
    }
  });

  it('a new leader lists again: changes made while no controller ran are not lost', async () => {
    const a = new Leader('leader-c');
    await a.start(3);
    await create(object('kept', webhook('kept')));
    await create(object('edited', webhook('edited-1')));
    await create(object('removed', webhook('removed')));
    for (const path of ['kept', 'edited-1', 'removed'])
      await until(`${path} fires`, async () => hitsFor(path)[0]);
    await until('finalizers on all three', async () => {
      const all = await Promise.all(['kept', 'edited', 'removed'].map(read));
      return all.every((o) => o.metadata.finalizers?.includes(FINALIZER));
    });
    await a.stop();

    // No leader: an edit, a new object and a delete (held by the finalizer) wait for the next one.
    await replaceSpec('edited', webhook('edited-2'));
    await create(object('added', webhook('added')));
    await remove('removed');
    expect(await exists('removed')).toBe(true); // deletionTimestamp set, finalizer holds it

    const b = new Leader('leader-d');
    await b.start(4);
    try {
      await until('the edited version fires', async () => hitsFor('edited-2')[0]);
      await until('the added object fires', async () => hitsFor('added')[0]);
      await until('the removed object goes', async () => !(await exists('removed')));
      const owned = (await schedules.ownedIn(ns)).map((o) => o.name).sort();
      expect(owned).toEqual(expect.arrayContaining(['added', 'edited', 'kept']));
      expect(owned).not.toContain('removed');
      const removedHits = hitsFor('removed').length;
      await sleep(2000);
      expect(hitsFor('removed').length).toBe(removedHits);
      await Promise.all(['kept', 'edited', 'added'].map(remove));
    } finally {
      await b.stop();
    }
  });
});

function okInput(name: string) {
  const r = validateScheduleInput({ name, schedule: { every: '1h' }, action: { type: 'log' } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}
