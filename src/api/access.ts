// What each route asks of the authorizer (issue 11): schedules are a virtual resource in group
// leasecron.io, namespaced, with subresources `runs` and `trigger`, so Roles grant them exactly
// as they grant built-in resources. Routes with a namespace in the path see only that
// namespace; the un-namespaced routes find a schedule's namespace from the schedule itself.
import type { Context } from 'hono';
import type { ApiAuth } from '../auth/api-auth.ts';
import { defaultNamespaceOf, scheduleAttributes, type Verb } from '../auth/principal.ts';
import { NamespaceSchema, type Schedule, type ScheduleInput } from '../schedule/schema.ts';
import { InvalidStoredScheduleError, NotFoundError } from '../store/errors.ts';
import { requireAccess } from './auth.ts';
import { parseId } from './params.ts';
import { ApiError, badField } from './problem.ts';
import type { AppEnv } from './types.ts';

/** The namespace in the path (`/api/v1/namespaces/{namespace}/…`), or undefined on other routes. */
export function pathNamespace(c: Context<AppEnv>): string | undefined {
  const raw = c.req.param('namespace');
  if (raw === undefined) return undefined;
  const parsed = NamespaceSchema.safeParse(raw);
  if (!parsed.success) throw badField('namespace', 'must be a Kubernetes namespace name (RFC 1123 label)');
  return parsed.data;
}

export interface Located {
  id: string;
  namespace: string;
  name: string | null;
}

/**
 * The schedule of the path's id, read once and authorized for `verb`: for routes that answer
 * with the schedule (one database read instead of locate + get). A stored document that is not
 * a valid schedule is authorized by where it is, then reported (409) as such.
 */
export async function readAuthorizedSchedule(
  c: Context<AppEnv>,
  auth: ApiAuth,
  verb: Verb,
  subresource?: 'trigger',
): Promise<Schedule> {
  const id = parseId(c.req.param('id') ?? '');
  let schedule: Schedule | null;
  try {
    schedule = await c.var.stores.schedules.get(id);
  } catch (err) {
    if (err instanceof InvalidStoredScheduleError) await authorizedSchedule(c, auth, verb, subresource);
    throw err;
  }
  const inPath = pathNamespace(c);
  if (schedule === null || (inPath !== undefined && schedule.namespace !== inPath))
    throw new NotFoundError(id);
  await requireAccess(
    c,
    auth,
    scheduleAttributes(verb, schedule.namespace, {
      name: schedule.name,
      ...(subresource ? { subresource } : {}),
    }),
  );
  return schedule;
}

/**
 * The schedule of the path's id, authorized for `verb` (on `subresource` when given). 404 when
 * it does not exist or lies outside the path's namespace; 403 naming the permission otherwise.
 */
export async function authorizedSchedule(
  c: Context<AppEnv>,
  auth: ApiAuth,
  verb: Verb,
  subresource?: 'runs' | 'trigger',
): Promise<Located> {
  const inPath = pathNamespace(c);
  const id = parseId(c.req.param('id') ?? '');
  const where = await c.var.stores.schedules.locate(id);
  if (where === null || (inPath !== undefined && where.namespace !== inPath)) throw new NotFoundError(id);
  await requireAccess(
    c,
    auth,
    scheduleAttributes(verb, where.namespace, {
      ...(where.name !== null ? { name: where.name } : {}),
      ...(subresource ? { subresource } : {}),
    }),
  );
  return { id, ...where };
}

/**
 * Where a new schedule goes: the path's namespace, else the body's, else the caller's own
 * (a ServiceAccount's namespace, or `default`). A body naming another namespace than the path
 * is a 400, as in Kubernetes.
 */
export function namespaceForCreate(c: Context<AppEnv>, body: unknown): string | null {
  const inPath = pathNamespace(c);
  // Read from the body as sent, so the caller is authorized before the body is judged (as
  // Kubernetes does): a caller who may not create there learns nothing from validation errors.
  const raw = (body as { namespace?: unknown } | null)?.namespace;
  const given = typeof raw === 'string' ? raw : undefined;
  if (inPath !== undefined && given !== undefined && given !== inPath)
    throw namespaceMismatch(given, inPath, 'the path');
  // A malformed one names no namespace to authorize in: null, and the caller's validation then
  // reports it beside every other problem of the body.
  if (given !== undefined && !NamespaceSchema.safeParse(given).success) return null;
  return inPath ?? given ?? defaultNamespaceOf(c.var.principal);
}

/** A replace or patch may restate the namespace but not change it. */
export function keepNamespace(input: ScheduleInput, current: string): ScheduleInput {
  if (input.namespace !== undefined && input.namespace !== current)
    throw namespaceMismatch(input.namespace, current, 'the schedule');
  return { ...input, namespace: current };
}

function namespaceMismatch(given: string, actual: string, of: string): ApiError {
  const message = `is '${given}', but ${of} is in '${actual}' (a schedule cannot move: create it in the new namespace and delete the old one)`;
  return new ApiError(400, `the namespace ${message}`, { errors: [{ field: 'namespace', message }] });
}

/**
 * A kubernetesJob schedule makes leasecron create Jobs in its namespace, so whoever creates or
 * changes one must be allowed to create Jobs there themselves, and to use the ServiceAccount its
 * pods would run as: leasecron must never let anyone do what Kubernetes would not let them do.
 */
export async function requireJobPermissions(
  c: Context<AppEnv>,
  auth: ApiAuth,
  namespace: string,
  input: ScheduleInput,
): Promise<void> {
  const action = input.action;
  if (action.type !== 'kubernetesJob') return;
  if (action.namespace !== undefined && action.namespace !== namespace) {
    const message = `is '${action.namespace}', but the schedule is in '${namespace}': a Job runs in its schedule's namespace only`;
    throw new ApiError(400, `the action's namespace ${message}`, {
      errors: [{ field: 'action.namespace', message }],
    });
  }
  await requireAccess(c, auth, { verb: 'create', group: 'batch', resource: 'jobs', namespace });
  const account = serviceAccountOf(action.template);
  if (account !== null && account !== 'default')
    await requireAccess(c, auth, {
      verb: 'use',
      group: '',
      resource: 'serviceaccounts',
      name: account,
      namespace,
    });
}

/** `spec.template.spec.serviceAccountName` (or the deprecated `serviceAccount`) of a JobTemplateSpec. */
export function serviceAccountOf(template: unknown): string | null {
  const podSpec = (template as { spec?: { template?: { spec?: Record<string, unknown> } } } | null)?.spec
    ?.template?.spec;
  const name = podSpec?.serviceAccountName ?? podSpec?.serviceAccount;
  return typeof name === 'string' && name !== '' ? name : null;
}
