// The OpenAPI 3.1 document served at /openapi.json, built from the same zod schemas
// that validate requests (schedule bodies) and describe responses, so docs and
// behaviour cannot drift. The operation list here is also what /docs renders.
import { DNS_LABEL, scheduleJsonSchemas } from '../schedule/schema.ts';
import { SCHEDULE_EXAMPLES } from './examples.ts';
import { type JsonSchema, jsonSchemaOf, toComponents } from './json-schema.ts';
import { DEFAULT_LIMIT, MAX_LIMIT } from './params.ts';
import { PROBLEM_TYPES, type ProblemStatus, problemType } from './problem.ts';
import { nameScheduleComponents } from './schema-names.ts';
import { ClusterStatusSchema, HealthSchema, ProblemSchema, RunResponseSchema } from './schemas.ts';

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description: string;
  schema: JsonSchema;
  style?: 'form';
  explode?: boolean;
}

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: Parameter[];
  requestBody?: {
    required: boolean;
    content: Record<
      string,
      { schema: JsonSchema; examples?: Record<string, { summary: string; value: unknown }> }
    >;
  };
  responses: Record<
    string,
    { description: string; headers?: JsonSchema; content?: JsonSchema; links?: JsonSchema }
  >;
  security?: Record<string, string[]>[];
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Operation>>;
  components: JsonSchema & { schemas: Record<string, JsonSchema> };
  tags: { name: string; description: string }[];
  security: Record<string, string[]>[];
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });

const idParam: Parameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Schedule id (a UUID). A malformed id is a 400.',
  schema: { type: 'string', format: 'uuid' },
};
const ifMatchParam: Parameter = {
  name: 'If-Match',
  in: 'header',
  description:
    'Only act if the schedule is at this version: "3", 3 or W/"3" (the ETag of a read); * for any. One version only (no lists); anything else is a 400 naming If-Match, a stale version a 412.',
  schema: {
    type: 'string',
    // what parseIfMatch accepts (if-match.ts), up to the safe-integer bound a pattern cannot say
    pattern: '^\\s*(\\*|(W/)?"[1-9][0-9]{0,15}"|[1-9][0-9]{0,15})\\s*$',
    examples: ['"3"'],
  },
};
const pageParams: Parameter[] = [
  {
    name: 'limit',
    in: 'query',
    description: `Page size, 1 to ${MAX_LIMIT}.`,
    schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
  },
  {
    name: 'cursor',
    in: 'query',
    description:
      'Opaque: the nextCursor of the previous page. Omit it for the first page (an empty one is a 400).',
    schema: { type: 'string', minLength: 1 },
  },
];

const problemResponse = (status: ProblemStatus, description: string) => ({
  [status]: { description, content: { 'application/problem+json': { schema: ref('Problem') } } },
});
const bad = problemResponse(400, 'Invalid parameter, header or body; `errors` names each field.');
const notFound = problemResponse(404, 'No schedule with this id.');
const precondition = problemResponse(
  412,
  'If-Match names another version; the ETag header has the current one.',
);
const conflict = problemResponse(
  409,
  'Another schedule has this name, or (without If-Match) the schedule kept changing, or its stored document is not a valid schedule.',
);
const invalidStored = problemResponse(
  409,
  'The stored document is not a valid schedule (written around the API); `errors` names each problem. Replace it with PUT or delete it.',
);
const bodyProblems = {
  ...problemResponse(413, 'The body is larger than BODY_LIMIT_BYTES.'),
  ...problemResponse(415, 'The Content-Type is not one this operation accepts.'),
};
const apiProblems = {
  ...problemResponse(
    401,
    'The bearer token is missing, or neither API_TOKEN nor Kubernetes (TokenReview) accepts it.',
  ),
  ...problemResponse(
    403,
    'The caller lacks the permission `detail` names (a SubjectAccessReview on schedules.leasecron.io, or on jobs.batch / serviceaccounts for a kubernetesJob action).',
  ),
  ...problemResponse(503, 'MongoDB is unavailable (retry), or the feature is not running.'),
  ...problemResponse(500, 'Unexpected error; quote `requestId`.'),
};
const etag = {
  ETag: { description: 'The version, as "<n>"; send it back as If-Match.', schema: { type: 'string' } },
};
const scheduleOk = (description: string) => ({ description, headers: etag, content: json('Schedule') });

