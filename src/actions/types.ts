// The contract between the engine and the actions: what an action is told about a run, what it
// reports back, and the typed errors actions use to decide retry vs give up (by `instanceof`).
// The action config shapes are local until they are reconciled with src/schedule/schema.ts.
import type { Logger } from 'pino';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface LogActionConfig {
  type: 'log';
  message?: string;
}

export interface HttpActionConfig {
  type: 'http';
  url: string;
  method: HttpMethod;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  retry: { maxAttempts: number; backoffMs: number };
}

export interface KubernetesJobActionConfig {
  type: 'kubernetesJob';
  namespace?: string;
  template: Record<string, unknown>;
  /** finished Jobs of the schedule to keep; the schema's defaults are CronJob's, 3 and 1 */
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
}

export type ActionConfig = LogActionConfig | HttpActionConfig | KubernetesJobActionConfig;

/** The part of a pino logger actions use; a real pino `Logger` satisfies it. */
export type ActionLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface ActionContext {
  /** Id of the claimed run document; doubles as the idempotency key. */
  runId: string;
  scheduleId: string;
  scheduleName: string;
  /** The schedule's namespace: where a kubernetesJob action creates its Job. */
  namespace: string;
  /** The occurrence being run (not the time it is sent). */
  scheduledFor: Date;
  /** When the engine started this run (the run's `firedAt`); informational only. */
  attemptStartedAt?: Date;
  /**
   * Aborted on concurrency=replace, on losing the Lease, or when shutdown's budget runs out;
   * actions stop at once and report `aborted` (nothing sent) or `unknown` (something was under way).
   */
  signal: AbortSignal;
  logger: ActionLogger;
}

export interface ActionResponseInfo {
  statusCode?: number;
  /** Wall time of the whole run, all attempts and waits included. */
  durationMs: number;
  /** First 512 characters of the last response body. */
  summary?: string;
}

/**
 * - `aborted`: cancelled through `ctx.signal` before anything was sent; it had no effect.
 * - `unknown`: cancelled while a request was under way; it may have taken effect.
 */
export type ActionStatus = 'succeeded' | 'failed' | 'aborted' | 'unknown';

export interface ActionResult {
  status: ActionStatus;
  attempts: number;
  error?: string;
  response?: ActionResponseInfo;
  /**
   * With `succeeded`: the action started something that carries on without it (a kubernetesJob's
   * Job). The run is not finished but follows it; the JobTracker records how it ends.
   */
  handedOff?: { kind: 'Job'; namespace: string; name: string };
}

export type ActionHandler<A extends ActionConfig> = (action: A, ctx: ActionContext) => Promise<ActionResult>;

export interface ActionRunner {
  /** Never rejects: every failure, including an unexpected throw, becomes a `failed` result. */
  run(action: ActionConfig, ctx: ActionContext): Promise<ActionResult>;
}

/** Base of every error an action raises. */
export class ActionError extends Error {
  override name = 'ActionError';
}

/** The run was cancelled through `ctx.signal`. */
export class ActionAbortedError extends ActionError {
  override name = 'ActionAbortedError';
  constructor(message = 'aborted', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The action cannot run as configured (bad URL, body on GET, invalid header); retrying cannot help. */
export class ActionConfigError extends ActionError {
  override name = 'ActionConfigError';
}

/**
 * The egress policy refuses the address the request would go to (src/egress/policy.ts); nothing
 * was sent. Retrying cannot help: the policy, the URL or what its name resolves to must change.
 */
export class EgressRefusedError extends ActionConfigError {
  override name = 'EgressRefusedError';
  /** The refused address, canonical. */
  readonly address: string;
  constructor(message: string, address: string, options?: ErrorOptions) {
    super(message, options);
    this.address = address;
  }
}

/** One HTTP attempt took longer than `timeoutMs`. */
export class HttpTimeoutError extends ActionError {
  override name = 'HttpTimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number, options?: ErrorOptions) {
    super(`timed out after ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** No HTTP response at all: connection refused or reset, DNS failure, TLS error. */
export class HttpNetworkError extends ActionError {
  override name = 'HttpNetworkError';
}

/** A response arrived but its status is not 2xx. */
export class HttpStatusError extends ActionError {
  override name = 'HttpStatusError';
  readonly statusCode: number;
  /** The raw `Retry-After` header, kept only for 429 and 503 where it is honoured. */
  readonly retryAfter: string | null;
  constructor(statusCode: number, message: string, retryAfter: string | null, options?: ErrorOptions) {
    super(message, options);
    this.statusCode = statusCode;
    this.retryAfter = retryAfter;
  }
}
