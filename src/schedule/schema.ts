// The schedule's wire contract, written once: these zod schemas validate POST/PUT
// bodies and generate the OpenAPI document, so the two cannot drift.
//
// Representation decisions callers rely on:
// - `validateScheduleInput` returns the parsed value with every default applied.
//   `startAt`/`endAt` become `Date | null` there (transform in the schema); every
//   other instant in a ScheduleInput stays as it came, except `schedule.at`, which is
//   normalised to canonical UTC strings (`toISOString()`), sorted and de-duplicated.
// - `Schedule` (stored, in memory) keeps instants as `Date`; `toScheduleResponse`
//   turns one into the JSON resource (ISO-8601 strings) described by the response schema.
// - A cron schedule without `timezone` runs in UTC, never in the process's zone.
// - `every` is at least 1s (cron's own resolution), although durations parse down to 1ms.
// - An http action's URL whose host is an IP literal the egress policy refuses (loopback, link-local
//   and metadata, …; src/egress/policy.ts) is invalid input. Only `validateScheduleInput` checks
//   that, with the policy it is given: the schemas stay static, and a stored document is not made
//   invalid by a policy change (the action refuses it at connect time instead).
import { z } from 'zod';
import { DEFAULT_EGRESS_POLICY, type EgressPolicy, literalHostRefusal } from '../egress/policy.ts';
import { cronPatternProblem, isKnownTimeZone, MAX_CRON_PATTERN_LENGTH } from './cron.ts';
import { InvalidDurationError, parseDuration } from './duration.ts';
import { type FieldError, issuesToFieldErrors } from './field-errors.ts';

export type { FieldError } from './field-errors.ts';

export const MIN_EVERY_MS = 1_000;
export const MAX_AT_INSTANTS = 1_000;
export const MAX_HEADERS = 50;
export const MAX_LABELS = 64;
export const MAX_CATCH_UP_GRACE_SECONDS = 7 * 86_400;

