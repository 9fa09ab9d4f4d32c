// Every error leaves the API as one RFC 9457 problem document, built here and only
// here: handlers throw ApiError (or a store error), and onError maps the rest.
// Unexpected errors become a 500 whose request id is also in the error's log line.
import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../log/logger.ts';
import type { FieldError } from '../schedule/schema.ts';
import {
  DuplicateNameError,
  InvalidCursorError,
  InvalidStoredScheduleError,
  NotFoundError,
  OwnedScheduleError,
  StoreUnavailableError,
  VersionConflictError,
} from '../store/errors.ts';
import type { AppEnv } from './types.ts';

export type { FieldError } from '../schedule/schema.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One problem type per status; `type` is `urn:leasecron:problem:<slug>` (listed on /docs). */
export const PROBLEM_TYPES = {
  400: { slug: 'invalid-request', title: 'Bad Request' },
  401: { slug: 'unauthorized', title: 'Unauthorized' },
  403: { slug: 'forbidden', title: 'Forbidden' },
  404: { slug: 'not-found', title: 'Not Found' },
  405: { slug: 'method-not-allowed', title: 'Method Not Allowed' },
  409: { slug: 'conflict', title: 'Conflict' },
  412: { slug: 'precondition-failed', title: 'Precondition Failed' },
  413: { slug: 'content-too-large', title: 'Content Too Large' },
  415: { slug: 'unsupported-media-type', title: 'Unsupported Media Type' },
  500: { slug: 'internal-error', title: 'Internal Server Error' },
  503: { slug: 'unavailable', title: 'Service Unavailable' },
} as const;

export type ProblemStatus = keyof typeof PROBLEM_TYPES;

export const problemType = (status: ProblemStatus): string =>
  `urn:leasecron:problem:${PROBLEM_TYPES[status].slug}`;

export interface Problem {
  type: string;
  title: string;
  status: ProblemStatus;
  detail: string;
  instance: string;
  requestId: string;
  errors: FieldError[];
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: ProblemStatus;
  readonly errors: FieldError[];
  readonly headers: Record<string, string>;

  constructor(
    status: ProblemStatus,
    detail: string,
    opts: { errors?: FieldError[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = status;
    this.errors = opts.errors ?? [];
    this.headers = opts.headers ?? {};
  }

  get title(): string {
    return PROBLEM_TYPES[this.status].title;
  }
}

/** A 400 naming one field (a query parameter, header or path parameter by its name). */
export const badField = (field: string, message: string): ApiError =>
  new ApiError(400, `invalid ${field}: ${message}`, { errors: [{ field, message }] });

/** Known errors as ApiError; null for anything unexpected (→ 500). Pure. */
export function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof NotFoundError) return new ApiError(404, err.message, { cause: err });
  if (err instanceof DuplicateNameError)
    return new ApiError(409, err.message, {
      errors: [
        { field: 'name', message: `already used by another schedule in namespace '${err.namespace}'` },
      ],
      cause: err,
    });
  if (err instanceof OwnedScheduleError)
    return new ApiError(409, err.message, {
      errors: [
        {
          field: '',
          message: `owned by Schedule ${err.source.namespace}/${err.source.name} (uid ${err.source.uid})`,
        },
      ],
      cause: err,
    });
  if (err instanceof VersionConflictError)
    return new ApiError(412, `the schedule is at version ${err.actual}, not the one in If-Match`, {
      headers: { etag: `"${err.actual}"` },
      cause: err,
    });
  if (err instanceof InvalidStoredScheduleError)
    // The request is fine; the stored resource is not (written around the API). Not a
    // 500: the client can resolve it, with a PUT or a DELETE.
    return new ApiError(
      409,
      `the stored document of schedule '${err.id}' is not a valid schedule (was it written around the API?); replace it with PUT or delete it`,
      { errors: err.errors, cause: err },
    );
  if (err instanceof InvalidCursorError)
    return new ApiError(400, err.message, {
      errors: [{ field: 'cursor', message: err.message }],
      cause: err,
    });
  if (err instanceof StoreUnavailableError)
    return new ApiError(503, 'the database is unavailable; retry shortly', {
      headers: { 'retry-after': '1' },
      cause: err,
    });
  if (err instanceof HTTPException && err.status in PROBLEM_TYPES)
    return new ApiError(
      err.status as ProblemStatus,
      err.message || PROBLEM_TYPES[err.status as ProblemStatus].title,
    );
  return null;
}

export function toProblem(err: ApiError, instance: string, requestId: string): Problem {
  return {
    type: problemType(err.status),
    title: err.title,
    status: err.status,
    detail: err.message,
    instance,
    requestId,
    errors: err.errors,
  };
}

/** The path as sent, still percent-encoded (Hono's c.req.path is decoded). */
export const rawPath = (url: string): string => new URL(url).pathname;

export function problemResponse(c: Context<AppEnv>, err: ApiError): Response {
  const problem = toProblem(err, rawPath(c.req.url), c.get('requestId') ?? '');
  return c.body(JSON.stringify(problem), err.status as ContentfulStatusCode, {
    ...err.headers,
    'content-type': PROBLEM_CONTENT_TYPE,
  });
}

export function createErrorHandler(logger: Logger): ErrorHandler<AppEnv> {
  return (err, c) => {
    const known = toApiError(err);
    if (known) return problemResponse(c, known);
    const requestId = c.get('requestId') ?? '';
    logger.error({ err, requestId, method: c.req.method, path: rawPath(c.req.url) }, 'unexpected error');
    return problemResponse(
      c,
      new ApiError(500, `an unexpected error occurred; quote request id ${requestId} when reporting it`),
    );
  };
}
