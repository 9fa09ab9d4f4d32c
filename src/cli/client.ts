// The CLI's HTTP client: one fetch per call with the bearer token and a timeout, JSON in and
// out. A non-2xx answer is an ApiError carrying the status and the parsed problem+json body;
// no answer at all is an UnreachableError, so main.ts maps both to exit codes by class.
import type { Options } from './args.ts';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly statusText: string;
  readonly body: unknown;
  readonly headers: Headers;

  constructor(status: number, statusText: string, body: unknown, headers: Headers) {
    super(`HTTP ${status} ${statusText}`);
    this.status = status;
    this.statusText = statusText;
    this.body = body;
    this.headers = headers;
  }
}

export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  readonly server: string;
  readonly reason: string;

  constructor(server: string, reason: string, options?: ErrorOptions) {
    super(`no leasecron API answered at ${server} (${reason})`, options);
    this.server = server;
    this.reason = reason;
  }
}

export interface Response<T> {
  status: number;
  headers: Headers;
  body: T;
}

export class Client {
  readonly #options: Pick<Options, 'server' | 'token' | 'timeoutMs'>;

  constructor(options: Pick<Options, 'server' | 'token' | 'timeoutMs'>) {
    this.#options = options;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    opts: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Response<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (this.#options.token) headers.authorization = `Bearer ${this.#options.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    let res: globalThis.Response;
    try {
      res = await fetch(`${this.#options.server}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
    } catch (error) {
      const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
      // ECONNREFUSED, ENOTFOUND…; fetch's own refusals (a port browsers block) carry only a message
      const reason =
        e.name === 'TimeoutError'
          ? `no answer within ${this.#options.timeoutMs} ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(error));
      throw new UnreachableError(this.#options.server, reason, { cause: error });
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (a proxy's HTML page): kept as text for the error message
    }
    if (!res.ok) throw new ApiError(res.status, res.statusText, parsed, res.headers);
    return { status: res.status, headers: res.headers, body: parsed as T };
  }
}