const IsoDateTimeSchema = z.iso
  .datetime({
    offset: true,
    error: 'expected an ISO-8601 date-time with Z or an offset, e.g. 2026-12-01T10:00:00Z',
  })
  .meta({ examples: ['2026-12-01T10:00:00Z'] });

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dnsLabel = (what: string) =>
  z
    .string()
    .max(63)
    .regex(
      DNS_LABEL,
      `${what} must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );

// ---- schedule spec -------------------------------------------------------------

export const CronScheduleSpecSchema = z
  .strictObject({
    cron: z
      .string()
      .superRefine((pattern, ctx) => {
        const problem = cronPatternProblem(pattern);
        if (problem) ctx.addIssue({ code: 'custom', message: `invalid cron expression: ${problem}` });
      })
      .meta({
        description: `Cron pattern with 5 fields (minute hour day month weekday) or 6 (seconds first), as croner reads it, plus N/step read as N-max/step ("0/10": from 0, every 10) as Quartz, Spring and robfig/cron read it; at most ${MAX_CRON_PATTERN_LENGTH} characters.`,
        examples: ['0 30 2 * * *', '*/5 * * * *'],
      }),
    timezone: z
      .string()
      .superRefine((zone, ctx) => {
        if (!isKnownTimeZone(zone)) ctx.addIssue({ code: 'custom', message: `unknown time zone '${zone}'` });
      })
      .optional()
      .meta({
        description: 'IANA time zone the pattern is read in; default UTC. DST as croner handles it.',
        examples: ['Europe/Berlin'],
      }),
  })
  .meta({ description: 'Fire when the cron pattern matches.' });

export const EveryScheduleSpecSchema = z
  .strictObject({
    every: z
      .string()
      .superRefine((text, ctx) => {
        try {
          if (parseDuration(text) < MIN_EVERY_MS)
            ctx.addIssue({ code: 'custom', message: `'${text}' is shorter than 1s` });
        } catch (error) {
          if (!(error instanceof InvalidDurationError)) throw error;
          ctx.addIssue({ code: 'custom', message: error.message });
        }
      })
      .meta({
        description:
          'Interval: integers with units h, m, s, ms, largest first (1s to 366 days). Fires at startAt (or creation time) + k × interval.',
        examples: ['30s', '1h30m'],
      }),
  })
  .meta({ description: 'Fire at a fixed interval from the anchor (startAt, else createdAt).' });

function canonicalInstants(list: string[]): string[] {
  // Overwrite checks also run when an element failed; leave those for the error report.
  if (!list.every((s) => IsoDateTimeSchema.safeParse(s).success)) return list;
  const ms = [...new Set(list.map((s) => Date.parse(s)))].sort((a, b) => a - b);
  return ms.map((t) => new Date(t).toISOString());
}

export const AtScheduleSpecSchema = z
  .strictObject({
    at: z
      .array(IsoDateTimeSchema)
      .min(1)
      .max(MAX_AT_INSTANTS)
      .overwrite(canonicalInstants)
      .meta({
        description: `One-shot instants (1 to ${MAX_AT_INSTANTS}); stored as UTC, sorted, without duplicates.`,
        examples: [['2026-12-01T10:00:00Z', '2026-12-02T10:00:00+01:00']],
      }),
  })
  .meta({ description: 'Fire once at each listed instant.' });

export const ScheduleSpecSchema = z
  .xor([CronScheduleSpecSchema, EveryScheduleSpecSchema, AtScheduleSpecSchema], {
    error: 'must be exactly one of { cron, timezone? }, { every } or { at }',
  })
  .meta({ description: 'When the schedule fires: exactly one of cron, every or at.' });

// ---- actions -------------------------------------------------------------------

export const LogActionSchema = z
  .strictObject({
    type: z.literal('log'),
    message: z.string().max(1000).optional().meta({ description: 'Included in the log line.' }),
  })
  .meta({ description: 'Write one structured log line per run.' });

const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * Headers of the connection rather than the message (RFC 9110 §7.6.1, plus the framing ones):
 * the HTTP client sets them itself, and fetch refuses most of them when it sends, so a schedule
 * carrying one would fail every run. Refused when the schedule is written instead.
 */
const CONNECTION_HEADERS = new Set([
  'connection',
  'content-length',
  'expect',
  'host',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
export const isConnectionHeader = (name: string): boolean => {
  const lower = name.toLowerCase();
  return CONNECTION_HEADERS.has(lower) || lower.startsWith('proxy-');
};
const HeaderNameSchema = z
  .string()
  .regex(HTTP_TOKEN, 'must be an HTTP header name (token characters)')
  .refine(
    (name) => !isConnectionHeader(name),
    'is a hop-by-hop or framing header (Connection, Host, Transfer-Encoding, Content-Length, TE, Trailer, Upgrade, Keep-Alive, Expect, Proxy-*) that the HTTP client sets itself',
  );
const HeaderValueSchema = z
  .string()
  .max(8192)
  .regex(/^[^\r\n\0]*$/, 'must not contain CR, LF or NUL');

export const RetryPolicySchema = z.strictObject({
  maxAttempts: z
    .int()
    .min(1)
    .max(10)
    .default(1)
    .meta({ description: 'Attempts in total, including the first.' }),
  backoffMs: z
    .int()
    .min(0)
    .max(3_600_000)
    .default(1000)
    .meta({ description: 'Base of the exponential backoff between attempts (with jitter).' }),
});

export const HttpActionSchema = z
  .strictObject({
    type: z.literal('http'),
    url: z
      .url({ protocol: /^https?$/, error: 'expected an absolute http:// or https:// URL' })
      .max(2048)
      .meta({
        description:
          'Where the request goes. Loopback, link-local (cloud metadata), unspecified addresses and the Kubernetes API server are refused unless the operator allows them (HTTP_ALLOW_CIDRS / HTTP_DENY_CIDRS): an IP literal at validation, a name after it is resolved.',
        examples: ['http://reports.svc/run'],
      }),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
    headers: z
      .record(HeaderNameSchema, HeaderValueSchema)
      .refine((h) => Object.keys(h).length <= MAX_HEADERS, `at most ${MAX_HEADERS} headers`)
      .optional()
      .meta({
        description:
          'Extra request headers. Hop-by-hop and framing headers (Connection, Host, Transfer-Encoding, Content-Length, TE, Trailer, Upgrade, Keep-Alive, Expect, Proxy-*) are refused: the HTTP client sets them.',
        examples: [{ 'x-team': 'a' }],
      }),
    body: z.json().optional().meta({ description: 'JSON request body, sent as application/json.' }),
    timeoutMs: z.int().min(1).max(300_000).default(10_000).meta({ description: 'Per-attempt timeout.' }),
    retry: RetryPolicySchema.prefault({}),
  })
  .meta({
    description:
      'Call a webhook; it carries X-Leasecron-Schedule-Id, X-Leasecron-Scheduled-For and Idempotency-Key.',
  });

export const KubernetesJobActionSchema = z
  .strictObject({
    type: z.literal('kubernetesJob'),
    namespace: dnsLabel('namespace').optional().meta({
      description:
        "The Job's namespace: always the schedule's own (a different one is refused); may be left out.",
    }),
    template: z
      .strictObject({
        metadata: z.looseObject({}).optional(),
        spec: z
          .looseObject({})
          .meta({ description: 'batch/v1 JobSpec; validated in depth by the API server.' }),
      })
      .meta({
        description:
          'batch/v1 JobTemplateSpec, as in a CronJob. `spec.ttlSecondsAfterFinished` is passed on to the Job: the TTL controller deletes it that long after it finished, whatever the history limits say.',
      }),
    successfulJobsHistoryLimit: z.int().min(0).max(100).default(3).meta({
      description:
        "How many of this schedule's Jobs that succeeded to keep (the newest by occurrence); older ones are deleted, propagation Background. As in a CronJob.",
    }),
    failedJobsHistoryLimit: z.int().min(0).max(100).default(1).meta({
      description:
        "How many of this schedule's Jobs that failed to keep (the newest by occurrence); older ones are deleted, propagation Background. As in a CronJob.",
    }),
  })
  .meta({
    description:
      "Create a batch/v1 Job from the template; the run stays `running` until the Job is Complete (`succeeded`) or Failed (`failed`). `concurrency` applies over the Job's lifetime: `forbid` skips while a Job of the schedule is active, `replace` deletes it first.",
  });

export const ActionSchema = z
  .discriminatedUnion('type', [LogActionSchema, HttpActionSchema, KubernetesJobActionSchema])
  .meta({ description: 'What a fire does.' });

// ---- schedule ------------------------------------------------------------------

export const ConcurrencyPolicySchema = z.enum(['allow', 'forbid', 'replace']).meta({
  description: 'forbid: skip a fire while the previous run is running; replace: cancel it; allow: run both.',
});

export const MisfireSchema = z.strictObject({
  policy: z.enum(['fireOnce', 'fireAll', 'skip']).default('fireOnce').meta({
    description: 'After missed occurrences: one catch-up run, each missed one (at most 100), or none.',
  }),
  graceSeconds: z
    .int()
    .min(0)
    .max(MAX_CATCH_UP_GRACE_SECONDS)
    .default(300)
    .meta({ description: 'Occurrences missed by more than this are skipped.' }),
});

// Kubernetes label syntax, so labels can be copied onto Jobs and used in `label=k=v` filters.
const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LabelKeySchema = z.string().refine(isLabelKey, 'must be a Kubernetes label key: [prefix/]name');
const LabelValueSchema = z
  .string()
  .max(63)
  .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, 'must be a Kubernetes label value');

function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? null : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== null && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}

export const LabelsSchema = z
  .record(LabelKeySchema, LabelValueSchema)
  .refine((l) => Object.keys(l).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`)
  .meta({ examples: [{ team: 'a' }] });

