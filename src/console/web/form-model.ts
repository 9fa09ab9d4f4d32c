// The schedule form as data: the values of its inputs ⇄ the body the API takes, and where each of
// the API's field errors belongs. The server validates; this only shapes, so the messages a user
// sees are the API's own (plus the form's one check, that the action box holds JSON). Pure.
import type { FieldError, Schedule } from './types.ts';

export interface FormValues {
  name: string;
  /** empty: the API's default (the caller's namespace, else `default`); fixed once created */
  namespace: string;
  kind: 'cron' | 'every' | 'at';
  expression: string;
  timezone: string;
  action: string;
  concurrency: string;
  misfirePolicy: string;
  graceSeconds: string;
  labels: string;
  paused: boolean;
  startAt: string;
  endAt: string;
  maxRuns: string;
}

/** The form's inputs, one per top-level member of the body; errors are shown under these. */
export const FORM_FIELDS = [
  'name',
  'namespace',
  'schedule',
  'action',
  'concurrency',
  'misfire',
  'labels',
  'paused',
  'startAt',
  'endAt',
  'maxRuns',
] as const;
export type FormField = (typeof FORM_FIELDS)[number];

const SERVER_FIELDS = ['id', 'version', 'createdAt', 'updatedAt', 'nextRunAt', 'source'];

export const ACTION_TEMPLATES: Record<string, unknown> = {
  log: { type: 'log', message: 'hello from leasecron' },
  http: { type: 'http', url: 'http://example.svc/hook', method: 'POST' },
  kubernetesJob: {
    type: 'kubernetesJob',
    jobTemplate: {
      spec: {
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', args: ['date'] }] },
        },
      },
    },
  },
};

export function emptyForm(): FormValues {
  return {
    name: '',
    namespace: '',
    kind: 'every',
    expression: '30s',
    timezone: '',
    action: JSON.stringify(ACTION_TEMPLATES.log, null, 2),
    concurrency: 'forbid',
    misfirePolicy: 'fireOnce',
    graceSeconds: '300',
    labels: '',
    paused: false,
    startAt: '',
    endAt: '',
    maxRuns: '',
  };
}

export function formFromSchedule(s: Schedule): FormValues {
  const spec = s.schedule;
  return {
    name: s.name,
    namespace: s.namespace ?? '',
    kind: 'cron' in spec ? 'cron' : 'every' in spec ? 'every' : 'at',
    expression: 'cron' in spec ? spec.cron : 'every' in spec ? spec.every : spec.at.join('\n'),
    timezone: 'cron' in spec ? (spec.timezone ?? '') : '',
    action: JSON.stringify(s.action, null, 2),
    concurrency: s.concurrency,
    misfirePolicy: s.misfire.policy,
    graceSeconds: String(s.misfire.graceSeconds),
    labels: Object.entries(s.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
    paused: s.paused,
    startAt: s.startAt ?? '',
    endAt: s.endAt ?? '',
    maxRuns: s.maxRuns === null ? '' : String(s.maxRuns),
  };
}

/** A number when the text is one, else the text itself, so the API names the field's problem. */
const numberOr = (text: string): number | string => (/^-?\d+$/.test(text.trim()) ? Number(text) : text);

/**
 * The body to POST (base {}) or PUT (base: the schedule as read, whose other members — e.g.
 * description, namespace — are kept). Only a non-JSON action box is refused here.
 */
export function bodyFromForm(
  v: FormValues,
  base: Schedule | null,
): { body: Record<string, unknown>; errors: FieldError[] } {
  const body: Record<string, unknown> = { ...(base ?? {}) };
  for (const f of SERVER_FIELDS) delete body[f];
  const errors: FieldError[] = [];
  body.name = v.name.trim();
  if (v.namespace.trim() !== '') body.namespace = v.namespace.trim();
  const expression = v.expression.trim();
  body.schedule =
    v.kind === 'cron'
      ? { cron: expression, ...(v.timezone.trim() ? { timezone: v.timezone.trim() } : {}) }
      : v.kind === 'every'
        ? { every: expression }
        : {
            at: expression
              .split(/[\s,]+/)
              .map((s) => s.trim())
              .filter((s) => s !== ''),
          };
  try {
    body.action = JSON.parse(v.action) as unknown;
  } catch (err) {
    errors.push({ field: 'action', message: `not JSON: ${(err as Error).message}` });
  }
  body.concurrency = v.concurrency;
  body.misfire = { policy: v.misfirePolicy, graceSeconds: numberOr(v.graceSeconds) };
  const labels: Record<string, string> = {};
  for (const pair of v.labels.split(',')) {
    const p = pair.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq <= 0) errors.push({ field: 'labels', message: `'${p}' is not key=value` });
    else labels[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  body.labels = labels;
  body.paused = v.paused;
  body.startAt = v.startAt.trim() || null;
  body.endAt = v.endAt.trim() || null;
  body.maxRuns = v.maxRuns.trim() === '' ? null : numberOr(v.maxRuns);
  return { body, errors };
}

/** Which input an API field error belongs to: `schedule.cron` → schedule; '' or unknown → null. */
export function formFieldOf(field: string): FormField | null {
  const head = field.split(/[.[]/)[0] ?? '';
  return (FORM_FIELDS as readonly string[]).includes(head) ? (head as FormField) : null;
}