const scheduleBody = {
  required: true,
  content: { 'application/json': { schema: ref('ScheduleInput'), examples: SCHEDULE_EXAMPLES } },
};
const patchBody = {
  required: true,
  content: {
    'application/merge-patch+json': { schema: ref('SchedulePatch') },
    'application/json': { schema: ref('SchedulePatch') },
  },
};

function apiPaths(): Record<string, Record<string, Operation>> {
  const s = (op: Omit<Operation, 'tags'> & { tags?: string[] }): Operation => ({
    tags: ['schedules'],
    ...op,
    responses: { ...op.responses, ...apiProblems },
  });
  return {
    '/api/v1/schedules': {
      get: s({
        operationId: 'listSchedules',
        summary: 'List schedules, oldest first',
        parameters: [
          {
            name: 'paused',
            in: 'query',
            description: 'Only paused (true) or active (false) schedules.',
            schema: { type: 'boolean' },
          },
          {
            name: 'label',
            in: 'query',
            description: 'key=value; repeat for several (all must match).',
            style: 'form',
            explode: true,
            schema: {
              type: 'array',
              items: { type: 'string', pattern: '^[^=]+=.*$' },
              examples: [['team=a']],
            },
          },
          ...pageParams,
        ],
        responses: {
          200: {
            description:
              'A page of schedules. Stored documents that are not valid schedules are left out, so a page may hold fewer than `limit`; follow `nextCursor` until it is null.',
            content: json('SchedulePage'),
          },
          ...bad,
        },
      }),
      post: s({
        operationId: 'createSchedule',
        summary: 'Create a schedule',
        requestBody: scheduleBody,
        responses: {
          201: {
            description: 'Created.',
            headers: {
              ...etag,
              Location: { description: 'URL of the new schedule.', schema: { type: 'string' } },
            },
            content: json('Schedule'),
            // OpenAPI links: how a client (and schemathesis' stateful phase) gets from the created
            // schedule to the operations on it
            links: Object.fromEntries(
              ID_OPERATIONS.map((op) => [op, { operationId: op, parameters: { id: '$response.body#/id' } }]),
            ),
          },
          ...bad,
          ...conflict,
          ...bodyProblems,
        },
      }),
    },
    '/api/v1/schedules/{id}': {
      get: s({
        operationId: 'getSchedule',
        summary: 'Read a schedule',
        parameters: [idParam],
        responses: { 200: scheduleOk('The schedule.'), ...bad, ...notFound, ...invalidStored },
      }),
      put: s({
        operationId: 'replaceSchedule',
        summary: 'Replace a schedule (full input representation)',
        description:
          'Validated like a create. Server fields (id, version, createdAt, updatedAt, nextRunAt) are not accepted.',
        parameters: [idParam, ifMatchParam],
        requestBody: scheduleBody,
        responses: {
          200: scheduleOk('Replaced.'),
          ...bad,
          ...notFound,
          ...conflict,
          ...precondition,
          ...bodyProblems,
        },
      }),
      patch: s({
        operationId: 'patchSchedule',
        summary: 'Change a schedule with a JSON merge patch (RFC 7396)',
        description:
          'Applied to the input representation, then validated like a replace, then written only if the version read is still current.',
        parameters: [idParam, ifMatchParam],
        requestBody: patchBody,
        responses: {
          200: scheduleOk('Patched.'),
          ...bad,
          ...notFound,
          ...conflict,
          ...precondition,
          ...bodyProblems,
        },
      }),
      delete: s({
        operationId: 'deleteSchedule',
        summary: 'Delete a schedule',
        description:
          'With If-Match, only if the schedule is still at that version (a 412 otherwise): the delete is one conditional write.',
        parameters: [idParam, ifMatchParam],
        responses: {
          204: { description: 'Deleted.' },
          ...bad,
          ...notFound,
          ...problemResponse(409, 'The schedule belongs to a Schedule object; delete that object instead.'),
          ...precondition,
        },
      }),
    },
    '/api/v1/schedules/{id}/pause': {
      post: s({
        operationId: 'pauseSchedule',
        summary: 'Pause a schedule (idempotent)',
        parameters: [idParam, ifMatchParam],
        responses: { 200: scheduleOk('Paused.'), ...bad, ...notFound, ...conflict, ...precondition },
      }),
    },
    '/api/v1/schedules/{id}/resume': {
      post: s({
        operationId: 'resumeSchedule',
        summary: 'Resume a paused schedule (idempotent)',
        parameters: [idParam, ifMatchParam],
        responses: { 200: scheduleOk('Resumed.'), ...bad, ...notFound, ...conflict, ...precondition },
      }),
    },
    '/api/v1/schedules/{id}/trigger': {
      post: s({
        operationId: 'triggerSchedule',
        summary: 'Run once now (the leader executes it)',
        tags: ['runs'],
        parameters: [idParam],
        responses: {
          202: {
            description: 'A pending manual run was recorded.',
            headers: { Location: { description: "The schedule's runs.", schema: { type: 'string' } } },
            content: json('Run'),
          },
          ...bad,
          ...notFound,
          ...invalidStored,
        },
      }),
    },
    '/api/v1/schedules/{id}/runs': {
      get: s({
        operationId: 'listRuns',
        summary: "A schedule's runs, newest first",
        tags: ['runs'],
        parameters: [idParam, ...pageParams],
        responses: { 200: { description: 'A page of runs.', content: json('RunPage') }, ...bad, ...notFound },
      }),
    },
    '/api/v1/cluster': {
      get: s({
        operationId: 'getCluster',
        summary: 'Leader, Lease transitions and this replica’s role',
        tags: ['cluster'],
        responses: {
          200: { description: 'The Lease as this replica sees it.', content: json('ClusterStatus') },
        },
      }),
    },
  };
}

