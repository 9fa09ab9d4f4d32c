// The Schedule controller (issue 12), run by the leader beside its engine: list+watch of the
// Schedule objects in each namespace leasecron works in (JOB_NAMESPACES), each one written into
// MongoDB as the schedule it declares (`source` names the object; the API refuses to change it),
// removed from MongoDB by a finalizer when the object goes, and its `status` kept: what was stored
// (observedGeneration, Ready/Synced with reasons), when it fires next and how it last ran.
//
// The engine needs nothing from here: it sees these schedules through the change stream like any
// other. A new leader's controller lists everything again, so a change made while no controller
// ran (or while the Lease moved) is picked up, and a schedule whose object is gone is deleted.
//
// Status writes go through one rate-limited queue (STATUS_QPS), are skipped when nothing changed,
// and come at most once per STATUS_MIN_INTERVAL per object, so 10,000 objects firing every second
// do not turn into 10,000 writes a second against the API server.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { EgressPolicy } from '../egress/policy.ts';
import type { RunObserver } from '../engine/types.ts';
import { KeyedQueue } from '../kube/keyed-queue.ts';
import { ListWatch } from '../kube/list-watch.ts';
import { jsonPatch, mergePatch } from '../kube/patch.ts';
import { TokenBucket } from '../kube/token-bucket.ts';
import { nextRunAt } from '../schedule/occurrences.ts';
import type { Schedule } from '../schedule/schema.ts';
import { InvalidStoredScheduleError, NameTakenError } from '../store/errors.ts';
import type { RunStore, ScheduleStore } from '../store/types.ts';
import type { EventRecord, EventRecorder, EventTarget } from './events.ts';
import {
  API_VERSION,
  type Condition,
  condition,
  describeObjectErrors,
  FINALIZER,
  GROUP,
  KIND,
  mapScheduleObject,
  PLURAL,
  type ScheduleObject,
  type ScheduleObjectStatus,
  sameStatus,
  VERSION,
} from './schedule-object.ts';

export interface ScheduleControllerOptions {
  /** http1Only applied (src/election/kube-config.ts) */
  kubeConfig: k8s.KubeConfig;
  namespaces: readonly string[];
  schedules: ScheduleStore;
  runs: RunStore;
  logger: Logger;
  now: () => Date;
  /** this replica, for the handover Event */
  identity: string;
  egress?: EgressPolicy;
  events?: EventRecorder;
  statusQps?: number;
  statusBurst?: number;
  /** at least this long between two status writes of one object (ms) */
  statusMinIntervalMs?: number;
  /** every object's status is looked at again this often (ms; default 10 min): runs already
   * refresh it as they start and end, so this only catches what they did not say */
  resyncMs?: number;
  watchTimeoutSeconds?: number;
}

/** Why the last look at an object did not store it. */
interface Problem {
  reason: 'InvalidSpec' | 'NameTaken';
  message: string;
  generation: number;
}

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

function conflict(err: unknown): boolean {
  return err instanceof k8s.ApiException && (err.code === 409 || err.code === 422);
}

export class ScheduleController {
  readonly #o: ScheduleControllerOptions;
  readonly #api: k8s.CustomObjectsApi;
  readonly #objects = new Map<string, ScheduleObject>();
  readonly #idOf = new Map<string, string>();
  readonly #keyOf = new Map<string, string>();
  readonly #problems = new Map<string, Problem>();
  readonly #lastWrite = new Map<string, number>();
  readonly #bucket: TokenBucket;
  readonly #reconcile: KeyedQueue;
  readonly #status: KeyedQueue;
  /** adds the finalizer, at the write budget's pace, apart from storing (which must not wait) */
  readonly #finalize: KeyedQueue;
  readonly #watches: ListWatch<ScheduleObject>[] = [];
  #resync: NodeJS.Timeout | null = null;
  /** counters for benchmarks and logs */
  readonly stats = { reconciles: 0, statusWrites: 0, statusUnchanged: 0 };
  #handedOver = new Set<string>();

