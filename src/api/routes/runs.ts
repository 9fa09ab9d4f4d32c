// Run history of a schedule and manual triggers. A trigger only records a pending
// manual run; the leader's engine picks it up, so any replica can accept it.
// Authorized as subresources: `get schedules/runs`, `create schedules/trigger`.
import type { Hono } from 'hono';
import { authorizedSchedule, readAuthorizedSchedule } from '../access.ts';
import { parsePageQuery } from '../params.ts';
import { runResource } from '../resources.ts';
import type { ApiDeps, AppEnv } from '../types.ts';
import { NS_SCHEDULE, SCHEDULE, SCHEDULES } from './schedules.ts';

export const RUNS = `${SCHEDULE}/runs`;
export const TRIGGER = `${SCHEDULE}/trigger`;
export const NS_RUNS = `${NS_SCHEDULE}/runs`;
export const NS_TRIGGER = `${NS_SCHEDULE}/trigger`;

export function registerRunRoutes(app: Hono<AppEnv>, deps: ApiDeps): void {
  const { now, auth } = deps;

  for (const [runsPath, triggerPath] of [
    [RUNS, TRIGGER],
    [NS_RUNS, NS_TRIGGER],
  ] as const) {
    app.get(runsPath, async (c) => {
      // Located, not decoded: a schedule whose stored document is broken still has a history
      // worth reading.
      const { id } = await authorizedSchedule(c, auth, 'get', 'runs');
      const query = parsePageQuery(c.req.queries());
      const page = await c.var.stores.runs.list(id, query);
      return c.json({ items: page.items.map(runResource), nextCursor: page.nextCursor });
    });

    app.post(triggerPath, async (c) => {
      const schedule = await readAuthorizedSchedule(c, auth, 'create', 'trigger');
      const { id, namespace } = schedule;
      const run = await c.var.stores.runs.requestManual(schedule, now());
      const base =
        c.req.param('namespace') === undefined ? SCHEDULES : `/api/v1/namespaces/${namespace}/schedules`;
      c.header('location', `${base}/${id}/runs`);
      return c.json(runResource(run), 202);
    });
  }
}
