// The kubernetesJob action against the real API server: one Job per occurrence,
// annotated like CronJob's; a second create of the same occurrence is a 409 that
// counts as success, not a second Job; namespaces outside JOB_NAMESPACES refused.
// How runs then follow their Job: kubernetes-job-tracking.int.test.ts.
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { jobName } from '../../src/actions/job-name.ts';
import {
  createKubernetesJobAction,
  SCHEDULED_TIMESTAMP_ANNOTATION,
} from '../../src/actions/kubernetes-job-action.ts';
import type { KubernetesJobActionConfig } from '../../src/actions/types.ts';
import { adminKubeConfig, createNamespace } from '../helpers/clients.ts';

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

describe('kubernetesJob action', () => {
  it('creates one Job per occurrence and treats a repeat as already done', async () => {
    const ns = await createNamespace('jobs');
    const batch = adminKubeConfig().makeApiClient(k8s.BatchV1Api);
    const told: string[] = [];
    const run = createKubernetesJobAction({
      batch,
      allowedNamespaces: [ns, 'elsewhere'],
      onJob: (job) => told.push(String(job.metadata?.name)),
    });
    const action: KubernetesJobActionConfig = { type: 'kubernetesJob', template };
    const scheduledFor = new Date('2026-11-23T10:00:00Z');
    const ctx = {
      runId: 'run-1',
      scheduleId: 'sched-1',
      scheduleName: 'nightly',
      namespace: ns,
      scheduledFor,
      signal: new AbortController().signal,
      logger: pino({ level: 'silent' }),
    };
    // The run is handed off to the Job (the engine records that; the JobTracker settles it),
    // and the tracker is told of the Job before the action returns.
    const name = jobName('nightly', scheduledFor);
    const first = await run(action, ctx);
    expect(first).toMatchObject({
      status: 'succeeded',
      response: { statusCode: 201 },
      handedOff: { kind: 'Job', namespace: ns, name },
    });
    const second = await run(action, { ...ctx, runId: 'run-2' });
    expect(second).toMatchObject({
      status: 'succeeded',
      response: { statusCode: 409 },
      handedOff: { kind: 'Job', namespace: ns, name },
    });
    expect(told).toEqual([name, name]);
    const jobs = await batch.listNamespacedJob({ namespace: ns });
    expect(jobs.items.map((j) => j.metadata?.name)).toEqual([jobName('nightly', scheduledFor)]);
    const job = jobs.items[0]!;
    expect(job.metadata?.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION]).toBe('2026-11-23T10:00:00.000Z');
    expect(job.metadata?.annotations?.['leasecron.io/run-id']).toBe('run-1');
    expect(job.metadata?.labels).toMatchObject({ team: 'a', 'leasecron.io/schedule-id': 'sched-1' });

    // A Job runs in its schedule's namespace only: an action naming another is refused (the
    // API refuses such a schedule too; this is a document written around it), and the
    // schedule's namespace must be one the operator may create Jobs in.
    const elsewhere = await run({ ...action, namespace: 'elsewhere' }, ctx);
    expect(elsewhere.status).toBe('failed');
    expect(elsewhere.error).toMatch(/runs in its schedule's namespace only/);
    const refused = await run(action, { ...ctx, namespace: 'kube-system' });
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatch(/JOB_NAMESPACES/);
    const jobsAfter = await batch.listNamespacedJob({ namespace: ns });
    expect(jobsAfter.items).toHaveLength(1);
    // The same name from another schedule (deleted and created again under its name, or a Job
    // made by hand) is not this run's Job: a failure, not a success.
    const other = await run(action, { ...ctx, scheduleId: 'sched-2', runId: 'run-3' });
    expect(other.status).toBe('failed');
    expect(other.error).toMatch(/belongs to schedule sched-1, not to this one/);
    expect(other.handedOff).toBeUndefined();
    const byHand = new Date('2026-11-23T11:00:00Z');
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: jobName('nightly', byHand) },
        spec: (template as { spec: k8s.V1JobSpec }).spec,
      },
    });
    const handMade = await run(action, { ...ctx, scheduledFor: byHand, runId: 'run-4' });
    expect(handMade.status).toBe('failed');
    expect(handMade.error).toMatch(/belongs to no leasecron schedule/);

    const invalid = await run(
      { type: 'kubernetesJob', template: { spec: {} } },
      { ...ctx, scheduledFor: new Date() },
    );
    expect(invalid).toMatchObject({ status: 'failed', response: { statusCode: 422 } });
  });
});
