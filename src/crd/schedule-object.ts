// The `Schedule` custom resource (schedules.leasecron.io/v1alpha1, deploy/crd/) and the REST
// schedule it declares. The object's spec reads like a CronJob's where the meaning is the same
// (schedule, timeZone, suspend, concurrencyPolicy, startingDeadlineSeconds, jobTemplate, history
// limits); it is mapped onto the REST body and judged by the very same validateScheduleInput, so
// the two front doors cannot accept different things. Pure: no I/O here.
import type { EgressPolicy } from '../egress/policy.ts';
import type { FieldError } from '../schedule/field-errors.ts';
import { type ScheduleInput, type ScheduleSource, validateScheduleInput } from '../schedule/schema.ts';

export const GROUP = 'leasecron.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'Schedule';
export const PLURAL = 'schedules';
/** Held on every Schedule object the controller has stored, until its schedule is deleted. */
export const FINALIZER = 'leasecron.io/schedule-cleanup';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string | Date;
  creationTimestamp?: string | Date;
}

export interface Condition {
  type: 'Ready' | 'Synced';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ScheduleObjectStatus {
  observedGeneration?: number;
  scheduleId?: string;
  nextRunAt?: string | null;
  lastRun?: { scheduledFor: string; finishedAt: string | null; status: string; runId: string } | null;
  active?: number;
  runs?: number;
  conditions?: Condition[];
}

export interface ScheduleObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: ScheduleObjectStatus;
}

const EVERY = /^@every\s+(.+)$/;
const lowerFirst = (v: unknown) => (typeof v === 'string' ? v.charAt(0).toLowerCase() + v.slice(1) : v);

const SPEC_FIELDS: Record<string, string> = {
  suspend: 'paused',
  concurrencyPolicy: 'concurrency',
};

