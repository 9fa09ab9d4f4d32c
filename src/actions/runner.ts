// The one entry point the engine calls to execute a schedule's action. It picks the handler by
// type and guarantees a result: handlers that throw become `failed`, so the engine can always
// finish the run document.
import { runHttpAction } from './http-action.ts';
import { runLogAction } from './log-action.ts';
import type {
  ActionConfig,
  ActionContext,
  ActionHandler,
  ActionResult,
  ActionRunner,
  HttpActionConfig,
  KubernetesJobActionConfig,
} from './types.ts';

export const KUBERNETES_JOB_DISABLED = 'kubernetesJob actions are not enabled in this build';

export interface ActionRunnerDeps {
  /** Defaults to the real-network handler with the built-in egress refusals; main passes the configured policy. */
  http?: ActionHandler<HttpActionConfig>;
  /** Without it, kubernetesJob actions fail with KUBERNETES_JOB_DISABLED. */
  kubernetesJob?: ActionHandler<KubernetesJobActionConfig>;
}

export function createActionRunner(deps: ActionRunnerDeps = {}): ActionRunner {
  const http = deps.http ?? runHttpAction;
  const kubernetesJob = deps.kubernetesJob;

  const dispatch = (action: ActionConfig, ctx: ActionContext): Promise<ActionResult> => {
    switch (action.type) {
      case 'log':
        return runLogAction(action, ctx);
      case 'http':
        return http(action, ctx);
      case 'kubernetesJob':
        if (!kubernetesJob)
          return Promise.resolve({ status: 'failed', attempts: 0, error: KUBERNETES_JOB_DISABLED });
        return kubernetesJob(action, ctx);
      default: {
        const unknown: { type?: unknown } = action;
        return Promise.resolve({
          status: 'failed',
          attempts: 0,
          error: `unknown action type: ${String(unknown.type)}`,
        });
      }
    }
  };

  return {
    async run(action, ctx) {
      try {
        const result = await dispatch(action, ctx);
        // The one line an operator needs for a run that gave up: every attempt failed (or none was
        // allowed), with the reason. Not for a run stopped from outside (the engine records why).
        if (result.status === 'failed' && !ctx.signal.aborted)
          ctx.logger.warn(
            {
              runId: ctx.runId,
              scheduleId: ctx.scheduleId,
              scheduleName: ctx.scheduleName,
              scheduledFor: ctx.scheduledFor.toISOString(),
              action: action.type,
              attempts: result.attempts,
              ...(result.response?.statusCode !== undefined
                ? { statusCode: result.response.statusCode }
                : {}),
              error: result.error,
            },
            'run failed',
          );
        return result;
      } catch (err) {
        ctx.logger.error({ err, runId: ctx.runId, scheduleId: ctx.scheduleId }, 'action threw');
        return { status: 'failed', attempts: 0, error: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}
