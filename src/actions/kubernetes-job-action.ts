// The `kubernetesJob` action: create a batch/v1 Job from the schedule's template,
// named per occurrence (job-name.ts) and annotated with the occurrence time as the
// CronJob controller does. A 409 means this occurrence's Job already exists: that
// is success, never a second Job. Either way the run is handed off to the Job
// (`handedOff`): the engine records that, and src/jobs/job-tracker.ts settles the
// run when the Job finishes. The action only creates; it never records itself.
import * as k8s from '@kubernetes/client-node';
import { DEFAULT_HISTORY_LIMITS } from '../jobs/job-status.ts';
import { jobName } from './job-name.ts';
import type { ActionContext, ActionResult, KubernetesJobActionConfig } from './types.ts';

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** On every Job leasecron creates: which schedule it belongs to. */
export const SCHEDULE_ID_LABEL = 'leasecron.io/schedule-id';
/** On every Job leasecron creates: the run that created it, which the Job's end settles. */
export const RUN_ID_ANNOTATION = 'leasecron.io/run-id';
/**
 * The schedule's history limits as they were when the Job was created: the JobTracker prunes by
 * those of the schedule's newest Job, so it needs no schedule lookup (and a new leader neither).
 */
export const SUCCESSFUL_HISTORY_ANNOTATION = 'leasecron.io/successful-jobs-history-limit';
export const FAILED_HISTORY_ANNOTATION = 'leasecron.io/failed-jobs-history-limit';

export interface KubernetesJobOptions {
  batch: k8s.BatchV1Api;
  /** namespaces this operator may create Jobs in */
  allowedNamespaces: readonly string[];
  /**
   * Told, synchronously and before the action returns, of the Job a run now follows (created, or
   * found by a 409): the JobTracker counts it active at once, so concurrency=forbid holds even
   * for a fire that comes before the watch event does.
   */
  onJob?: (job: k8s.V1Job) => void;
}

function handedOff(namespace: string, name: string): ActionResult['handedOff'] {
  return { kind: 'Job', namespace, name };
}

/**
 * A 409: a Job of that name exists. It is this occurrence's (created by an earlier attempt or a
 * previous leader) only when it carries this schedule's id; a Job of the same name from another
 * schedule (one deleted and created again under the same name, or a Job made by hand) must not
 * count as this run's success.
 */
async function alreadyExists(
  opts: KubernetesJobOptions,
  namespace: string,
  name: string,
  ctx: ActionContext,
  durationMs: () => number,
): Promise<ActionResult> {
  let owner: string | undefined;
  let existing: k8s.V1Job;
  try {
    existing = await opts.batch.readNamespacedJob({ name, namespace });
    owner = existing.metadata?.labels?.[SCHEDULE_ID_LABEL];
  } catch (err) {
    const why = err instanceof k8s.ApiException ? `HTTP ${err.code}` : (err as Error).message;
    return {
      status: 'failed',
      attempts: 1,
      error: `Job ${namespace}/${name} already exists and could not be read (${why})`,
      response: { statusCode: 409, durationMs: durationMs() },
    };
  }
  if (owner === ctx.scheduleId) {
    opts.onJob?.(existing);
    return {
      status: 'succeeded',
      attempts: 1,
      response: { statusCode: 409, durationMs: durationMs(), summary: `${namespace}/${name} already exists` },
      handedOff: handedOff(namespace, name),
    };
  }
  return {
    status: 'failed',
    attempts: 1,
    error: `Job ${namespace}/${name} already exists and belongs to ${owner ? `schedule ${owner}` : 'no leasecron schedule'}, not to this one`,
    response: { statusCode: 409, durationMs: durationMs() },
  };
}

export function createKubernetesJobAction(opts: KubernetesJobOptions) {
  return async (action: KubernetesJobActionConfig, ctx: ActionContext): Promise<ActionResult> => {
    const started = performance.now();
    // A Job runs in its schedule's namespace only (issue 11): whoever may create Jobs there is
    // who may create the schedule, so leasecron never creates a Job for someone elsewhere.
    const namespace = ctx.namespace;
    if (action.namespace !== undefined && action.namespace !== namespace) {
      return {
        status: 'failed',
        attempts: 0,
        error: `the action names namespace '${action.namespace}', but the schedule is in '${namespace}': a Job runs in its schedule's namespace only`,
      };
    }
    if (!opts.allowedNamespaces.includes(namespace)) {
      return {
        status: 'failed',
        attempts: 0,
        error: `namespace '${namespace}' is not in JOB_NAMESPACES (${opts.allowedNamespaces.join(', ')})`,
      };
    }
    const template = action.template as { metadata?: k8s.V1ObjectMeta; spec: k8s.V1JobSpec };
    const name = jobName(ctx.scheduleName, ctx.scheduledFor);
    const body: k8s.V1Job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        ...template.metadata,
        name,
        namespace,
        labels: {
          ...template.metadata?.labels,
          'app.kubernetes.io/managed-by': 'leasecron',
          [SCHEDULE_ID_LABEL]: ctx.scheduleId,
        },
        annotations: {
          ...template.metadata?.annotations,
          [SCHEDULED_TIMESTAMP_ANNOTATION]: ctx.scheduledFor.toISOString(),
          [RUN_ID_ANNOTATION]: ctx.runId,
          [SUCCESSFUL_HISTORY_ANNOTATION]: String(
            action.successfulJobsHistoryLimit ?? DEFAULT_HISTORY_LIMITS.succeeded,
          ),
          [FAILED_HISTORY_ANNOTATION]: String(action.failedJobsHistoryLimit ?? DEFAULT_HISTORY_LIMITS.failed),
        },
      },
      spec: template.spec,
    };
    const durationMs = () => Math.round(performance.now() - started);
    try {
      const created = await opts.batch.createNamespacedJob({ namespace, body });
      opts.onJob?.(created);
      ctx.logger.info({ scheduleId: ctx.scheduleId, job: `${namespace}/${name}` }, 'job created');
      return {
        status: 'succeeded',
        attempts: 1,
        response: { statusCode: 201, durationMs: durationMs(), summary: `${namespace}/${name}` },
        handedOff: handedOff(namespace, name),
      };
    } catch (err) {
      if (err instanceof k8s.ApiException) {
        if (err.code === 409) return alreadyExists(opts, namespace, name, ctx, durationMs);
        const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
        return {
          status: 'failed',
          attempts: 1,
          error: `creating Job ${namespace}/${name} failed: HTTP ${err.code}`,
          response: { statusCode: err.code, durationMs: durationMs(), summary: body.slice(0, 512) },
        };
      }
      return {
        status: 'failed',
        attempts: 1,
        error: `creating Job ${namespace}/${name} failed: ${(err as Error).message}`,
      };
    }
  };
}
