// /api/v1/schedules and /api/v1/schedules/{id}: CRUD, merge patch, pause/resume.
// Every body and parameter is checked before the store is called, so a 4xx never writes.
import type { Context, Hono } from 'hono';
import { type ScheduleInput, type ValidationOptions, validateScheduleInput } from '../../schedule/schema.ts';
import { NotFoundError } from '../../store/errors.ts';
import { JSON_TYPES, limitBody, MERGE_PATCH_TYPES, readJsonBody } from '../body.ts';
import { etagOf, parseIfMatch } from '../if-match.ts';
import { applyMergePatch } from '../merge-patch.ts';
import { parseId, parseListQuery } from '../params.ts';
import { ApiError } from '../problem.ts';
import { inputRepresentation, scheduleResource, storedInput } from '../resources.ts';
import type { ApiDeps, AppEnv } from '../types.ts';
import { updateSchedule } from '../update.ts';

export const SCHEDULES = '/api/v1/schedules';
export const SCHEDULE = '/api/v1/schedules/:id';

function validated(body: unknown, options: ValidationOptions): ScheduleInput {
  const result = validateScheduleInput(body, options);
  if (result.ok) return result.value;
  const fields = result.errors.map((e) => e.field || '(body)').join(', ');
  throw new ApiError(400, `the schedule is not valid: ${fields}`, { errors: result.errors });
}

export function registerScheduleRoutes(app: Hono<AppEnv>, deps: ApiDeps): void {
  const { now } = deps;
  const limit = limitBody(deps.config.bodyLimitBytes);
  const rules: ValidationOptions = deps.config.egress ? { egress: deps.config.egress } : {};

  const respond = async (
    c: Context<AppEnv>,
    schedule: Parameters<typeof scheduleResource>[0],
    status: 200 | 201,
  ) => {
    c.header('etag', etagOf(schedule.version));
    return c.json(await scheduleResource(schedule, c.var.stores.runs, now()), status);
  };

  app.get(SCHEDULES, async (c) => {
    const { schedules, runs } = c.var.stores;
    const query = parseListQuery(c.req.queries());
    const page = await schedules.list(query);
    const at = now();
    const items = await Promise.all(page.items.map((s) => scheduleResource(s, runs, at)));
    return c.json({ items, nextCursor: page.nextCursor });
  });

  app.post(SCHEDULES, limit, async (c) => {
    const input = validated(await readJsonBody(c, JSON_TYPES), rules);
    const created = await c.var.stores.schedules.create(input, now());
    c.header('location', `${SCHEDULES}/${created.id}`);
    return respond(c, created, 201);
  });

  app.get(SCHEDULE, async (c) => {
    const id = parseId(c.req.param('id'));
    const schedule = await c.var.stores.schedules.get(id);
    if (!schedule) throw new NotFoundError(id);
    return respond(c, schedule, 200);
  });

  app.put(SCHEDULE, limit, async (c) => {
    const id = parseId(c.req.param('id'));
    const ifMatch = parseIfMatch(c.req.header('if-match'));
    const input = validated(await readJsonBody(c, JSON_TYPES), rules);
    const replaced = await c.var.stores.schedules.replace(id, input, { ifVersion: ifMatch, now: now() });
    return respond(c, replaced, 200);
  });

  app.patch(SCHEDULE, limit, async (c) => {
    const id = parseId(c.req.param('id'));
    const ifMatch = parseIfMatch(c.req.header('if-match'));
    const patch = await readJsonBody(c, MERGE_PATCH_TYPES);
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
      throw new ApiError(400, 'a merge patch must be a JSON object', {
        errors: [{ field: '', message: 'expected a JSON object' }],
      });
    const updated = await updateSchedule(c.var.stores.schedules, id, ifMatch, now, (current) =>
      validated(applyMergePatch(inputRepresentation(current), patch), rules),
    );
    return respond(c, updated, 200);
  });

  app.delete(SCHEDULE, async (c) => {
    const id = parseId(c.req.param('id'));
    const ifMatch = parseIfMatch(c.req.header('if-match'));
    if (!(await c.var.stores.schedules.delete(id, { ifVersion: ifMatch }))) throw new NotFoundError(id);
    return c.body(null, 204);
  });

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(`${SCHEDULE}/${action}`, async (c) => {
      const id = parseId(c.req.param('id'));
      const ifMatch = parseIfMatch(c.req.header('if-match'));
      const updated = await updateSchedule(c.var.stores.schedules, id, ifMatch, now, (current) => ({
        ...storedInput(current),
        paused,
      }));
      return respond(c, updated, 200);
    });
  }
}
