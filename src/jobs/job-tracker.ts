// Follows the Jobs that kubernetesJob actions create, on the leader, so a run ends when its Job
// does and not when the Job object is created (issue 12). Informer-style, per namespace in
// JOB_NAMESPACES, through ListWatch (src/kube/list-watch.ts): list the Jobs carrying the
// schedule-id label, then watch from the list's resourceVersion; a 410 Gone, a broken watch (after
// a backoff) or a failed write about a run means relist. Level-triggered: every (re)list settles
// whatever finished meanwhile, adopts runs a dead leader left `unknown` before recording their
// hand-off, and fails runs whose Job vanished, so a new leader picks up every Job the old one left
// running.
//
// Its cache also answers the engine's concurrency questions (EngineJobs): how many Jobs of a
// schedule are active, and deleting them for concurrency=replace. The action tells it of each Job
// it creates (observe) before returning, so forbid cannot slip past a Job the watch has not
// reported yet. After a Job of a schedule finishes, its older finished Jobs are pruned to the
// history limits the newest Job carries (annotations set by the action).
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  FAILED_HISTORY_ANNOTATION,
  RUN_ID_ANNOTATION,
  SCHEDULE_ID_LABEL,
  SCHEDULED_TIMESTAMP_ANNOTATION,
  SUCCESSFUL_HISTORY_ANNOTATION,
} from '../actions/kubernetes-job-action.ts';
import { deadline } from '../election/deadline.ts';
import { http1Only, withSignal } from '../election/kube-config.ts';
import type { EngineJobs } from '../engine/types.ts';
import { ListWatch } from '../kube/list-watch.ts';
import type { JobRef, RunStore } from '../store/types.ts';
import {
  DEFAULT_HISTORY_LIMITS,
  failureError,
  type HistoryLimits,
  type JobOutcome,
  jobOutcome,
  jobsToPrune,
  parseLimit,
  toDate,
} from './job-status.ts';

/** What the tracker writes: runs handed off to Jobs. */
export type JobRunStore = Pick<RunStore, 'adoptJob' | 'settleJob' | 'jobRuns'>;

export type JobRunSettled = (
  scheduleId: string,
  runId: string,
  status: 'succeeded' | 'failed',
  error: string | null,
) => void;

export interface JobTrackerOptions {
  kubeConfig: k8s.KubeConfig;
  /** JOB_NAMESPACES: where kubernetesJob actions create Jobs */
  namespaces: readonly string[];
  runs: JobRunStore;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  now: () => Date;
  /** Told once per run settled from its Job (e.g. to emit an Event on a Schedule object). */
  onRunSettled?: JobRunSettled;
  /** Upper bound of each list and delete request. Default 10 s. */
  requestTimeoutMs?: number;
  /**
   * The server ends each watch after this long and the tracker re-watches from the last
   * resourceVersion; below client-node's 30 s inactivity timeout, as for the Lease watch.
   */
  watchTimeoutSeconds?: number;
  /** How long start() waits for the first list of every namespace. Default 5 s. */
  syncTimeoutMs?: number;
}

interface TrackedJob {
  namespace: string;
  name: string;
  uid: string;
  scheduleId: string;
  runId: string | null;
  /** the occurrence it ran for (epoch ms): history limits keep the newest */
  order: number;
  limits: HistoryLimits;
  outcome: JobOutcome;
}

interface NamespaceState {
  namespace: string;
  /** lists and watches this namespace's Jobs */
  jobs: ListWatch<k8s.V1Job>;
  /** when the latest list began */
  listedFrom: Date;
  /** work on runs, one step at a time and in event order */
  work: Promise<void>;
}

/** Attempts at one write about a run before the namespace is relisted instead (~3 s). */
const WRITE_ATTEMPTS = 5;
/** Uids of Jobs seen deleted, remembered so a late observe() cannot bring one back. */
const TOMBSTONES = 1024;

const key = (namespace: string, name: string) => `${namespace}/${name}`;