/** The operations on one schedule, by the id a create returns. */
const ID_OPERATIONS = [
  'getSchedule',
  'replaceSchedule',
  'patchSchedule',
  'deleteSchedule',
  'pauseSchedule',
  'resumeSchedule',
  'triggerSchedule',
  'listRuns',
];

const namespaceParam: Parameter = {
  name: 'namespace',
  in: 'path',
  required: true,
  description: 'Kubernetes namespace of the schedules (RFC 1123 label).',
  schema: { type: 'string', minLength: 1, maxLength: 63, pattern: DNS_LABEL.source, examples: ['team-a'] },
};

/**
 * Every /api/v1/schedules route again under /api/v1/namespaces/{namespace}/: the same
 * operations, confined to one namespace (a schedule elsewhere is a 404).
 */
function namespacedPaths(
  paths: Record<string, Record<string, Operation>>,
): Record<string, Record<string, Operation>> {
  const out: Record<string, Record<string, Operation>> = {};
  for (const [path, ops] of Object.entries(paths)) {
    if (!path.startsWith('/api/v1/schedules')) continue;
    const namespaced: Record<string, Operation> = {};
    for (const [method, op] of Object.entries(ops)) {
      namespaced[method] = {
        ...op,
        operationId: `${op.operationId}InNamespace`,
        summary: `${op.summary} (in one namespace)`,
        parameters: [namespaceParam, ...(op.parameters ?? [])],
      };
    }
    out[path.replace('/api/v1/schedules', '/api/v1/namespaces/{namespace}/schedules')] = namespaced;
  }
  return out;
}