export const NameSchema = dnsLabel('name').meta({
  description: 'Unique in its namespace; used in Kubernetes Job names.',
  examples: ['nightly-report'],
});
/** Where a schedule goes when neither the path, the body nor the caller names a namespace. */
export const DEFAULT_NAMESPACE = 'default';
export const NamespaceSchema = dnsLabel('namespace').meta({
  description:
    "The Kubernetes namespace the schedule belongs to: who may see and change it is decided there (RBAC on schedules.leasecron.io), and its kubernetesJob actions run there. Default: the namespace in the path, else the caller's ServiceAccount namespace, else `default`. Cannot change after creation.",
  examples: ['team-a'],
});
export const DescriptionSchema = z.string().max(1000);
export const MaxRunsSchema = z
  .int()
  .min(1)
  .meta({ description: 'Stop after this many runs; null for no limit.' });

const InstantInputSchema = IsoDateTimeSchema.transform((s) => new Date(s));

export const ScheduleInputSchema = z
  .strictObject({
    name: NameSchema,
    namespace: NamespaceSchema.optional(),
    schedule: ScheduleSpecSchema,
    action: ActionSchema,
    paused: z.boolean().default(false),
    // prefault, not default: zod leaves a default out of the JSON Schema when a transform follows.
    startAt: InstantInputSchema.nullable()
      .prefault(null)
      .meta({ description: 'No occurrence before this instant; anchor of `every`.' }),
    endAt: InstantInputSchema.nullable().prefault(null).meta({
      description:
        'No occurrence after this instant. Must be after startAt when both are set (a 400 naming endAt otherwise).',
    }),
    maxRuns: MaxRunsSchema.nullable().default(null),
    concurrency: ConcurrencyPolicySchema.default('forbid'),
    misfire: MisfireSchema.prefault({}),
    labels: LabelsSchema.default({}),
    description: DescriptionSchema.optional(),
  })
  .refine((s) => s.startAt === null || s.endAt === null || s.endAt > s.startAt, {
    path: ['endAt'],
    message: 'endAt must be after startAt',
    // Also check when other fields are bad, so one 400 lists every problem.
    when: ({ value }) => bothInstantsParsed(value),
  })
  .meta({ description: 'Body of POST and PUT /api/v1/schedules.' });

