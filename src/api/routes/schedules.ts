// /api/v1/schedules (every namespace) and /api/v1/namespaces/{namespace}/schedules, with
// /{id} under each: CRUD, merge patch, pause/resume. Every body and parameter is checked, and
// the caller authorized (access.ts), before the store writes, so a 4xx never writes.
import type { Context, Hono } from 'hono';
import { scheduleAttributes } from '../../auth/principal.ts';
import { type ScheduleInput, type ValidationOptions, validateScheduleInput } from '../../schedule/schema.ts';
import { NotFoundError } from '../../store/errors.ts';
import {
  authorizedSchedule,
  keepNamespace,
  namespaceForCreate,
  pathNamespace,
  readAuthorizedSchedule,
  requireJobPermissions,
} from '../access.ts';
import { mayAccess, requireAccess } from '../auth.ts';
import { JSON_TYPES, limitBody, MERGE_PATCH_TYPES, readJsonBody } from '../body.ts';
import { etagOf, parseIfMatch } from '../if-match.ts';
import { applyMergePatch } from '../merge-patch.ts';
import { parseListQuery } from '../params.ts';
import { ApiError } from '../problem.ts';
import { inputRepresentation, scheduleResource, storedInput } from '../resources.ts';
import type { ApiDeps, AppEnv } from '../types.ts';
import { updateSchedule } from '../update.ts';

export const SCHEDULES = '/api/v1/schedules';
export const SCHEDULE = '/api/v1/schedules/:id';
export const NS_SCHEDULES = '/api/v1/namespaces/:namespace/schedules';
export const NS_SCHEDULE = '/api/v1/namespaces/:namespace/schedules/:id';

function validated(body: unknown, options: ValidationOptions): ScheduleInput {
  const result = validateScheduleInput(body, options);
  if (result.ok) return result.value;
  const fields = result.errors.map((e) => e.field || '(body)').join(', ');
  throw new ApiError(400, `the schedule is not valid: ${fields}`, { errors: result.errors });
}

/** Where a schedule is served: under its namespace when the request named one. */
const selfPath = (c: Context<AppEnv>, namespace: string, id: string) =>
  c.req.param('namespace') === undefined
    ? `${SCHEDULES}/${id}`
    : `/api/v1/namespaces/${namespace}/schedules/${id}`;

export function registerScheduleRoutes(app: Hono<AppEnv>, deps: ApiDeps): void {
  const { now, auth } = deps;
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

  /** Namespaces the caller may list in: undefined for all of them. */
  const listable = async (c: Context<AppEnv>): Promise<string[] | undefined> => {
    const inPath = pathNamespace(c);
    if (inPath !== undefined) {
      await requireAccess(c, auth, scheduleAttributes('list', inPath));
      return [inPath];
    }
    // Every namespace at once when a ClusterRole allows it, as `kubectl get -A` does; otherwise
    // only those namespaces holding schedules in which a Role allows it.
    if (await mayAccess(c, auth, scheduleAttributes('list', ''))) return undefined;
    const candidates = await c.var.stores.schedules.namespaces();
    const allowed = await Promise.all(
      candidates.map((ns) => mayAccess(c, auth, scheduleAttributes('list', ns))),
    );
    return candidates.filter((_, i) => allowed[i]);
  };

  for (const [collection, item] of [
    [SCHEDULES, SCHEDULE],
    [NS_SCHEDULES, NS_SCHEDULE],
  ] as const) {
    app.get(collection, async (c) => {
      const { schedules, runs } = c.var.stores;
      const query = parseListQuery(c.req.queries());
      const namespaces = await listable(c);
      if (namespaces?.length === 0) return c.json({ items: [], nextCursor: null });
      const page = await schedules.list(namespaces === undefined ? query : { ...query, namespaces });
      const at = now();
      const items = await Promise.all(page.items.map((s) => scheduleResource(s, runs, at)));
      return c.json({ items, nextCursor: page.nextCursor });
    });

    app.post(collection, limit, async (c) => {
      const body = await readJsonBody(c, JSON_TYPES);
      const namespace = namespaceForCreate(c, body) ?? validated(body, rules).namespace!;
      await requireAccess(c, auth, scheduleAttributes('create', namespace));
      const input = validated(body, rules);
      await requireJobPermissions(c, auth, namespace, input);
      const created = await c.var.stores.schedules.create({ ...input, namespace }, now());
      c.header('location', selfPath(c, namespace, created.id));
      return respond(c, created, 201);
    });

    app.get(item, async (c) => respond(c, await readAuthorizedSchedule(c, auth, 'get'), 200));

    app.put(item, limit, async (c) => {
      const { id, namespace } = await authorizedSchedule(c, auth, 'update');
      const ifMatch = parseIfMatch(c.req.header('if-match'));
      const input = keepNamespace(validated(await readJsonBody(c, JSON_TYPES), rules), namespace);
      await requireJobPermissions(c, auth, namespace, input);
      const replaced = await c.var.stores.schedules.replace(id, input, { ifVersion: ifMatch, now: now() });
      return respond(c, replaced, 200);
    });

    app.patch(item, limit, async (c) => {
      const { id, namespace } = await authorizedSchedule(c, auth, 'patch');
      const ifMatch = parseIfMatch(c.req.header('if-match'));
      const patch = await readJsonBody(c, MERGE_PATCH_TYPES);
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
        throw new ApiError(400, 'a merge patch must be a JSON object', {
          errors: [{ field: '', message: 'expected a JSON object' }],
        });
      const updated = await updateSchedule(c.var.stores.schedules, id, ifMatch, now, async (current) => {
        const input = keepNamespace(
          validated(applyMergePatch(inputRepresentation(current), patch), rules),
          namespace,
        );
        await requireJobPermissions(c, auth, namespace, input);
        return input;
      });
      return respond(c, updated, 200);
    });

    app.delete(item, async (c) => {
      const { id } = await authorizedSchedule(c, auth, 'delete');
      const ifMatch = parseIfMatch(c.req.header('if-match'));
      if (!(await c.var.stores.schedules.delete(id, { ifVersion: ifMatch }))) throw new NotFoundError(id);
      return c.body(null, 204);
    });

    for (const [action, paused] of [
      ['pause', true],
      ['resume', false],
    ] as const) {
      app.post(`${item}/${action}`, async (c) => {
        const { id } = await authorizedSchedule(c, auth, 'patch');
        const ifMatch = parseIfMatch(c.req.header('if-match'));
        const updated = await updateSchedule(c.var.stores.schedules, id, ifMatch, now, (current) => ({
          ...storedInput(current),
          paused,
        }));
        return respond(c, updated, 200);
      });
    }
  }
}
