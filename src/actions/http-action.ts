// The webhook action: one HTTP request per run, retried on transient failures, carrying the
// headers receivers need to de-duplicate (the run id is the idempotency key). The delay maths
// lives in backoff.ts; this file only does the requests, the classification and the waiting.
// Where a request may go is the egress policy's call (egress-fetch.ts): a refused address fails
// the run at once, with nothing sent.
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_EGRESS_POLICY, type EgressPolicy } from '../egress/policy.ts';
import { MAX_RETRY_DELAY_MS, retryDelayMs } from './backoff.ts';
import { createEgressFetch, type EgressLookup, type FetchLike } from './egress-fetch.ts';
import {
  ActionAbortedError,
  ActionConfigError,
  type ActionContext,
  type ActionError,
  type ActionHandler,
  type ActionResult,
  type ActionStatus,
  EgressRefusedError,
  type HttpActionConfig,
  HttpNetworkError,
  HttpStatusError,
  HttpTimeoutError,
} from './types.ts';

export const SCHEDULE_ID_HEADER = 'X-Leasecron-Schedule-Id';
export const SCHEDULED_FOR_HEADER = 'X-Leasecron-Scheduled-For';
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Characters of the response body kept in the run (`response.summary`). */
export const SUMMARY_CHARS = 512;
/** Characters of a reason phrase or Location header kept in the run's error. */
const ECHO_CHARS = 200;

export interface HttpActionOptions {
  /** Where requests may go; default the built-in refusals only (loopback, link-local, …). */
  egress?: EgressPolicy;
  /** Name resolution for the egress check and the connection; default dns.lookup. */
  lookup?: EgressLookup;
  /** Replaces the transport, egress check included; for tests of what happens around it. */
  fetch?: FetchLike;
  /** Wall clock, only to resolve Retry-After HTTP dates. */
  now?: () => Date;
  /** Monotonic milliseconds, for durations. */
  monotonicMs?: () => number;
  random?: () => number;
  maxRetryDelayMs?: number;
}

export interface HttpRequest {
  url: string;
  init: RequestInit;
}

