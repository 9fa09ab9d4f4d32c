// Zod schemas of the API's own resources (runs, pages, problems, cluster status).
// They exist for the OpenAPI document; the schedule schemas come from src/schedule.
import { z } from 'zod';
import type { ClusterAuthStatus, ClusterStatus } from './types.ts';

const Instant = z.iso.datetime({ offset: true });

export const RunResponseSchema = z
  .strictObject({
    id: z.string(),
    scheduleId: z.string(),
    scheduleName: z.string(),
    scheduledFor: Instant.meta({ description: 'The occurrence (for manual runs: when it was requested).' }),
    createdAt: Instant,
    firedAt: Instant.nullable(),
    finishedAt: Instant.nullable(),
    status: z
      .enum([
        'pending',
        'running',
        'succeeded',
        'failed',
        'skipped',
        'abandoned',
        'unknown',
        'released',
        'missed',
      ])
      .meta({
        description:
          '`missed`: not a run but occurrences the misfire policy passed over (never claimed, never run), summarised in one record: scheduledFor is the first of them, `error` says how many, until when and why. `abandoned`: stopped before its action could take effect. `unknown`: its action was under way when its leader stopped; it may have taken effect (a webhook may have been delivered). `released`: claimed, then given back before its action started; the next leader decides the occurrence.',
      }),
    attempts: z.int().min(0),
    trigger: z.enum(['schedule', 'catchup', 'manual']),
    leader: z.string().nullable().meta({ description: 'Identity of the leader that ran it.' }),
    epoch: z.int().nullable().meta({ description: "The Lease's leaseTransitions when it ran." }),
    latenessMs: z.number().nullable(),
    error: z.string().nullable(),
    response: z
      .strictObject({
        statusCode: z.int().optional(),
        durationMs: z.number(),
        summary: z.string().optional(),
      })
      .nullable(),
    job: z.strictObject({ namespace: z.string(), name: z.string() }).nullable().meta({
      description:
        'The Job a kubernetesJob run created (or found) and follows: the run stays `running` until that Job is Complete (`succeeded`) or Failed (`failed`, with its reason), or deleted before it finished (`failed`). null for other runs.',
    }),
  })
  .meta({ description: 'One occurrence of a schedule and what became of it.' });

export type RunResponse = z.output<typeof RunResponseSchema>;

export const FieldErrorSchema = z.strictObject({
  field: z.string().meta({
    description:
      "Dotted path into the body (e.g. schedule.cron; '' is the body itself), or the name of a query parameter, path parameter or header.",
  }),
  message: z.string(),
});

export const ProblemSchema = z
  .object({
    type: z.string().meta({ description: 'urn:leasecron:problem:<slug>, one per status.' }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string().meta({ description: 'The request path.' }),
    requestId: z.string().meta({ description: 'Also in the X-Request-Id header and the server log.' }),
    errors: z.array(FieldErrorSchema),
  })
  .meta({ description: 'RFC 9457 problem details (application/problem+json).' });

export const ClusterStatusSchema = z.strictObject({
  identity: z.string().meta({ description: "This replica's identity (pod name)." }),
  role: z.enum(['leader', 'follower', 'unknown']),
  leader: z.string().nullable(),
  leaseTransitions: z.int().nullable(),
  renewTime: Instant.nullable(),
  acquireTime: Instant.nullable(),
  leaseName: z.string(),
  namespace: z.string(),
  auth: z
    .strictObject({ mode: z.enum(['kubernetes', 'token', 'none']), warning: z.string().optional() })
    .meta({ description: 'How /api/ callers are authenticated; a warning when nobody is (AUTH=none).' }),
});

// The interface in types.ts is the contract; this keeps the schema in step with it.
type ClusterResponse = ClusterStatus & { auth: ClusterAuthStatus };
const _clusterStatusMatches: z.output<typeof ClusterStatusSchema> extends ClusterResponse
  ? ClusterResponse extends z.output<typeof ClusterStatusSchema>
    ? true
    : false
  : false = true;
void _clusterStatusMatches;

export const HealthSchema = z.strictObject({ status: z.string() });
