// The http action against a real node:http server on loopback: headers on the wire, retry and
// give-up rules, Retry-After, timeouts, refused connections and cancellation.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cidrs } from '../egress/cidr.ts';
import { createEgressPolicy } from '../egress/policy.ts';
import type { EgressLookup } from './egress-fetch.ts';
import { buildHttpRequest, createHttpAction } from './http-action.ts';
import { ActionConfigError, type ActionContext, type HttpActionConfig } from './types.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}
type Responder = (res: ServerResponse, seen: Seen) => void;

let server: Server;
let baseUrl: string;
let seen: Seen[];
let responders: Responder[];

/** Each request takes the next responder; the last one repeats. */
function respondWith(...list: Responder[]) {
  responders = list;
}
const status =
  (code: number, body = '', headers: Record<string, string> = {}): Responder =>
  (res) => {
    res.writeHead(code, headers);
    res.end(body);
  };
const hang: Responder = () => {};

beforeEach(async () => {
  seen = [];
  responders = [status(200)];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      };
      seen.push(entry);
      const responder = responders.length > 1 ? responders.shift()! : responders[0]!;
      responder(res, entry);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const SCHEDULED_FOR = new Date('2026-03-01T02:30:00.000Z');

function ctx(signal: AbortSignal = new AbortController().signal): ActionContext {
  return {
    runId: 'run-123',
    scheduleId: 'sched-1',
    scheduleName: 'nightly-report',
    namespace: 'default',
    scheduledFor: SCHEDULED_FOR,
    signal,
    logger: pino({ level: 'silent' }),
  };
}

function action(overrides: Partial<HttpActionConfig> = {}): HttpActionConfig {
  return {
    type: 'http',
    url: `${baseUrl}/hook`,
    method: 'POST',
    timeoutMs: 2000,
    retry: { maxAttempts: 3, backoffMs: 10 },
    ...overrides,
  };
}

// The sink listens on loopback, which the egress policy refuses unless allowed.
const allowLoopback = () => createEgressPolicy({ allow: cidrs('127.0.0.1/32') });
const run = createHttpAction({ egress: allowLoopback() });

/** Sends to the sink by the name `sink.test` (its port), resolved by `lookup`, loopback allowed. */
function sendViaName(lookup: EgressLookup) {
  const send = createHttpAction({ egress: allowLoopback(), lookup });
  return send(action({ url: `${baseUrl.replace('127.0.0.1', 'sink.test')}/hook` }), ctx());
}

describe('http action on the wire', () => {
  it('sends the leasecron headers, user headers and a JSON body', async () => {
    const result = await run(action({ headers: { 'x-team': 'a' }, body: { kind: 'nightly' } }), ctx());
    expect(result.status).toBe('succeeded');
    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hook');
    expect(req.headers['x-leasecron-schedule-id']).toBe('sched-1');
    expect(req.headers['x-leasecron-scheduled-for']).toBe('2026-03-01T02:30:00.000Z');
    expect(req.headers['idempotency-key']).toBe('run-123');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-team']).toBe('a');
    expect(JSON.parse(req.body)).toEqual({ kind: 'nightly' });
  });

  it('sends no Content-Type and no body when there is no body', async () => {
    await run(action({ method: 'GET' }), ctx());
    expect(seen[0]!.method).toBe('GET');
    expect(seen[0]!.headers['content-type']).toBeUndefined();
    expect(seen[0]!.body).toBe('');
  });

  it('does not let user headers override the leasecron headers, in any letter case', async () => {
    const headers = {
      'idempotency-key': 'mine',
      'X-LEASECRON-SCHEDULE-ID': 'other',
      'x-leasecron-scheduled-for': 'yesterday',
      'Content-Type': 'application/vnd.team+json',
    };
    await run(action({ headers, body: {} }), ctx());
    const h = seen[0]!.headers;
    expect(h['idempotency-key']).toBe('run-123');
    expect(h['x-leasecron-schedule-id']).toBe('sched-1');
    expect(h['x-leasecron-scheduled-for']).toBe('2026-03-01T02:30:00.000Z');
    expect(h['content-type']).toBe('application/vnd.team+json');
  });
});

describe('http action results', () => {
  it('2xx succeeds with one attempt and records status, duration and summary', async () => {
    respondWith(status(202, 'accepted'));
    const result = await run(action(), ctx());
    expect(result).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      response: { statusCode: 202, summary: 'accepted' },
    });
    expect(result.error).toBeUndefined();
    expect(result.response?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('204 succeeds without a summary; the request names leasecron as its user agent', async () => {
    respondWith(status(204));
    const result = await run(action(), ctx());
    expect(result).toMatchObject({ status: 'succeeded', attempts: 1, response: { statusCode: 204 } });
    expect(result.response?.summary).toBeUndefined();
    expect(seen[0]!.headers['user-agent']).toBe('leasecron');
  });

  it('keeps only the first 512 characters of the body', async () => {
    respondWith(status(200, 'x'.repeat(100_000)));
    const result = await run(action(), ctx());
    expect(result.response?.summary).toBe('x'.repeat(512));
  });

  it('500 then 200 succeeds on the second attempt', async () => {
    respondWith(status(500, 'boom'), status(200, 'ok'));
    const result = await run(action(), ctx());
    expect(result).toMatchObject({ status: 'succeeded', attempts: 2, response: { statusCode: 200 } });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.headers['idempotency-key']).toBe('run-123');
  });

  it('persistent 503 fails after maxAttempts with the last status', async () => {
    respondWith(status(503, 'down'));
    const result = await run(action(), ctx());
    expect(result).toMatchObject({
      status: 'failed',
      attempts: 3,
      response: { statusCode: 503, summary: 'down' },
    });
    expect(result.error).toContain('503');
    expect(seen).toHaveLength(3);
  });

  it('429 with Retry-After: 1 waits about a second before the next attempt', async () => {
    respondWith(status(429, '', { 'retry-after': '1' }), status(200));
    const result = await run(action(), ctx());
    expect(result).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('404 fails at once', async () => {
    respondWith(status(404, 'no such hook'));
    const result = await run(action(), ctx());
    expect(result).toMatchObject({
      status: 'failed',
      attempts: 1,
      response: { statusCode: 404, summary: 'no such hook' },
    });
    expect(result.error).toContain('404');
    expect(seen).toHaveLength(1);
  });

  it('3xx is not followed and fails at once', async () => {
    respondWith(status(302, '', { location: '/elsewhere' }));
    const result = await run(action(), ctx());
    expect(result).toMatchObject({ status: 'failed', attempts: 1, response: { statusCode: 302 } });
    expect(result.error).toContain('/elsewhere');
    expect(seen.map((s) => s.url)).toEqual(['/hook']);
  });

  it('times out each attempt and retries', async () => {
    respondWith(hang);
    const started = performance.now();
    const result = await run(action({ timeoutMs: 100, retry: { maxAttempts: 2, backoffMs: 10 } }), ctx());
    expect(result).toMatchObject({ status: 'failed', attempts: 2 });
    expect(result.error).toContain('timed out after 100 ms');
    expect(result.response?.statusCode).toBeUndefined();
    expect(seen).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('retries a refused connection and fails after maxAttempts', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await run(action({ url: `http://127.0.0.1:${port}/hook` }), ctx());
    expect(result).toMatchObject({ status: 'failed', attempts: 3 });
    expect(result.error).toContain('ECONNREFUSED');
  });

  it('abort during a request stops within 100 ms; the outcome is unknown (it may have been delivered)', async () => {
    respondWith(hang);
    const controller = new AbortController();
    const pending = run(action({ timeoutMs: 10_000 }), ctx(controller.signal));
    await until(() => seen.length === 1);
    const abortedAt = performance.now();
    controller.abort();
    const result = await pending;
    expect(performance.now() - abortedAt).toBeLessThan(100);
    expect(result).toMatchObject({ status: 'unknown', attempts: 1 });
    expect(result.error).toContain('may have been delivered');
    expect(seen).toHaveLength(1);
  });

  it('abort during the backoff wait stops within 100 ms; the failed attempt stands', async () => {
    respondWith(status(500));
    const controller = new AbortController();
    const pending = run(action({ retry: { maxAttempts: 5, backoffMs: 60_000 } }), ctx(controller.signal));
    await until(() => seen.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const abortedAt = performance.now();
    controller.abort();
    const result = await pending;
    expect(performance.now() - abortedAt).toBeLessThan(100);
    expect(result).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'aborted before retrying (last attempt: HTTP 500 Internal Server Error)',
      response: { statusCode: 500 },
    });
    expect(seen).toHaveLength(1);
  });

  it('an already aborted signal sends nothing', async () => {
    const result = await run(action(), ctx(AbortSignal.abort()));
    expect(result).toMatchObject({ status: 'aborted', attempts: 0, error: 'aborted' });
    expect(seen).toHaveLength(0);
  });

  it('an unbuildable request fails without sending', async () => {
    const result = await run(action({ method: 'GET', body: { a: 1 } }), ctx());
    expect(result).toMatchObject({ status: 'failed', attempts: 0 });
    expect(seen).toHaveLength(0);
  });
});

describe('egress policy: refused addresses are never sent to', () => {
  const strict = createHttpAction();

  it('refuses the cloud metadata address 169.254.169.254 without connecting', async () => {
    const result = await strict(
      action({
        url: 'http://169.254.169.254/latest/meta-data/',
        timeoutMs: 500,
        retry: { maxAttempts: 1, backoffMs: 10 },
      }),
      ctx(),
    );
    expect(result).toMatchObject({ status: 'failed', attempts: 0 });
    expect(result.error).toMatch(/^egress refused: 169\.254\.169\.254 is link-local/);
  });

  it('refuses the same address written as IPv4-mapped IPv6', async () => {
    const result = await strict(action({ url: 'http://[::ffff:169.254.169.254]/', timeoutMs: 500 }), ctx());
    expect(result).toMatchObject({ status: 'failed', attempts: 0 });
    expect(result.error).toMatch(/^egress refused: 169\.254\.169\.254 is link-local/);
  });

  it('refuses 127.0.0.1 when it is not allowed', async () => {
    const result = await strict(action(), ctx());
    expect(result).toMatchObject({ status: 'failed', attempts: 0 });
    expect(result.error).toMatch(/^egress refused: 127\.0\.0\.1 is loopback/);
    expect(seen).toHaveLength(0);
  });

  it('refuses a name that resolves to a denied address (localhost), after resolving it', async () => {
    const url = `${baseUrl.replace('127.0.0.1', 'localhost')}/hook`;
    const result = await strict(action({ url }), ctx());
    expect(result).toMatchObject({ status: 'failed', attempts: 0 });
    expect(result.error).toMatch(
      /^egress refused: localhost resolves to (127\.0\.0\.1|::1), which is loopback/,
    );
    expect(seen).toHaveLength(0);
  });

  it('refuses a name when any of its addresses is denied, and does not retry', async () => {
    const lookups: string[] = [];
    const resolver: EgressLookup = (hostname, _options, callback) => {
      lookups.push(hostname);
      callback(null, [
        { address: '127.0.0.1', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ]);
    };
    const result = await sendViaName(resolver);
    expect(result).toMatchObject({ status: 'failed', attempts: 0 });
    expect(result.error).toMatch(
      /^egress refused: sink\.test resolves to 169\.254\.169\.254, which is link-local/,
    );
    expect(lookups).toEqual(['sink.test']);
    expect(seen).toHaveLength(0);
  });

  it('delivers through a name whose addresses are all allowed', async () => {
    const resolver: EgressLookup = (_hostname, _options, callback) =>
      callback(null, [{ address: '127.0.0.1', family: 4 }]);
    const result = await sendViaName(resolver);
    expect(result).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(seen[0]!.headers.host).toBe(`sink.test:${new URL(baseUrl).port}`);
  });

  it('resolves again for every attempt: a name that turns to a denied address is refused then', async () => {
    respondWith(status(500, 'try again'));
    let calls = 0;
    const rebinding: EgressLookup = (_hostname, _options, callback) =>
      callback(null, [{ address: calls++ === 0 ? '127.0.0.1' : '169.254.169.254', family: 4 }]);
    const result = await sendViaName(rebinding);
    expect(result).toMatchObject({ status: 'failed', attempts: 1 });
    expect(result.error).toMatch(/^egress refused: sink\.test resolves to 169\.254\.169\.254/);
    expect(seen).toHaveLength(1);
  });

  it('an explicit deny beats an allow', async () => {
    const denied = createHttpAction({
      egress: createEgressPolicy({ allow: cidrs('127.0.0.0/8'), deny: cidrs('127.0.0.1/32') }),
    });
    const result = await denied(action(), ctx());
    expect(result).toMatchObject({ status: 'failed', attempts: 0 });
    expect(result.error).toMatch(/^egress refused: 127\.0\.0\.1 is in HTTP_DENY_CIDRS \(127\.0\.0\.1\/32\)/);
    expect(seen).toHaveLength(0);
  });
});

describe('what a response may put into the run history is bounded', () => {
  it('a long reason phrase and Location header are cut short in the error', async () => {
    respondWith((res) => {
      res.writeHead(302, 'R'.repeat(4000), { location: `/${'l'.repeat(8000)}` });
      res.end('x'.repeat(100_000));
    });
    const result = await run(action(), ctx());
    expect(result.status).toBe('failed');
    expect(result.error!.length).toBeLessThanOrEqual(600);
    expect(result.response?.summary).toHaveLength(512);
  });

  it('a multi-byte body keeps at most 512 characters', async () => {
    respondWith(status(200, '€'.repeat(10_000)));
    const result = await run(action(), ctx());
    expect(result.response?.summary).toBe('€'.repeat(512));
  });
});

describe('buildHttpRequest', () => {
  it.each([
    ['a non-http scheme', { url: 'file:///etc/passwd' }],
    ['an invalid url', { url: 'not a url' }],
    ['a body on GET', { method: 'GET' as const, body: 'x' }],
    ['an invalid header value', { headers: { 'x-a': 'a\nb' } }],
  ])('rejects %s with ActionConfigError', (_name, overrides) => {
    expect(() => buildHttpRequest(action(overrides), ctx())).toThrow(ActionConfigError);
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