  constructor(options: ScheduleControllerOptions) {
    this.#o = options;
    this.#api = options.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    this.#bucket = new TokenBucket(options.statusQps ?? 20, options.statusBurst ?? 40);
    const log = options.logger;
    this.#reconcile = new KeyedQueue({
      work: (key) => this.#reconcileOne(key),
      onError: (key, err, attempt) =>
        log[attempt > 3 ? 'warn' : 'debug'](
          { err, object: key, attempt },
          'reconciling a Schedule object failed; retrying',
        ),
    });
    this.#finalize = new KeyedQueue({
      work: (key) => this.#addFinalizer(key),
      onError: (key, err, attempt) =>
        log[attempt > 3 ? 'warn' : 'debug'](
          { err, object: key, attempt },
          'adding the finalizer to a Schedule object failed; retrying',
        ),
    });
    this.#status = new KeyedQueue({
      work: (key) => this.#writeStatus(key),
      onError: (key, err, attempt) =>
        log[attempt > 3 ? 'warn' : 'debug'](
          { err, object: key, attempt },
          'writing Schedule status failed; retrying',
        ),
    });
  }

  start(): void {
    for (const namespace of this.#o.namespaces) {
      const w = new ListWatch<ScheduleObject>({
        kubeConfig: this.#o.kubeConfig,
        path: `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${PLURAL}`,
        what: `Schedule objects in ${namespace}`,
        logger: this.#o.logger,
        ...(this.#o.watchTimeoutSeconds ? { watchTimeoutSeconds: this.#o.watchTimeoutSeconds } : {}),
        list: async () => {
          const list = (await this.#api.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: PLURAL,
          })) as { items: ScheduleObject[]; metadata?: { resourceVersion?: string } };
          return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
        },
        onSync: (items) => this.#sync(namespace, items),
        onEvent: (type, obj) => this.#onEvent(type, obj),
      });
      this.#watches.push(w);
      w.start();
    }
    const every = this.#o.resyncMs ?? 600_000;
    this.#resync = setInterval(() => {
      for (const key of this.#objects.keys()) this.#status.add(key);
    }, every);
    this.#resync.unref();
  }

  async stop(): Promise<void> {
    if (this.#resync) clearInterval(this.#resync);
    this.#resync = null;
    await Promise.all(this.#watches.map((w) => w.stop()));
    await Promise.all([this.#reconcile.stop(), this.#status.stop(), this.#finalize.stop()]);
  }

  /** Resolves when every object seen so far was reconciled and its status written (tests). */
  async idle(): Promise<void> {
    await this.#reconcile.idle();
    await this.#finalize.idle();
    await this.#status.idle();
  }

  /** The object declaring a schedule, if any: what run events are recorded on. */
  targetOf(scheduleId: string): EventTarget | null {
    const key = this.#keyOf.get(scheduleId);
    const obj = key ? this.#objects.get(key) : undefined;
    if (!obj) return null;
    return {
      apiVersion: API_VERSION,
      kind: KIND,
      namespace: obj.metadata.namespace!,
      name: obj.metadata.name!,
      uid: obj.metadata.uid!,
    };
  }

  /** A run of this schedule started or ended: its object's status is refreshed. */
  noteRun(scheduleId: string): void {
    const key = this.#keyOf.get(scheduleId);
    if (key) this.#status.add(key);
  }

  /** What the engine tells about runs, as Events on the object and a status refresh. */
  observer(): RunObserver {
    const on = (scheduleId: string, record: EventRecord | null) => {
      const target = this.targetOf(scheduleId);
      if (!target) return; // not declared by an object
      if (record) this.#o.events?.record(target, record);
      this.noteRun(scheduleId);
    };
    return {
      started: (id, runId, at) =>
        on(id, {
          type: 'Normal',
          reason: 'Fired',
          action: 'Fire',
          note: `run ${runId} started for ${at.toISOString()}`,
        }),
      finished: (id, runId, status, error) =>
        on(
          id,
          status === 'succeeded' || status === 'skipped'
            ? null
            : {
                type: 'Warning',
                reason:
                  status === 'failed'
                    ? 'RunFailed'
                    : status === 'unknown'
                      ? 'RunOutcomeUnknown'
                      : 'RunAbandoned',
                action: 'Run',
                note: `run ${runId} ${status}${error ? `: ${error}` : ''}`,
              },
        ),
      passedOver: (id, count, reason) =>
        on(id, {
          type: 'Warning',
          reason: 'Missed',
          action: 'Fire',
          note: `${count} occurrence${count === 1 ? '' : 's'} not run: ${reason}`,
        }),
    };
  }

  // --- cache -----------------------------------------------------------------

  async #sync(namespace: string, items: ScheduleObject[]): Promise<void> {
    const present = new Set<string>();
    for (const obj of items) {
      const key = keyOf(namespace, obj.metadata.name!);
      present.add(key);
      this.#objects.set(key, obj);
      this.#reconcile.add(key);
    }
    for (const key of [...this.#objects.keys()])
      if (key.startsWith(`${namespace}/`) && !present.has(key)) this.#forget(key);
    // Objects deleted while no controller ran, past their finalizer (removed by hand): their
    // schedules must not keep firing.
    const uids = new Set(items.map((o) => o.metadata.uid));
    for (const owned of await this.#o.schedules.ownedIn(namespace)) {
      if (uids.has(owned.uid)) continue;
      await this.#o.schedules.deleteOwned(owned.uid);
      this.#o.logger.info(
        { namespace, name: owned.name, scheduleId: owned.id },
        'deleted the schedule of a Schedule object that no longer exists',
      );
    }
  }

  async #onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: ScheduleObject): Promise<void> {
    const key = keyOf(obj.metadata.namespace!, obj.metadata.name!);
    if (type === 'DELETED') {
      this.#forget(key);
      // Normally the finalizer already did this; a finalizer removed by hand leaves it to us.
      await this.#o.schedules.deleteOwned(obj.metadata.uid!);
      return;
    }
    const before = this.#objects.get(key);
    this.#objects.set(key, obj);
    // A status write of our own comes back as MODIFIED with the same generation: nothing to do.
    if (
      before !== undefined &&
      before.metadata.uid === obj.metadata.uid &&
      before.metadata.generation === obj.metadata.generation &&
      !obj.metadata.deletionTimestamp &&
      JSON.stringify(before.metadata.labels ?? {}) === JSON.stringify(obj.metadata.labels ?? {}) &&
      (obj.metadata.finalizers ?? []).includes(FINALIZER)
    )
      return;
    this.#reconcile.add(key);
  }

  #forget(key: string): void {
    this.#objects.delete(key);
    this.#problems.delete(key);
    this.#lastWrite.delete(key);
    const id = this.#idOf.get(key);
    this.#idOf.delete(key);
    if (id) this.#keyOf.delete(id);
  }

  #link(key: string, scheduleId: string): void {
    const old = this.#idOf.get(key);
    if (old && old !== scheduleId) this.#keyOf.delete(old);
    this.#idOf.set(key, scheduleId);
    this.#keyOf.set(scheduleId, key);
  }

  // --- reconcile -------------------------------------------------------------

  async #reconcileOne(key: string): Promise<void> {
    const obj = this.#objects.get(key);
    if (!obj) return;
    this.stats.reconciles++;
    const { namespace, name, uid } = obj.metadata as Required<
      Pick<ScheduleObject['metadata'], 'namespace' | 'name' | 'uid'>
    >;
    const finalizers = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp) {
      if (!finalizers.includes(FINALIZER)) return;
      const gone = await this.#o.schedules.deleteOwned(uid);
      if (gone) this.#o.logger.info({ namespace, name }, 'Schedule object deleted: its schedule is deleted');
      await this.#setFinalizers(
        obj,
        finalizers.filter((f) => f !== FINALIZER),
      );
      return;
    }
    const generation = obj.metadata.generation ?? 0;
    const mapped = mapScheduleObject(obj, this.#o.egress ? { egress: this.#o.egress } : {});
    if (!mapped.ok) {
      const message = describeObjectErrors(mapped.errors);
      this.#problems.set(key, { reason: 'InvalidSpec', message, generation });
      this.#event(obj, { type: 'Warning', reason: 'InvalidSpec', action: 'Sync', note: message });
    } else {
      try {
        const { schedule, changed } = await this.#o.schedules.applyOwned(
          mapped.input,
          mapped.source,
          this.#o.now(),
        );
        this.#link(key, schedule.id);
        this.#problems.delete(key);
        if (changed)
          this.#o.logger.info(
            { namespace, name, generation, scheduleId: schedule.id, version: schedule.version },
            'Schedule object stored',
          );
      } catch (err) {
        if (!(err instanceof NameTakenError)) throw err;
        this.#problems.set(key, { reason: 'NameTaken', message: err.message, generation });
        this.#event(obj, { type: 'Warning', reason: 'NameTaken', action: 'Sync', note: err.message });
      }
    }
    // The finalizer comes after the schedule is stored, and from its own queue, so arming is
    // not held up by the write budget (a fresh install of 10,000 objects); an object deleted in
    // between is caught by its DELETED event or, failing that, by the next list.
    if (this.#idOf.has(key) && !finalizers.includes(FINALIZER)) this.#finalize.add(key);
    if (!this.#handedOver.has(uid) && this.#idOf.has(key)) {
      this.#handedOver.add(uid);
      this.#event(obj, {
        type: 'Normal',
        reason: 'Handover',
        action: 'Lead',
        note: `${this.#o.identity} leads now and runs this schedule`,
      });
    }
    this.#status.add(key);
  }

  async #addFinalizer(key: string): Promise<void> {
    const obj = this.#objects.get(key);
    if (!obj || obj.metadata.deletionTimestamp || !this.#idOf.has(key)) return;
    const finalizers = obj.metadata.finalizers ?? [];
    if (finalizers.includes(FINALIZER)) return;
    try {
      const updated = await this.#setFinalizers(obj, [...finalizers, FINALIZER]);
      if (this.#objects.get(key)?.metadata.uid === updated.metadata.uid) this.#objects.set(key, updated);
    } catch (err) {
      if (err instanceof k8s.ApiException && err.code === 404) return; // deleted meanwhile
      throw err; // a conflict: retried, and the watch brings the newer object
    }
  }

  /** Waits for a token: every write to the API server (finalizers, status) shares one bucket. */
  async #token(): Promise<void> {
    for (let wait = this.#bucket.tryTake(); wait > 0; wait = this.#bucket.tryTake())
      await new Promise((r) => setTimeout(r, wait));
  }

  /** Replaces the finalizer list, only on the version read (a concurrent change retries). */
  async #setFinalizers(obj: ScheduleObject, finalizers: string[]): Promise<ScheduleObject> {
    const { namespace, name, resourceVersion } = obj.metadata;
    await this.#token();
    return (await this.#api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: namespace!,
        plural: PLURAL,
        name: name!,
        body: [
          { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
          { op: 'add', path: '/metadata/finalizers', value: finalizers },
        ],
      },
      jsonPatch(),
    )) as ScheduleObject;
  }

  #event(obj: ScheduleObject, record: Parameters<EventRecorder['record']>[1]): void {
    this.#o.events?.record(
      {
        apiVersion: API_VERSION,
        kind: KIND,
        namespace: obj.metadata.namespace!,
        name: obj.metadata.name!,
        uid: obj.metadata.uid!,
      },
      record,
    );
  }

  // --- status ------------------------------------------------------------------

  async #writeStatus(key: string): Promise<void> {
    const obj = this.#objects.get(key);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const minGap = this.#o.statusMinIntervalMs ?? 1000;
    const since = performance.now() - (this.#lastWrite.get(key) ?? -Infinity);
    if (since < minGap) {
      this.#status.addAfter(key, Math.ceil(minGap - since));
      return;
    }
    const status = await this.#statusOf(key, obj);
    if (sameStatus(obj.status, status)) {
      this.stats.statusUnchanged++;
      return;
    }
    await this.#token();
    if (this.#objects.get(key) !== obj && this.#objects.get(key)?.metadata.uid !== obj.metadata.uid) return;
    try {
      const updated = (await this.#api.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: obj.metadata.namespace!,
          plural: PLURAL,
          name: obj.metadata.name!,
          body: { status },
        },
        mergePatch(),
      )) as ScheduleObject;
      this.#lastWrite.set(key, performance.now());
      this.stats.statusWrites++;
      const current = this.#objects.get(key);
      if (current && current.metadata.uid === updated.metadata.uid) current.status = updated.status ?? status;
    } catch (err) {
      if (err instanceof k8s.ApiException && err.code === 404) return; // deleted meanwhile
      if (conflict(err)) this.#status.addAfter(key, 200);
      else throw err;
    }
  }

  async #statusOf(key: string, obj: ScheduleObject): Promise<ScheduleObjectStatus> {
    const now = this.#o.now();
    const generation = obj.metadata.generation ?? 0;
    const problem = this.#problems.get(key);
    const id = this.#idOf.get(key);
    let stored: Schedule | null = null;
    if (id) {
      try {
        stored = await this.#o.schedules.get(id);
      } catch (err) {
        if (!(err instanceof InvalidStoredScheduleError)) throw err;
      }
      if (!stored) this.#forget(key);
    }
    const previous = obj.status?.conditions;
    const conditions: Condition[] = [];
    const storedGeneration = stored?.source?.generation;
    if (problem)
      conditions.push(
        condition(
          previous,
          {
            type: 'Synced',
            status: 'False',
            reason: problem.reason,
            message: problem.message,
            observedGeneration: generation,
          },
          now,
        ),
      );
    else if (stored && storedGeneration === generation)
      conditions.push(
        condition(
          previous,
          {
            type: 'Synced',
            status: 'True',
            reason: 'Stored',
            message: `stored as schedule ${stored.id} (version ${stored.version})`,
            observedGeneration: generation,
          },
          now,
        ),
      );
    else
      conditions.push(
        condition(
          previous,
          {
            type: 'Synced',
            status: 'Unknown',
            reason: 'Pending',
            message: 'not stored yet',
            observedGeneration: generation,
          },
          now,
        ),
      );

    let next: Date | null = null;
    let claimed = 0;
    let lastRun: ScheduleObjectStatus['lastRun'] = null;
    let active = 0;
    if (stored) {
      [claimed, active] = await Promise.all([
        this.#o.runs.claimedCount(stored.id),
        this.#o.runs.runningFor(stored.id),
      ]);
      next = nextRunAt(stored, now, claimed);
      const last = (await this.#o.runs.list(stored.id, { limit: 1 })).items[0];
      if (last)
        lastRun = {
          scheduledFor: last.scheduledFor.toISOString(),
          finishedAt: last.finishedAt?.toISOString() ?? null,
          status: last.status,
          runId: last.id,
        };
      const stale = problem
        ? ` Generation ${generation} is not valid; generation ${storedGeneration} keeps running.`
        : '';
      const [reason, message] = stored.paused
        ? ['Suspended', 'suspended: nothing fires until spec.suspend is false']
        : next
          ? ['Scheduled', `next run at ${next.toISOString()}`]
          : ['Finished', 'no occurrence left (past endAt, maxRuns reached or every instant passed)'];
      conditions.push(
        condition(
          previous,
          { type: 'Ready', status: 'True', reason, message: message + stale, observedGeneration: generation },
          now,
        ),
      );
    } else
      conditions.push(
        condition(
          previous,
          {
            type: 'Ready',
            status: 'False',
            reason: problem?.reason ?? 'Pending',
            message: problem ? `nothing is scheduled: ${problem.message}` : 'not stored yet',
            observedGeneration: generation,
          },
          now,
        ),
      );
    return {
      observedGeneration: generation,
      ...(stored ? { scheduleId: stored.id } : {}),
      nextRunAt: next?.toISOString() ?? null,
      lastRun,
      active,
      runs: claimed,
      conditions,
    };
  }
}
