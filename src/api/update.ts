// Read-modify-write of one schedule (PATCH, pause, resume) as a conditional replace
// on the version read, so a concurrent write is never lost. With If-Match a stale
// version is a 412; without it a lost race is retried, then reported as a 409.
import { isDeepStrictEqual } from 'node:util';
import type { Schedule, ScheduleInput } from '../schedule/schema.ts';
import { NotFoundError, VersionConflictError } from '../store/errors.ts';
import type { ScheduleStore } from '../store/types.ts';
import { ApiError } from './problem.ts';
import { inputRepresentation } from './resources.ts';

export const MAX_ATTEMPTS = 3;

/**
 * `change` maps the stored schedule to its new input (throwing an ApiError for a bad
 * one); when the result equals what is stored, nothing is written.
 */
export async function updateSchedule(
  store: ScheduleStore,
  id: string,
  ifMatch: number | undefined,
  now: () => Date,
  change: (current: Schedule) => ScheduleInput | Promise<ScheduleInput>,
): Promise<Schedule> {
  for (let attempt = 1; ; attempt++) {
    const current = await store.get(id);
    if (!current) throw new NotFoundError(id);
    if (ifMatch !== undefined && ifMatch !== current.version)
      throw new VersionConflictError(ifMatch, current.version);
    const input = await change(current);
    if (unchanged(current, input)) return current;
    try {
      return await store.replace(id, input, { ifVersion: current.version, now: now() });
    } catch (err) {
      if (!(err instanceof VersionConflictError) || ifMatch !== undefined) throw err;
      if (attempt >= MAX_ATTEMPTS)
        throw new ApiError(
          409,
          `the schedule changed concurrently ${MAX_ATTEMPTS} times; retry the request`,
          {
            cause: err,
          },
        );
    }
  }
}

function unchanged(current: Schedule, input: ScheduleInput): boolean {
  const next: Schedule = {
    ...input,
    namespace: current.namespace,
    id: current.id,
    version: current.version,
    createdAt: current.createdAt,
    updatedAt: current.updatedAt,
  };
  return isDeepStrictEqual(inputRepresentation(current), inputRepresentation(next));
}