/** Pure: the request every attempt sends. Throws ActionConfigError when it cannot be built. */
export function buildHttpRequest(action: HttpActionConfig, ctx: ActionContext): HttpRequest {
  let url: URL;
  try {
    url = new URL(action.url);
  } catch (err) {
    throw new ActionConfigError(`invalid url: ${action.url}`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ActionConfigError(`unsupported url scheme: ${url.protocol}`);
  }
  const hasBody = action.body !== undefined;
  if (hasBody && action.method === 'GET') throw new ActionConfigError('a GET request cannot carry a body');
  let headers: Headers;
  let body: string | undefined;
  try {
    headers = new Headers(action.headers);
    body = hasBody ? JSON.stringify(action.body) : undefined;
  } catch (err) {
    throw new ActionConfigError(`invalid request: ${errorText(err)}`, { cause: err });
  }
  // A user Content-Type is kept (e.g. application/vnd.x+json); the leasecron headers always win.
  if (hasBody && !headers.has('content-type')) headers.set('content-type', 'application/json');
  headers.set(SCHEDULE_ID_HEADER, ctx.scheduleId);
  headers.set(SCHEDULED_FOR_HEADER, ctx.scheduledFor.toISOString());
  headers.set(IDEMPOTENCY_KEY_HEADER, ctx.runId);
  return { url: url.href, init: { method: action.method, headers, body, redirect: 'manual' } };
}

/** Timeouts, network errors, 429 and 5xx may pass on their own; anything else will not. */
export function isRetryable(err: ActionError): boolean {
  if (err instanceof HttpTimeoutError || err instanceof HttpNetworkError) return true;
  if (err instanceof HttpStatusError) {
    return err.statusCode === 429 || (err.statusCode >= 500 && err.statusCode <= 599);
  }
  return false;
}

interface AttemptOutcome {
  statusCode?: number;
  summary?: string;
  /** Absent on success. */
  error?: ActionError;
}

export function createHttpAction(options: HttpActionOptions = {}): ActionHandler<HttpActionConfig> {
  const doFetch =
    options.fetch ??
    createEgressFetch(
      options.egress ?? DEFAULT_EGRESS_POLICY,
      options.lookup ? { lookup: options.lookup } : {},
    );
  const now = options.now ?? (() => new Date());
  const monotonicMs = options.monotonicMs ?? (() => performance.now());
  const random = options.random ?? Math.random;
  const capMs = options.maxRetryDelayMs ?? MAX_RETRY_DELAY_MS;

  return async (action, ctx) => {
    const startedAt = monotonicMs();
    const finish = (attempts: number, last: AttemptOutcome, status?: ActionStatus): ActionResult => ({
      status: status ?? (last.error ? 'failed' : 'succeeded'),
      attempts,
      ...(last.error ? { error: last.error.message } : {}),
      response: {
        ...(last.statusCode !== undefined ? { statusCode: last.statusCode } : {}),
        durationMs: Math.round(monotonicMs() - startedAt),
        ...(last.summary !== undefined ? { summary: last.summary } : {}),
      },
    });

    let request: HttpRequest;
    try {
      request = buildHttpRequest(action, ctx);
    } catch (err) {
      if (err instanceof ActionConfigError) return finish(0, { error: err });
      throw err;
    }
    const maxAttempts = Math.max(1, Math.floor(action.retry.maxAttempts));
    let last: AttemptOutcome = {};
    for (let attempt = 1; ; attempt++) {
      if (ctx.signal.aborted) {
        // Nothing more is sent; what was sent before (if anything) got a failing answer.
        return attempt === 1
          ? finish(0, { error: new ActionAbortedError() }, 'aborted')
          : finish(attempt - 1, { ...last, error: abortedAfter(last.error) });
      }
      last = await attemptOnce(doFetch, request, action.timeoutMs, ctx.signal);
      const { error } = last;
      // Refused before connecting: this attempt sent nothing.
      if (error instanceof EgressRefusedError) return finish(attempt - 1, last);
      // Cut off with the request under way: the receiver may have it (and may act on it).
      if (error instanceof ActionAbortedError) return finish(attempt, last, 'unknown');
      if (!error) return finish(attempt, last);
      if (!isRetryable(error) || attempt >= maxAttempts) return finish(attempt, last);
      const delayMs = retryDelayMs({
        attempt,
        backoffMs: action.retry.backoffMs,
        retryAfter: error instanceof HttpStatusError ? error.retryAfter : null,
        now: now(),
        random,
        capMs,
      });
      ctx.logger.warn(
        { runId: ctx.runId, scheduleId: ctx.scheduleId, attempt, maxAttempts, delayMs, error: error.message },
        'http action attempt failed, retrying',
      );
      try {
        await sleep(delayMs, undefined, { signal: ctx.signal });
      } catch {
        return finish(attempt, { ...last, error: abortedAfter(error) });
      }
    }
  };
}

/** The default handler, with the real clock, network and randomness, and the built-in egress refusals. */
export const runHttpAction: ActionHandler<HttpActionConfig> = createHttpAction();

async function attemptOnce(
  doFetch: FetchLike,
  request: HttpRequest,
  timeoutMs: number,
  runSignal: AbortSignal,
): Promise<AttemptOutcome> {
  const timeout = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await doFetch(request.url, { ...request.init, signal: AbortSignal.any([runSignal, timeout]) });
  } catch (err) {
    if (err instanceof EgressRefusedError) return { error: err };
    if (runSignal.aborted) {
      return {
        error: new ActionAbortedError('aborted with the request under way; it may have been delivered', {
          cause: err,
        }),
      };
    }
    if (timeout.aborted) return { error: new HttpTimeoutError(timeoutMs, { cause: err }) };
    return { error: new HttpNetworkError(errorText(err), { cause: err }) };
  }
  // The status line is the verdict; the body is only read (and bounded by the same signals) for
  // the summary, so a stalled body after a 2xx does not turn a delivered webhook into a failure.
  const summary = await readSummary(res);
  const statusCode = res.status;
  const base = { statusCode, ...(summary !== undefined ? { summary } : {}) };
  // An answer arrived: it is the outcome, even if the run was aborted meanwhile.
  if (statusCode >= 200 && statusCode <= 299) return base;
  const retryAfter = statusCode === 429 || statusCode === 503 ? res.headers.get('retry-after') : null;
  // The receiver writes these; the run history keeps them, so only so much of them.
  let message = `HTTP ${statusCode}${res.statusText ? ` ${clip(res.statusText)}` : ''}`;
  if (statusCode >= 300 && statusCode <= 399) {
    message += `; redirects are not followed (Location: ${clip(res.headers.get('location') ?? 'none')})`;
  }
  return { ...base, error: new HttpStatusError(statusCode, message, retryAfter) };
}

/** First SUMMARY_CHARS characters of the body, reading no more than needed; best effort. */
async function readSummary(res: Response): Promise<string | undefined> {
  if (!res.body) return undefined;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < SUMMARY_CHARS) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
    text += decoder.decode();
  } catch {
    // A body cut short by the timeout or the abort still leaves whatever was read.
  } finally {
    reader.cancel().catch(() => {});
  }
  return text.length > 0 ? text.slice(0, SUMMARY_CHARS) : undefined;
}

/** Aborted between attempts: the last attempt's failure stands, and no retry follows. */
function abortedAfter(last: ActionError | undefined): ActionAbortedError {
  return new ActionAbortedError(`aborted before retrying${last ? ` (last attempt: ${last.message})` : ''}`);
}

function clip(text: string): string {
  return text.length > ECHO_CHARS ? `${text.slice(0, ECHO_CHARS)}…` : text;
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch reports "fetch failed" and keeps the useful part (ECONNREFUSED, ...) in `cause`.
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return `${err.message}: ${cause.message || code || cause.name}`;
  }
  return err.message;
}