function opsPaths(): Record<string, Record<string, Operation>> {
  const open = (op: Omit<Operation, 'tags' | 'security'>): Operation => ({
    tags: ['operations'],
    security: [],
    ...op,
  });
  const text = (type: string) => ({ [type]: { schema: { type: 'string' } } });
  return {
    '/healthz': {
      get: open({
        operationId: 'healthz',
        summary: 'Liveness',
        responses: { 200: { description: 'The process serves HTTP.', content: json('Health') } },
      }),
    },
    '/readyz': {
      get: open({
        operationId: 'readyz',
        summary: 'Readiness: MongoDB answers',
        responses: {
          200: { description: 'Ready.', content: json('Health') },
          ...problemResponse(503, 'Not ready.'),
        },
      }),
    },
    '/metrics': {
      get: open({
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        responses: { 200: { description: 'Text exposition format.', content: text('text/plain') } },
      }),
    },
    '/openapi.json': {
      get: open({
        operationId: 'openapi',
        summary: 'This document',
        responses: {
          200: {
            description: 'OpenAPI 3.1.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      }),
    },
    '/docs': {
      get: open({
        operationId: 'docs',
        summary: 'This document as HTML',
        responses: { 200: { description: 'HTML.', content: text('text/html') } },
      }),
    },
    '/': {
      get: open({
        operationId: 'console',
        summary: 'The web console (schedules, upcoming fires, runs, cluster)',
        description:
          'A static page; the data it shows comes from /api/v1 with the bearer token entered in it, kept in the browser tab only.',
        responses: { 200: { description: 'HTML.', content: text('text/html') } },
      }),
    },
    '/console/{file}': {
      get: open({
        operationId: 'consoleAsset',
        summary: "The console's scripts and stylesheet",
        parameters: [
          {
            name: 'file',
            in: 'path',
            required: true,
            description: 'A file the console page loads, e.g. main.js.',
            schema: { type: 'string', examples: ['main.js'] },
          },
        ],
        responses: {
          200: { description: 'JavaScript or CSS.', content: text('text/javascript') },
          304: { description: 'Unchanged since the ETag sent as If-None-Match.' },
          ...problemResponse(404, 'No such file.'),
        },
      }),
    },
  };
}

function schemas(): Record<string, JsonSchema> {
  const { ScheduleInput, Schedule } = scheduleJsonSchemas();
  const page = (item: string): JsonSchema => ({
    type: 'object',
    properties: {
      items: { type: 'array', items: ref(item) },
      nextCursor: {
        type: ['string', 'null'],
        description: 'Pass as `cursor` for the next page; null on the last.',
      },
    },
    required: ['items', 'nextCursor'],
    additionalProperties: false,
  });
  return toComponents({
    ScheduleInput: ScheduleInput as JsonSchema,
    Schedule: Schedule as JsonSchema,
    SchedulePatch: {
      type: 'object',
      description:
        'JSON merge patch (RFC 7396) of a ScheduleInput: members replace, objects merge, null removes a member (it returns to its default). The result must be a valid ScheduleInput. To switch schedule kinds, null the old keys: {"schedule": {"cron": null, "every": "1m"}}.',
      examples: [{ paused: true }, { labels: { team: 'b' } }],
    },
    SchedulePage: page('Schedule'),
    Run: jsonSchemaOf(RunResponseSchema),
    RunPage: page('Run'),
    Problem: jsonSchemaOf(ProblemSchema),
    ClusterStatus: jsonSchemaOf(ClusterStatusSchema),
    Health: jsonSchemaOf(HealthSchema),
  });
}

const problemTypesText = Object.entries(PROBLEM_TYPES)
  .map(([status, t]) => `- \`${problemType(Number(status) as ProblemStatus)}\`: ${status} ${t.title}`)
  .join('\n');

export function buildOpenApiDocument(): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'leasecron',
      version: '1',
      description: `Kubernetes-native active/passive job scheduler. Every replica serves this API.\n\nErrors are RFC 9457 problem documents (application/problem+json). Problem types:\n${problemTypesText}`,
    },
    tags: [
      { name: 'schedules', description: 'Create, read, change and delete schedules.' },
      { name: 'runs', description: 'Run history and manual triggers.' },
      { name: 'cluster', description: 'Leader election status.' },
      { name: 'operations', description: 'Probes, metrics and this document; never behind auth.' },
    ],
    paths: { ...apiPaths(), ...namespacedPaths(apiPaths()), ...opsPaths() },
    components: {
      schemas: nameScheduleComponents(schemas()),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'On /api/ routes: a Kubernetes token (e.g. `kubectl create token`, checked by TokenReview) or the static API_TOKEN. Only a server started with AUTH=none accepts no token.',
        },
      },
    },
    // `{}` keeps auth optional in the document: a server started with AUTH=none needs none.
    security: [{ bearerAuth: [] }, {}],
  };
}
