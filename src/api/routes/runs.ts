// Run history of a schedule and manual triggers. A trigger only records a pending
// manual run; the leader's engine picks it up, so any replica can accept it.
import type { Hono } from 'hono';
import { InvalidStoredScheduleError, NotFoundError } from '../../store/errors.ts';
import { parseId, parsePageQuery } from '../params.ts';
import { runResource } from '../resources.ts';
import type { ApiDeps, AppEnv } from '../types.ts';
import { SCHEDULE, SCHEDULES } from './schedules.ts';

export const RUNS = `${SCHEDULE}/runs`;
export const TRIGGER = `${SCHEDULE}/trigger`;

export function registerRunRoutes(app: Hono<AppEnv>, deps: ApiDeps): void {
  const { now } = deps;

  app.get(RUNS, async (c) => {
    const id = parseId(c.req.param('id'));
    const query = parsePageQuery(c.req.queries());
    const { schedules, runs } = c.var.stores;
    const exists = await schedules.get(id).then(
      (s) => s !== null,
      // A schedule whose stored document is broken still has a history worth reading.
      (err: unknown) => {
        if (err instanceof InvalidStoredScheduleError) return true;
        throw err;
      },
    );
    if (!exists) throw new NotFoundError(id);
    const page = await runs.list(id, query);
    return c.json({ items: page.items.map(runResource), nextCursor: page.nextCursor });
  });

  app.post(TRIGGER, async (c) => {
    const id = parseId(c.req.param('id'));
    const { schedules, runs } = c.var.stores;
    const schedule = await schedules.get(id);
    if (!schedule) throw new NotFoundError(id);
    const run = await runs.requestManual(schedule, now());
    c.header('location', `${SCHEDULES}/${id}/runs`);
    return c.json(runResource(run), 202);
  });
}