function bothInstantsParsed(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const { startAt, endAt } = value as { startAt?: unknown; endAt?: unknown };
  return startAt instanceof Date && endAt instanceof Date;
}

/**
 * The Kubernetes object a schedule is declared by (issue 12): the controller on the leader keeps
 * it in step with a `schedules.leasecron.io` object, and the API refuses to change or delete it.
 */
export const ScheduleSourceSchema = z
  .strictObject({
    kind: z.literal('Schedule'),
    apiVersion: z.string().max(253),
    namespace: dnsLabel('namespace'),
    name: z.string().min(1).max(253),
    uid: z.string().min(1).max(128),
    generation: z.int().min(0),
  })
  .meta({
    description:
      'Present when the schedule is declared by a Schedule object (kubectl apply): change or delete that object, not this resource (the API answers 409).',
  });

export const ScheduleResponseSchema = z
  .strictObject({
    id: z.string().meta({ description: 'Server-assigned id.' }),
    version: z.int().min(1).meta({ description: 'Incremented on every write; send as If-Match to update.' }),
    name: NameSchema,
    namespace: NamespaceSchema,
    schedule: ScheduleSpecSchema,
    action: ActionSchema,
    paused: z.boolean(),
    startAt: IsoDateTimeSchema.nullable(),
    endAt: IsoDateTimeSchema.nullable(),
    maxRuns: MaxRunsSchema.nullable(),
    concurrency: ConcurrencyPolicySchema,
    misfire: MisfireSchema,
    labels: LabelsSchema,
    description: DescriptionSchema.optional(),
    source: ScheduleSourceSchema.optional(),
    createdAt: IsoDateTimeSchema,
    updatedAt: IsoDateTimeSchema,
    nextRunAt: IsoDateTimeSchema.nullable().meta({
      description: 'Next occurrence; null when paused, finished, past endAt or maxRuns reached.',
    }),
  })
  .meta({ description: 'A stored schedule.' });

// ---- types ---------------------------------------------------------------------

export type CronScheduleSpec = z.output<typeof CronScheduleSpecSchema>;
export type EveryScheduleSpec = z.output<typeof EveryScheduleSpecSchema>;
export type AtScheduleSpec = z.output<typeof AtScheduleSpecSchema>;
export type ScheduleSpec = z.output<typeof ScheduleSpecSchema>;
export type LogAction = z.output<typeof LogActionSchema>;
export type HttpAction = z.output<typeof HttpActionSchema>;
export type HttpMethod = HttpAction['method'];
export type RetryPolicy = z.output<typeof RetryPolicySchema>;
export type KubernetesJobAction = z.output<typeof KubernetesJobActionSchema>;
export type Action = z.output<typeof ActionSchema>;
export type ActionType = Action['type'];
export type ConcurrencyPolicy = z.output<typeof ConcurrencyPolicySchema>;
export type Misfire = z.output<typeof MisfireSchema>;
export type MisfirePolicy = Misfire['policy'];
export type Labels = z.output<typeof LabelsSchema>;
/** A validated body with defaults applied; `startAt`/`endAt` are Dates. */
export type ScheduleInput = z.output<typeof ScheduleInputSchema>;
/** What a client may send (defaults optional, instants as strings). */
export type ScheduleInputBody = z.input<typeof ScheduleInputSchema>;
export type ScheduleSource = z.output<typeof ScheduleSourceSchema>;
/** A stored schedule; all instants are Dates. */
export type Schedule = Omit<ScheduleInput, 'namespace'> & {
  namespace: string;
  /** the Schedule object that declares it; absent for schedules made through the API */
  source?: ScheduleSource;
  id: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
};
/** The JSON resource returned by the API. */
export type ScheduleResponse = z.output<typeof ScheduleResponseSchema>;

