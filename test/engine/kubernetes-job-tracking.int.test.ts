// kubernetesJob runs follow their Job to completion (issue 12), against the real API server and
// MongoDB: an Engine with a JobTracker, as main wires them on the leader. The test API server
// runs no kube-controller-manager, so Jobs never run by themselves: the test plays the Job
// controller and writes each Job's status subresource as it would (1.37 validates it: Complete
// needs startTime, completionTime and SuccessCriteriaMet first; Failed needs FailureTarget first).
import * as k8s from '@kubernetes/client-node';
import type { Db, MongoClient } from 'mongodb';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobName } from '../../src/actions/job-name.ts';
import {
  createKubernetesJobAction,
  FAILED_HISTORY_ANNOTATION,
  RUN_ID_ANNOTATION,
  SUCCESSFUL_HISTORY_ANNOTATION,
} from '../../src/actions/kubernetes-job-action.ts';
import { createActionRunner } from '../../src/actions/runner.ts';
import { Engine } from '../../src/engine/engine.ts';
import { JobTracker } from '../../src/jobs/job-tracker.ts';
import { type Schedule, validateScheduleInput } from '../../src/schedule/schema.ts';
import { ensureIndexes } from '../../src/store/indexes.ts';
import { MongoRunStore } from '../../src/store/mongo-run-store.ts';
import { MongoScheduleStore } from '../../src/store/mongo-schedule-store.ts';
import type { JobRef, Run } from '../../src/store/types.ts';
import { adminKubeConfig, createNamespace, freshDb } from '../helpers/clients.ts';
import { completeJob, failJob } from '../helpers/job-controller.ts';
import { until } from '../helpers/until.ts';

const logger = pino({ level: 'silent' });
let client: MongoClient;
let db: Db;
let schedules: MongoScheduleStore;
let runs: MongoRunStore;
let ns: string;
let batch: k8s.BatchV1Api;

const template = {
  metadata: { labels: { team: 'a' } },
  spec: {
    template: {
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'main', image: 'busybox:1.36', command: ['true'] }],
      },
    },
  },
};

interface Settled {
  scheduleId: string;
  runId: string;
  status: string;
  error: string | null;
}

/** One leader: an Engine and its JobTracker, wired as main does. */
function leader(identity: string) {
  const settled: Settled[] = [];
  const jobs = new JobTracker({
    kubeConfig: adminKubeConfig(),
    namespaces: [ns],
    runs,
    logger,
    now: () => new Date(),
    onRunSettled: (scheduleId, runId, status, error) => settled.push({ scheduleId, runId, status, error }),
  });
  const actions = createActionRunner({
    kubernetesJob: createKubernetesJobAction({
      batch,
      allowedNamespaces: [ns],
      onJob: (job) => jobs.observe(job),
    }),
  });
  const engine = new Engine({ schedules, runs, actions, identity, logger, now: () => new Date(), jobs });
  return {
    jobs,
    engine,
    settled,
    async start(epoch: number) {
      await jobs.start();
      await engine.start(epoch);
    },
    async stop() {
      await engine.stop();
      await jobs.stop();
    },
  };
}

