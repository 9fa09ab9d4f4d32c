// The demo action: proves a schedule fired by writing one structured log line and nothing else.
import type { ActionContext, ActionResult, LogActionConfig } from './types.ts';

export async function runLogAction(action: LogActionConfig, ctx: ActionContext): Promise<ActionResult> {
  ctx.logger.info(
    {
      scheduleId: ctx.scheduleId,
      scheduleName: ctx.scheduleName,
      scheduledFor: ctx.scheduledFor.toISOString(),
      runId: ctx.runId,
      message: action.message,
    },
    'schedule fired',
  );
  return { status: 'succeeded', attempts: 1 };
}