export class JobTracker implements EngineJobs {
  readonly #o: JobTrackerOptions;
  readonly #kubeConfig: k8s.KubeConfig;
  readonly #batch: k8s.BatchV1Api;
  readonly #requestTimeoutMs: number;
  /** every tracked Job by namespace/name, and the same objects by schedule */
  readonly #jobs = new Map<string, TrackedJob>();
  readonly #bySchedule = new Map<string, Map<string, TrackedJob>>();
  readonly #tombstones = new Set<string>();
  /** uids of Jobs this tracker deleted for concurrency=replace: their runs say so */
  readonly #replaced = new Set<string>();
  #states: NamespaceState[] = [];
  #ctrl: AbortController | null = null;
  #stopped: Promise<void> = Promise.resolve();

  constructor(options: JobTrackerOptions) {
    this.#o = options;
    // HTTP/1.1 only: an aborted request over HTTP/2 can hang the process (issue 9, see http1Only).
    this.#kubeConfig = http1Only(options.kubeConfig);
    this.#batch = this.#kubeConfig.makeApiClient(k8s.BatchV1Api);
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  /**
   * Starts following every namespace; resolves once each has been listed once (its Jobs are in
   * the cache, so active() is right) or after syncTimeoutMs, whichever is first: an API server
   * that does not answer must not keep the engine from firing its other schedules.
   */
  async start(): Promise<void> {
    if (this.#ctrl) throw new Error('job tracker already started');
    const ctrl = new AbortController();
    this.#ctrl = ctrl;
    this.#clear();
    const synced = this.#o.namespaces.map((namespace) => {
      const listed = Promise.withResolvers<void>();
      this.#states.push(this.#follow(namespace, ctrl.signal, listed.resolve));
      return listed.promise;
    });
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      Promise.all(synced).then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), this.#o.syncTimeoutMs ?? 5000);
      }),
    ]);
    clearTimeout(timer);
    if (!inTime && !ctrl.signal.aborted) {
      this.#o.logger.warn(
        { namespaces: this.#o.namespaces },
        'Jobs not listed in time; concurrency may miss Jobs of an earlier leader until they are',
      );
    }
  }

  /**
   * Stops following Jobs at once (the cache is empty when this returns, so a new term starts
   * clean) and waits for the work under way. Idempotent.
   */
  stop(): Promise<void> {
    const ctrl = this.#ctrl;
    if (!ctrl) return this.#stopped;
    this.#ctrl = null;
    ctrl.abort();
    this.#clear();
    const states = this.#states;
    this.#states = [];
    this.#stopped = Promise.all(states.map((st) => st.jobs.stop()))
      .then(() => Promise.allSettled(states.map((st) => st.work)))
      .then(() => {});
    return this.#stopped;
  }

  active(scheduleId: string): number {
    let n = 0;
    for (const t of this.#bySchedule.get(scheduleId)?.values() ?? []) if (t.outcome.state === 'active') n++;
    return n;
  }

  async replace(scheduleId: string): Promise<void> {
    const signal = this.#ctrl?.signal;
    if (!signal) return;
    const active = [...(this.#bySchedule.get(scheduleId)?.values() ?? [])].filter(
      (t) => t.outcome.state === 'active',
    );
    await Promise.all(
      active.map(async (t) => {
        this.#replaced.add(t.uid);
        try {
          await this.#delete(t.namespace, t.name);
        } catch (err) {
          this.#replaced.delete(t.uid);
          throw err;
        }
        // Background propagation removes the Job object at once (its pods go later): forget it
        // now, so the new run is not counted against it, and fail its run without waiting for
        // the watch event.
        this.#forget(t);
        this.#tombstone(t.uid);
        try {
          await this.#settle(signal, t, {
            status: 'failed',
            finishedAt: this.#o.now(),
            error: deletedError(t, true),
          });
        } catch (err) {
          // The Job is gone, so the new run may go ahead; the DELETED event settles this one.
          this.#o.logger.warn({ err, runId: t.runId }, 'recording a replaced Job run failed');
        }
      }),
    );
  }

  /**
   * A Job the action just created or found (by a 409) for its run: counted at once. A Job the
   * cache already knows keeps what the watch said of it (it is as new or newer).
   */
  observe(job: k8s.V1Job): void {
    if (!this.#ctrl || this.#ctrl.signal.aborted) return;
    const t = tracked(job);
    if (!t || !this.#o.namespaces.includes(t.namespace)) return;
    if (this.#jobs.has(key(t.namespace, t.name)) || this.#tombstones.has(t.uid)) return;
    this.#remember(t);
  }

  // --- list + watch, per namespace ---------------------------------------------

  /** Starts following one namespace; `listed` is called after each (re)list is in the cache. */
  #follow(namespace: string, signal: AbortSignal, listed: () => void): NamespaceState {
    const st: NamespaceState = {
      namespace,
      listedFrom: this.#o.now(),
      work: Promise.resolve(),
      jobs: new ListWatch<k8s.V1Job>({
        kubeConfig: this.#kubeConfig,
        path: `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`,
        labelSelector: SCHEDULE_ID_LABEL,
        what: `Jobs in ${namespace}`,
        logger: this.#o.logger,
        watchTimeoutSeconds: this.#o.watchTimeoutSeconds ?? 25,
        list: async (stop) => {
          st.listedFrom = this.#o.now();
          const scope = deadline(stop, this.#requestTimeoutMs);
          try {
            const list = await this.#batch.listNamespacedJob(
              { namespace, labelSelector: SCHEDULE_ID_LABEL },
              withSignal(scope.signal),
            );
            return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
          } finally {
            scope.dispose();
          }
        },
        onSync: (jobs) => {
          this.#listed(st, jobs, signal);
          listed();
        },
        onEvent: (type, job) =>
          type === 'DELETED' ? this.#deleted(st, job, signal) : this.#changed(st, job, signal),
      }),
    };
    st.jobs.start();
    return st;
  }

  /** Replaces this namespace's part of the cache with a fresh list, then converges the runs. */
  #listed(st: NamespaceState, jobs: k8s.V1Job[], signal: AbortSignal): void {
    if (signal.aborted) return;
    const listedFrom = st.listedFrom;
    for (const t of [...this.#jobs.values()]) if (t.namespace === st.namespace) this.#forget(t);
    const listed: TrackedJob[] = [];
    for (const job of jobs) {
      const t = tracked(job);
      if (!t) continue;
      this.#remember(t);
      listed.push(t);
    }
    this.#o.logger.debug({ namespace: st.namespace, jobs: listed.length }, 'Jobs listed');
    const names = new Set(listed.map((t) => t.name));
    this.#enqueue(st, signal, async () => {
      for (const t of listed) await this.#converge(t, signal);
      for (const scheduleId of new Set(listed.map((t) => t.scheduleId)))
        await this.#prune(scheduleId, signal);
      // Runs that follow a Job this list does not hold: deleted while nobody watched. Only runs
      // handed off before the list began, or their Job may simply be newer than the list.
      for (const run of await this.#o.runs.jobRuns(st.namespace, listedFrom)) {
        if (signal.aborted || names.has(run.job.name)) continue;
        await this.#settle(
          signal,
          { scheduleId: run.scheduleId, runId: run.id, namespace: run.job.namespace, name: run.job.name },
          { status: 'failed', finishedAt: this.#o.now(), error: deletedError(run.job, false) },
        );
      }
    });
  }

  /** A Job added or changed: the cache follows at once; the run when its state moved. */
  #changed(st: NamespaceState, job: k8s.V1Job, signal: AbortSignal): void {
    const t = tracked(job);
    if (!t || signal.aborted) return;
    const before = this.#jobs.get(key(t.namespace, t.name));
    this.#remember(t);
    if (before && before.uid === t.uid && before.outcome.state === t.outcome.state) return;
    this.#enqueue(st, signal, async () => {
      await this.#converge(t, signal);
      if (t.outcome.state !== 'active') await this.#prune(t.scheduleId, signal);
    });
  }

  /** A Job deleted: finished, its run is settled from its last state; active, its run failed. */
  #deleted(st: NamespaceState, job: k8s.V1Job, signal: AbortSignal): void {
    const t = tracked(job);
    if (!t || signal.aborted) return;
    const known = this.#jobs.get(key(t.namespace, t.name));
    if (known && known.uid === t.uid) this.#forget(known);
    this.#tombstone(t.uid);
    const replaced = this.#replaced.delete(t.uid);
    this.#enqueue(st, signal, async () => {
      if (t.outcome.state !== 'active') return this.#converge(t, signal);
      await this.#settle(signal, t, {
        status: 'failed',
        finishedAt: this.#o.now(),
        error: deletedError(t, replaced),
      });
    });
  }

  // --- runs ------------------------------------------------------------------------

  /** Brings a Job's run in line with the Job. Idempotent: what is already recorded is not redone. */
  async #converge(t: TrackedJob, signal: AbortSignal): Promise<void> {
    if (signal.aborted || t.runId === null) return;
    const runId = t.runId;
    const job: JobRef = { namespace: t.namespace, name: t.name };
    const o = t.outcome;
    if (o.state === 'active') {
      // Only changes a run that does not know its Job yet: one left `unknown` by a leader that
      // died between creating the Job and recording the hand-off.
      const adopted = await this.#write(signal, () => this.#o.runs.adoptJob(runId, job, this.#o.now()));
      if (adopted) this.#o.logger.info({ runId, job: key(t.namespace, t.name) }, 'run follows its Job again');
      return;
    }
    const finishedAt = o.finishedAt ?? this.#o.now();
    if (o.state === 'succeeded') await this.#settle(signal, t, { status: 'succeeded', finishedAt });
    else
      await this.#settle(signal, t, {
        status: 'failed',
        finishedAt,
        error: failureError(t.namespace, t.name, o),
      });
  }

  async #settle(
    signal: AbortSignal,
    t: Pick<TrackedJob, 'scheduleId' | 'runId' | 'namespace' | 'name'>,
    s: { status: 'succeeded' | 'failed'; finishedAt: Date; error?: string },
  ): Promise<void> {
    const runId = t.runId;
    if (runId === null) return;
    const job = { namespace: t.namespace, name: t.name };
    const changed = await this.#write(signal, () => this.#o.runs.settleJob(runId, { ...s, job }));
    if (!changed) return;
    this.#o.logger.info(
      { runId, scheduleId: t.scheduleId, job: key(t.namespace, t.name), status: s.status, error: s.error },
      'run settled from its Job',
    );
    try {
      this.#o.onRunSettled?.(t.scheduleId, runId, s.status, s.error ?? null);
    } catch (err) {
      this.#o.logger.warn({ err, runId }, 'onRunSettled threw');
    }
  }

  /** History limits: keeps the newest finished Jobs of the schedule, deletes the rest. */
  async #prune(scheduleId: string, signal: AbortSignal): Promise<void> {
    const jobs = [...(this.#bySchedule.get(scheduleId)?.values() ?? [])];
    if (jobs.length === 0 || signal.aborted) return;
    // The newest Job carries the schedule's limits as they are now (the action sets them).
    const newest = jobs.reduce((a, b) => (b.order > a.order ? b : a));
    const finished = jobs.flatMap((t) =>
      t.outcome.state === 'active' ? [] : [{ name: t.name, state: t.outcome.state, order: t.order }],
    );
    const namespace = newest.namespace;
    for (const name of jobsToPrune(finished, newest.limits)) {
      if (signal.aborted) return;
      try {
        await this.#delete(namespace, name);
        // Gone (Background): not counted again by the next prune before the watch says so.
        const t = this.#jobs.get(key(namespace, name));
        if (t) {
          this.#forget(t);
          this.#tombstone(t.uid);
        }
        this.#o.logger.debug(
          { job: key(namespace, name), scheduleId },
          'finished Job pruned (history limit)',
        );
      } catch (err) {
        // The next Job that finishes tries again.
        this.#o.logger.warn({ err, job: key(namespace, name) }, 'pruning a finished Job failed');
      }
    }
  }

  /** Deletes a Job, propagation Background (its pods are removed by the garbage collector); 404 is done. */
  async #delete(namespace: string, name: string): Promise<void> {
    const scope = deadline(this.#ctrl?.signal, this.#requestTimeoutMs);
    try {
      await this.#batch.deleteNamespacedJob(
        { name, namespace, propagationPolicy: 'Background' },
        withSignal(scope.signal),
      );
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    } finally {
      scope.dispose();
    }
  }

  /** A write about a run, retried briefly; the caller's relist is the longer-term retry. */
  async #write<T>(signal: AbortSignal, f: () => Promise<T>): Promise<T> {
    for (let attempt = 1, delay = 100; ; attempt++, delay *= 2) {
      try {
        return await f();
      } catch (err) {
        if (attempt >= WRITE_ATTEMPTS || signal.aborted) throw err;
        await sleep(delay);
      }
    }
  }

  /**
   * Work on runs runs one step at a time per namespace. A step that fails (MongoDB away for
   * longer than #write waits) relists the namespace: the list converges every Job again.
   */
  #enqueue(st: NamespaceState, signal: AbortSignal, step: () => Promise<void>): void {
    st.work = st.work.then(async () => {
      if (signal.aborted) return;
      try {
        await step();
      } catch (err) {
        if (signal.aborted) return;
        this.#o.logger.warn({ err, namespace: st.namespace }, 'recording a Job run failed; relisting');
        st.jobs.relist();
      }
    });
  }

  // --- cache -----------------------------------------------------------------------

  #remember(t: TrackedJob): void {
    const k = key(t.namespace, t.name);
    const old = this.#jobs.get(k);
    if (old) this.#forget(old);
    this.#jobs.set(k, t);
    const forSchedule = this.#bySchedule.get(t.scheduleId) ?? new Map<string, TrackedJob>();
    this.#bySchedule.set(t.scheduleId, forSchedule);
    forSchedule.set(k, t);
  }

  #forget(t: TrackedJob): void {
    const k = key(t.namespace, t.name);
    if (this.#jobs.get(k) === t) this.#jobs.delete(k);
    const forSchedule = this.#bySchedule.get(t.scheduleId);
    if (forSchedule?.get(k) === t) {
      forSchedule.delete(k);
      if (forSchedule.size === 0) this.#bySchedule.delete(t.scheduleId);
    }
  }

  #tombstone(uid: string): void {
    if (uid === '') return;
    this.#tombstones.add(uid);
    if (this.#tombstones.size > TOMBSTONES) {
      const oldest = this.#tombstones.values().next().value;
      if (oldest !== undefined) this.#tombstones.delete(oldest);
    }
  }

  #clear(): void {
    this.#jobs.clear();
    this.#bySchedule.clear();
    this.#tombstones.clear();
    this.#replaced.clear();
  }
}

