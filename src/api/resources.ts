// Stored records → JSON resources. `nextRunAt` is computed per response at deps.now(),
// counting claimed runs only for schedules that have a maxRuns (one extra read each).
import { nextRunAt } from '../schedule/occurrences.ts';
import {
  type Schedule,
  type ScheduleInput,
  type ScheduleResponse,
  toScheduleResponse,
} from '../schedule/schema.ts';
import type { Run, RunStore } from '../store/types.ts';
import type { RunResponse } from './schemas.ts';

export async function scheduleResource(
  schedule: Schedule,
  runs: RunStore,
  now: Date,
): Promise<ScheduleResponse> {
  const runsSoFar = schedule.maxRuns === null ? 0 : await runs.claimedCount(schedule.id);
  return toScheduleResponse(schedule, nextRunAt(schedule, now, runsSoFar));
}

export function runResource(run: Run): RunResponse {
  return {
    ...run,
    scheduledFor: run.scheduledFor.toISOString(),
    createdAt: run.createdAt.toISOString(),
    firedAt: run.firedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
  };
}

const SERVER_FIELDS = ['id', 'version', 'createdAt', 'updatedAt', 'nextRunAt', 'source'] as const;

/** The schedule as a client would PUT it: what PATCH merges into. */
export function inputRepresentation(schedule: Schedule): Record<string, unknown> {
  const body: Record<string, unknown> = { ...toScheduleResponse(schedule, null) };
  for (const field of SERVER_FIELDS) delete body[field];
  return body;
}

/** The stored schedule without its server fields, as the store's replace() takes it. */
export function storedInput(schedule: Schedule): ScheduleInput {
  const { id: _id, version: _v, createdAt: _c, updatedAt: _u, source: _s, ...input } = schedule;
  return input;
}