/** The REST body an object's spec stands for (not yet validated). */
export function toRestBody(obj: ScheduleObject): { body: Record<string, unknown>; errors: FieldError[] } {
  const spec = obj.spec ?? {};
  const errors: FieldError[] = [];
  const has = (k: string) => spec[k] !== undefined && spec[k] !== null;

  let schedule: Record<string, unknown> = {};
  if (has('schedule') && has('at'))
    errors.push({ field: 'spec.schedule', message: 'give exactly one of spec.schedule or spec.at' });
  else if (has('at')) schedule = { at: spec.at };
  else if (typeof spec.schedule === 'string' && EVERY.test(spec.schedule.trim())) {
    schedule = { every: EVERY.exec(spec.schedule.trim())![1] };
    if (has('timeZone'))
      errors.push({
        field: 'spec.timeZone',
        message: 'a time zone applies to a cron schedule only, not to @every',
      });
  } else if (has('schedule')) {
    schedule = { cron: spec.schedule, ...(has('timeZone') ? { timezone: spec.timeZone } : {}) };
  } else errors.push({ field: 'spec.schedule', message: 'give exactly one of spec.schedule or spec.at' });

  const actions = ['jobTemplate', 'http', 'log'].filter(has);
  let action: Record<string, unknown> = {};
  if (actions.length !== 1)
    errors.push({
      field: 'spec',
      message: `give exactly one action: spec.jobTemplate, spec.http or spec.log${actions.length ? ` (found ${actions.map((a) => `spec.${a}`).join(', ')})` : ''}`,
    });
  else if (actions[0] === 'jobTemplate') {
    action = { type: 'kubernetesJob', template: spec.jobTemplate };
    for (const k of ['successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) if (has(k)) action[k] = spec[k];
  } else {
    const inner = spec[actions[0]!];
    action = { ...(inner !== null && typeof inner === 'object' ? inner : {}), type: actions[0] };
  }
  if (actions[0] !== 'jobTemplate')
    for (const k of ['successfulJobsHistoryLimit', 'failedJobsHistoryLimit'])
      if (has(k)) errors.push({ field: `spec.${k}`, message: 'applies to spec.jobTemplate only' });

  const body: Record<string, unknown> = {
    name: obj.metadata.name,
    namespace: obj.metadata.namespace,
    schedule,
    action,
    labels: obj.metadata.labels ?? {},
  };
  for (const k of ['suspend', 'concurrencyPolicy', 'startAt', 'endAt', 'maxRuns', 'description'])
    if (has(k))
      body[SPEC_FIELDS[k] ?? k] = k === 'concurrencyPolicy' ? String(spec[k]).toLowerCase() : spec[k];
  const misfire: Record<string, unknown> = {};
  if (has('misfirePolicy')) misfire.policy = lowerFirst(spec.misfirePolicy);
  if (has('startingDeadlineSeconds')) misfire.graceSeconds = spec.startingDeadlineSeconds;
  body.misfire = misfire;
  return { body, errors };
}

/** Where a REST field lives in the object, so a condition names what the user wrote. */
export function objectPath(field: string, actionType: unknown): string {
  const [head, ...rest] = field.split('.');
  const tail = rest.length ? `.${rest.join('.')}` : '';
  switch (head) {
    case 'name':
    case 'namespace':
      return `metadata.${head}`;
    case 'labels':
      return `metadata.labels${tail}`;
    case 'schedule':
      if (rest[0] === 'timezone') return 'spec.timeZone';
      if (rest[0] === 'at') return `spec.at${rest.length > 1 ? `.${rest.slice(1).join('.')}` : ''}`;
      return 'spec.schedule';
    case 'action': {
      if (actionType === 'kubernetesJob') {
        if (rest[0] === 'template')
          return `spec.jobTemplate${rest.length > 1 ? `.${rest.slice(1).join('.')}` : ''}`;
        if (rest[0]?.endsWith('HistoryLimit')) return `spec.${rest[0]}`;
        return 'spec.jobTemplate';
      }
      if (actionType === 'http' || actionType === 'log') return `spec.${actionType}${tail}`;
      return 'spec';
    }
    case 'paused':
      return 'spec.suspend';
    case 'concurrency':
      return 'spec.concurrencyPolicy';
    case 'misfire':
      return rest[0] === 'graceSeconds' ? 'spec.startingDeadlineSeconds' : 'spec.misfirePolicy';
    case '':
      return 'spec';
    default:
      return `spec.${field}`;
  }
}

export type MappedObject =
  | { ok: true; input: ScheduleInput; source: ScheduleSource }
  | { ok: false; errors: FieldError[] };

/** An object as the schedule it declares, judged like a POST body; errors name object paths. */
export function mapScheduleObject(
  obj: ScheduleObject,
  options: { egress?: EgressPolicy } = {},
): MappedObject {
  const { body, errors } = toRestBody(obj);
  const result = validateScheduleInput(body, options.egress ? { egress: options.egress } : {});
  const actionType = (body.action as { type?: unknown }).type;
  if (!result.ok)
    for (const e of result.errors) {
      const field = objectPath(e.field, actionType);
      // the shape problems toRestBody already named in the object's own terms
      if (errors.some((known) => known.field === field || (field === 'spec' && known.field === 'spec')))
        continue;
      errors.push({ field, message: e.message });
    }
  if (errors.length > 0 || !result.ok) return { ok: false, errors };
  const { name, namespace, uid, generation } = obj.metadata;
  return {
    ok: true,
    input: { ...result.value, namespace: namespace! },
    source: {
      kind: KIND,
      apiVersion: API_VERSION,
      namespace: namespace!,
      name: name!,
      uid: uid!,
      generation: generation ?? 0,
    },
  };
}

/** `spec.schedule: invalid cron expression …; spec.timeZone: unknown time zone 'Mars/Base'` */
export function describeObjectErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

/**
 * A condition as metav1.Condition wants it: lastTransitionTime moves only when the status does
 * (so `kubectl wait` and dashboards see real transitions, and equal writes stay equal).
 */
export function condition(
  previous: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition {
  const before = previous?.find((c) => c.type === next.type);
  const lastTransitionTime =
    before && before.status === next.status ? before.lastTransitionTime : now.toISOString();
  return { ...next, lastTransitionTime };
}

/** True when writing `next` would change nothing a reader sees (so the write is skipped). */
export function sameStatus(a: ScheduleObjectStatus | undefined, b: ScheduleObjectStatus): boolean {
  return JSON.stringify(normalise(a ?? {})) === JSON.stringify(normalise(b));
}

function normalise(s: ScheduleObjectStatus): unknown {
  // Explicit key order: the API server hands objects back with their keys sorted.
  const at = (v: string | null | undefined) => (v ? new Date(v).toISOString() : (v ?? null));
  const run = s.lastRun;
  return {
    observedGeneration: s.observedGeneration ?? null,
    scheduleId: s.scheduleId ?? null,
    nextRunAt: at(s.nextRunAt),
    lastRun: run ? [at(run.scheduledFor), at(run.finishedAt), run.status, run.runId] : null,
    active: s.active ?? 0,
    runs: s.runs ?? 0,
    conditions: [...(s.conditions ?? [])]
      .sort((x, y) => x.type.localeCompare(y.type))
      .map((c) => [
        c.type,
        c.status,
        c.reason,
        c.message,
        at(c.lastTransitionTime),
        c.observedGeneration ?? null,
      ]),
  };
}