/** The cache's view of a Job; null for one without the schedule-id label (not ours). */
function tracked(job: k8s.V1Job): TrackedJob | null {
  const meta = job.metadata ?? {};
  const scheduleId = meta.labels?.[SCHEDULE_ID_LABEL];
  if (!scheduleId || !meta.name || !meta.namespace) return null;
  const annotations = meta.annotations ?? {};
  const order =
    toDate(annotations[SCHEDULED_TIMESTAMP_ANNOTATION])?.getTime() ??
    toDate(meta.creationTimestamp)?.getTime() ??
    0;
  return {
    namespace: meta.namespace,
    name: meta.name,
    uid: meta.uid ?? '',
    scheduleId,
    runId: annotations[RUN_ID_ANNOTATION] || null,
    order,
    limits: {
      succeeded: parseLimit(annotations[SUCCESSFUL_HISTORY_ANNOTATION], DEFAULT_HISTORY_LIMITS.succeeded),
      failed: parseLimit(annotations[FAILED_HISTORY_ANNOTATION], DEFAULT_HISTORY_LIMITS.failed),
    },
    outcome: jobOutcome(job.status),
  };
}

function deletedError(job: JobRef, replaced: boolean): string {
  const base = `Job ${key(job.namespace, job.name)} was deleted before it finished`;
  return replaced ? `${base}: leasecron deleted it for a newer run (concurrency=replace)` : base;
}

function statusOf(error: unknown): number | undefined {
  if (error instanceof k8s.ApiException) return error.code;
  const code = (error as { statusCode?: unknown; code?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}