// ---- functions -----------------------------------------------------------------

export type ValidationResult = { ok: true; value: ScheduleInput } | { ok: false; errors: FieldError[] };

export interface ValidationOptions {
  /** Refuses http URLs whose host is an IP literal it refuses; default: the built-in refusals only. */
  egress?: EgressPolicy;
}

/** Validate a POST/PUT body (already JSON-parsed). Pure; never throws for bad input. */
export function validateScheduleInput(body: unknown, options: ValidationOptions = {}): ValidationResult {
  const result = ScheduleInputSchema.safeParse(body);
  const errors = result.success ? [] : issuesToFieldErrors(result.error.issues, body);
  const refused = egressProblem(body, options.egress ?? DEFAULT_EGRESS_POLICY);
  if (refused !== null && !errors.some((e) => e.field === 'action.url')) {
    errors.push({ field: 'action.url', message: refused });
  }
  if (result.success && errors.length === 0) return { ok: true, value: result.data };
  return { ok: false, errors };
}

/** Read from the body as sent, so the refusal is reported beside any other problem. */
function egressProblem(body: unknown, policy: EgressPolicy): string | null {
  if (body === null || typeof body !== 'object') return null;
  const action: unknown = (body as { action?: unknown }).action;
  if (action === null || typeof action !== 'object') return null;
  const { type, url } = action as { type?: unknown; url?: unknown };
  if (type !== 'http' || typeof url !== 'string') return null;
  const why = literalHostRefusal(url, policy);
  return why === null ? null : `the host ${why}`;
}

/** The API resource for a stored schedule; `nextRunAt` comes from `nextRunAt()` in occurrences.ts. */
export function toScheduleResponse(schedule: Schedule, nextRunAt: Date | null): ScheduleResponse {
  const response: ScheduleResponse = {
    id: schedule.id,
    version: schedule.version,
    name: schedule.name,
    namespace: schedule.namespace,
    schedule: schedule.schedule,
    action: schedule.action,
    paused: schedule.paused,
    startAt: schedule.startAt?.toISOString() ?? null,
    endAt: schedule.endAt?.toISOString() ?? null,
    maxRuns: schedule.maxRuns,
    concurrency: schedule.concurrency,
    misfire: schedule.misfire,
    labels: schedule.labels,
    createdAt: schedule.createdAt.toISOString(),
    updatedAt: schedule.updatedAt.toISOString(),
    nextRunAt: nextRunAt?.toISOString() ?? null,
  };
  if (schedule.description !== undefined) response.description = schedule.description;
  if (schedule.source !== undefined) response.source = schedule.source;
  return response;
}

export interface ScheduleJsonSchemas {
  /** Request body of POST/PUT (`io: 'input'`: defaulted fields are optional). */
  ScheduleInput: z.core.JSONSchema.JSONSchema;
  /** Response resource (`io: 'output'`: every defaulted field is present). */
  Schedule: z.core.JSONSchema.JSONSchema;
}

/** JSON Schemas (draft 2020-12) for the OpenAPI document, from the same schemas that validate. */
export function scheduleJsonSchemas(): ScheduleJsonSchemas {
  return {
    ScheduleInput: z.toJSONSchema(ScheduleInputSchema, { target: 'draft-2020-12', io: 'input' }),
    Schedule: z.toJSONSchema(ScheduleResponseSchema, { target: 'draft-2020-12', io: 'output' }),
  };
}