async function create(
  name: string,
  extra: Record<string, unknown> = {},
  action: object = {},
): Promise<Schedule> {
  const r = validateScheduleInput({
    name,
    namespace: ns,
    schedule: { every: '1s' },
    action: { type: 'kubernetesJob', template, ...action },
    ...extra,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return schedules.create(r.value, new Date());
}

async function pause(s: Schedule): Promise<void> {
  const current = (await schedules.get(s.id))!;
  const { id: _i, version: _v, createdAt: _c, updatedAt: _u, ...input } = current;
  await schedules.replace(s.id, { ...input, paused: true }, { now: new Date() });
}

/** A one-shot schedule due shortly: exactly one occurrence. */
function soon(ms = 800): { at: string[] } {
  return { at: [new Date(Date.now() + ms).toISOString()] };
}

async function allRuns(scheduleId: string): Promise<Run[]> {
  return (await runs.list(scheduleId, { limit: 500 })).items;
}

async function jobsOf(scheduleId: string): Promise<k8s.V1Job[]> {
  const list = await batch.listNamespacedJob({
    namespace: ns,
    labelSelector: `leasecron.io/schedule-id=${scheduleId}`,
  });
  return list.items;
}

/**
 * What a leader (leader-a, epoch 1) does for one occurrence before it records the hand-off:
 * claims the run and creates its Job. Returns the Job.
 */
async function claimAndCreate(scheduleId: string, id: string, scheduledFor: Date): Promise<JobRef> {
  await runs.claim({
    id,
    scheduleId,
    scheduleName: scheduleId,
    scheduledFor,
    firedAt: new Date(),
    trigger: 'schedule',
    leader: 'leader-a',
    epoch: 1,
    status: 'running',
  });
  const action = createKubernetesJobAction({ batch, allowedNamespaces: [ns] });
  const ctx = {
    runId: id,
    scheduleId,
    scheduleName: scheduleId,
    namespace: ns,
    scheduledFor,
    signal: new AbortController().signal,
    logger,
  };
  const created = await action({ type: 'kubernetesJob', template }, ctx);
  return { namespace: ns, name: created.handedOff!.name };
}

const handedOffRun = (scheduleId: string) =>
  until(`a run handed off to its Job (${scheduleId})`, async () =>
    (await allRuns(scheduleId)).find((r) => r.status === 'running' && r.job !== null),
  );

const complete = (name: string) => completeJob(batch, ns, name);
const fail = (name: string, reason?: string, message?: string) => failJob(batch, ns, name, reason, message);

beforeAll(async () => {
  ({ client, db } = await freshDb('jobtrack'));
  await ensureIndexes(db, { runRetentionDays: 7 });
  schedules = new MongoScheduleStore(db);
  runs = new MongoRunStore(db);
  ns = await createNamespace('jobtrack');
  batch = adminKubeConfig().makeApiClient(k8s.BatchV1Api);
});
afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

describe('kubernetesJob runs follow their Job', () => {
  it('stays running until its Job completes; forbid skips while the Job is active', async () => {
    const l = leader('leader-a');
    await l.start(1);
    try {
      const s = await create('completes'); // every 1s, concurrency forbid (the default)
      const run = await handedOffRun(s.id);
      const name = jobName(s.name, run.scheduledFor);
      expect(run.job).toEqual({ namespace: ns, name });
      expect(run.response).toMatchObject({ statusCode: 201 });
      const [job] = await jobsOf(s.id);
      expect(job?.metadata?.annotations).toMatchObject({
        [RUN_ID_ANNOTATION]: run.id,
        [SUCCESSFUL_HISTORY_ANNOTATION]: '3',
        [FAILED_HISTORY_ANNOTATION]: '1',
      });

      // Every second another occurrence is due; while the Job is active each is skipped.
      const skipped = await until('two skipped occurrences', async () => {
        const r = (await allRuns(s.id)).filter((x) => x.status === 'skipped');
        return r.length >= 2 && r;
      });
      expect(skipped[0]?.error).toBe('a Job of this schedule is still active (concurrency=forbid)');
      expect(await jobsOf(s.id)).toHaveLength(1);
      expect((await runs.list(s.id, { limit: 500 })).items.find((r) => r.id === run.id)?.status).toBe(
        'running',
      );

      const completedAt = await complete(name);
      const done = await until('the run succeeded', async () =>
        (await allRuns(s.id)).find((r) => r.id === run.id && r.status === 'succeeded'),
      );
      expect(done.finishedAt).toEqual(completedAt);
      expect(done.error).toBeNull();
      expect(done.attempts).toBe(1); // the hand-off's record is kept
      expect(done.job).toEqual({ namespace: ns, name });
      expect(l.settled).toContainEqual({ scheduleId: s.id, runId: run.id, status: 'succeeded', error: null });

      // With the Job finished, the next occurrence creates the next Job.
      await until('a second Job', async () => (await jobsOf(s.id)).length >= 2);
      await pause(s);
    } finally {
      await l.stop();
    }
  });

  it("records a failed Job's reason; a Job deleted before it finished fails its run", async () => {
    const l = leader('leader-a');
    await l.start(1);
    try {
      const s = await create('fails', { schedule: soon() });
      const run = await handedOffRun(s.id);
      const name = run.job!.name;
      const failedAt = await fail(name);
      const done = await until('the run failed', async () =>
        (await allRuns(s.id)).find((r) => r.id === run.id && r.status === 'failed'),
      );
      expect(done.error).toBe(
        `Job ${ns}/${name} failed: BackoffLimitExceeded: Job has reached the specified backoff limit`,
      );
      expect(done.finishedAt).toEqual(failedAt);

      const gone = await create('deleted', { schedule: soon() });
      const goneRun = await handedOffRun(gone.id);
      await batch.deleteNamespacedJob({
        name: goneRun.job!.name,
        namespace: ns,
        propagationPolicy: 'Background',
      });
      const deleted = await until('the run failed', async () =>
        (await allRuns(gone.id)).find((r) => r.status === 'failed'),
      );
      expect(deleted.error).toBe(`Job ${ns}/${goneRun.job!.name} was deleted before it finished`);
    } finally {
      await l.stop();
    }
  });

  it('replace deletes the active Job before the new one is created', async () => {
    const l = leader('leader-a');
    await l.start(1);
    try {
      const s = await create('replaces', { concurrency: 'replace' });
      const first = await handedOffRun(s.id);
      const replaced = await until('the first run failed as replaced', async () =>
        (await allRuns(s.id)).find((r) => r.id === first.id && r.status === 'failed'),
      );
      expect(replaced.error).toBe(
        `Job ${ns}/${first.job!.name} was deleted before it finished: leasecron deleted it for a newer run (concurrency=replace)`,
      );
      await pause(s);
      // Let the fire in flight (if any) land, then: only the newest Job is left, and it is active.
      await new Promise((r) => setTimeout(r, 1500));
      const left = await jobsOf(s.id);
      expect(left).toHaveLength(1);
      const newest = (await allRuns(s.id)).find((r) => r.job?.name === left[0]?.metadata?.name);
      expect(newest?.status).toBe('running');
      expect(l.jobs.active(s.id)).toBe(1);
    } finally {
      await l.stop();
    }
  });

  it('keeps exactly the history limits of finished Jobs; ttlSecondsAfterFinished is passed on', async () => {
    const l = leader('leader-a');
    await l.start(1);
    try {
      const s = await create(
        'history',
        { concurrency: 'allow' },
        {
          template: { ...template, spec: { ...template.spec, ttlSecondsAfterFinished: 3600 } },
          successfulJobsHistoryLimit: 2,
          failedJobsHistoryLimit: 1,
        },
      );
      await until('five Jobs', async () => (await jobsOf(s.id)).length >= 5);
      await pause(s);
      await new Promise((r) => setTimeout(r, 1500)); // a fire in flight lands
      const all = (await jobsOf(s.id)).sort(
        (a, b) => Number(a.metadata!.name!.split('-').pop()) - Number(b.metadata!.name!.split('-').pop()),
      );
      expect(all.every((j) => j.spec?.ttlSecondsAfterFinished === 3600)).toBe(true);
      const names = all.map((j) => j.metadata!.name!);
      const succeeded = names.slice(0, -2);
      const failed = names.slice(-2);
      for (const n of succeeded) await complete(n);
      for (const n of failed) await fail(n);
      const expected = [...succeeded.slice(-2), ...failed.slice(-1)].sort();
      await until('only the newest 2 succeeded and 1 failed Jobs', async () => {
        const left = (await jobsOf(s.id)).map((j) => j.metadata!.name!).sort();
        return JSON.stringify(left) === JSON.stringify(expected);
      });
      await new Promise((r) => setTimeout(r, 500)); // and no more are deleted
      expect((await jobsOf(s.id)).map((j) => j.metadata!.name!).sort()).toEqual(expected);
      const statuses = (await allRuns(s.id)).map((r) => r.status);
      expect(statuses.filter((x) => x === 'succeeded')).toHaveLength(succeeded.length);
      expect(statuses.filter((x) => x === 'failed')).toHaveLength(2);
    } finally {
      await l.stop();
    }
  });

  it("a new leader picks up a still-running Job's run and settles it when the Job completes", async () => {
    const a = leader('leader-a');
    await a.start(1);
    const s = await create('failover', { schedule: soon() });
    let run: Run;
    try {
      run = await handedOffRun(s.id);
    } finally {
      await a.stop();
    }
    const b = leader('leader-b');
    await b.start(2);
    try {
      // settleOrphans ran in b's start: a run that follows a Job is not an orphan.
      const after = (await allRuns(s.id)).find((r) => r.id === run.id);
      expect(after?.status).toBe('running');
      expect(b.jobs.active(s.id)).toBe(1);
      await complete(run.job!.name);
      await until('b settled the run', async () =>
        (await allRuns(s.id)).find((r) => r.id === run.id && r.status === 'succeeded'),
      );
      expect(b.settled).toContainEqual({ scheduleId: s.id, runId: run.id, status: 'succeeded', error: null });
    } finally {
      await b.stop();
    }
  });

  it('a run left unknown before its hand-off was recorded follows its Job; one whose Job vanished fails', async () => {
    // Leader a (epoch 1) claims and creates the Job, then dies before recording the hand-off.
    const scheduledFor = new Date(Math.floor(Date.now() / 1000) * 1000);
    const orphanId = `orphan-${Date.now()}`;
    const created = await claimAndCreate('orphan', orphanId, scheduledFor);
    expect(created.name).toBe(jobName('orphan', scheduledFor));
    // And a run handed off whose Job is deleted while no leader watches.
    const vanishedId = `vanished-${Date.now()}`;
    const vJob = await claimAndCreate('vanished', vanishedId, scheduledFor);
    await runs.handOff(vanishedId, { job: vJob, attempts: 1 }, new Date());
    await batch.deleteNamespacedJob({ name: vJob.name, namespace: ns, propagationPolicy: 'Background' });

    // The next leader: settleOrphans marks the first unknown (no Job recorded), not the second.
    await runs.settleOrphans({ leader: 'leader-b', epoch: 2 }, new Date());
    expect((await allRuns('orphan'))[0]?.status).toBe('unknown');
    expect((await allRuns('vanished'))[0]?.status).toBe('running');
    const tracker = new JobTracker({
      kubeConfig: adminKubeConfig(),
      namespaces: [ns],
      runs,
      logger,
      now: () => new Date(),
    });
    await tracker.start();
    try {
      const adopted = await until('the unknown run follows its Job', async () =>
        (await allRuns('orphan')).find((r) => r.status === 'running' && r.job !== null),
      );
      expect(adopted).toMatchObject({ id: orphanId, finishedAt: null, error: null });
      expect(adopted.job).toEqual({ namespace: ns, name: jobName('orphan', scheduledFor) });
      const vanished = await until('the vanished Job failed its run', async () =>
        (await allRuns('vanished')).find((r) => r.status === 'failed'),
      );
      expect(vanished.error).toBe(`Job ${ns}/${vJob.name} was deleted before it finished`);
      await complete(adopted.job!.name);
      await until('the adopted run succeeded', async () =>
        (await allRuns('orphan')).find((r) => r.status === 'succeeded'),
      );
    } finally {
      await tracker.stop();
    }
  });

  it('a run whose settling writes are refused at first is still settled (retried, or by a relist)', async () => {
    const id = `flaky-${Date.now()}`;
    const job = await claimAndCreate('flaky', id, new Date(Math.floor(Date.now() / 1000) * 1000));
    await runs.handOff(id, { job, attempts: 1 }, new Date());
    // MongoDB refuses the first 5 writes of the settling: all that one event's write retries.
    let refused = 0;
    let lists = 0;
    const tracker = new JobTracker({
      kubeConfig: adminKubeConfig(),
      namespaces: [ns],
      runs: {
        adoptJob: (...a) => runs.adoptJob(...a),
        settleJob: async (...a) => {
          if (a[0] === id && refused < 5) {
            refused++;
            throw new Error('MongoDB is away');
          }
          return runs.settleJob(...a);
        },
        jobRuns: (...a) => {
          lists++; // once per (re)list
          return runs.jobRuns(...a);
        },
      },
      logger,
      now: () => new Date(),
    });
    await tracker.start();
    try {
      await until('the first list handled', async () => lists === 1);
      await complete(job.name);
      const done = await until('the run succeeded', async () =>
        (await allRuns('flaky')).find((r) => r.id === id && r.status === 'succeeded'),
      );
      expect(done.job).toEqual(job);
      expect(refused).toBeGreaterThanOrEqual(1); // settled although its writes were refused
      expect(lists).toBeGreaterThanOrEqual(1);
    } finally {
      await tracker.stop();
    }
  });
});
