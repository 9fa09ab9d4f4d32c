// The test stack runs no kube-controller-manager, so no Job ever runs by itself: tests act as
// the Job controller, writing a Job's status through the real API server the way it would.
// v1.37 validates Job status strictly: Complete needs startTime, completionTime and
// SuccessCriteriaMet first; Failed needs startTime and FailureTarget first.
import type * as k8s from '@kubernetes/client-node';

async function writeStatus(batch: k8s.BatchV1Api, namespace: string, name: string, status: k8s.V1JobStatus) {
  const job = await batch.readNamespacedJob({ name, namespace });
  await batch.replaceNamespacedJobStatus({ name, namespace, body: { ...job, status } });
}

const condition = (type: string, at: Date, reason: string, message: string): k8s.V1JobCondition => ({
  type,
  status: 'True',
  lastTransitionTime: at,
  reason,
  message,
});

/** Marks a Job Complete; returns the completion time (whole seconds, as the API server keeps it). */
export async function completeJob(batch: k8s.BatchV1Api, namespace: string, name: string): Promise<Date> {
  const at = new Date(Math.floor(Date.now() / 1000) * 1000);
  const why = 'Reached expected number of succeeded pods';
  await writeStatus(batch, namespace, name, {
    startTime: new Date(at.getTime() - 1000),
    completionTime: at,
    succeeded: 1,
    conditions: [
      condition('SuccessCriteriaMet', at, 'CompletionsReached', why),
      condition('Complete', at, 'CompletionsReached', why),
    ],
  });
  return at;
}

/** Marks a Job Failed with `reason`; returns the time of failure (whole seconds). */
export async function failJob(
  batch: k8s.BatchV1Api,
  namespace: string,
  name: string,
  reason = 'BackoffLimitExceeded',
  message = 'Job has reached the specified backoff limit',
): Promise<Date> {
  const at = new Date(Math.floor(Date.now() / 1000) * 1000);
  await writeStatus(batch, namespace, name, {
    startTime: new Date(at.getTime() - 1000),
    failed: 1,
    conditions: [condition('FailureTarget', at, reason, message), condition('Failed', at, reason, message)],
  });
  return at;
}
