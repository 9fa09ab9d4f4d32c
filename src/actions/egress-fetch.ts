// The http action's transport: a fetch-shaped function on node:http/https that asks the egress
// policy (src/egress/policy.ts) about the very addresses it connects to. Global fetch cannot: its
// connection pool resolves names out of reach, so a check before the request would judge one DNS
// answer and connect with another (DNS rebinding). Here a literal host is judged before anything
// happens, and a name through the socket's own `lookup`, so the addresses judged are the ones the
// socket uses. Each request gets its own connection (no pool): every attempt resolves afresh and
// no socket opened under one answer is reused under another.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { hostIp, parseIp } from '../egress/cidr.ts';
import { checkEgress, type EgressPolicy } from '../egress/policy.ts';
import { EgressRefusedError } from './types.ts';

/** The part of fetch the http action uses: a URL and method, headers, a string body, a signal. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Resolves every address of a name (dns.lookup with `all: true`); replaceable in tests. */
export type EgressLookup = (
  hostname: string,
  options: Pick<LookupOptions, 'family' | 'hints'>,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemLookup: EgressLookup = (hostname, options, callback) =>
  dnsLookup(hostname, { ...options, all: true }, callback);

/** Statuses whose responses have no body (fetch refuses a body for them). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const USER_AGENT = 'leasecron';

export function createEgressFetch(policy: EgressPolicy, opts: { lookup?: EgressLookup } = {}): FetchLike {
  const resolve = opts.lookup ?? systemLookup;

  // Refuses the name when any of its addresses is refused: an answer that mixes a public address
  // with the metadata one is an attack, not a reason to pick the good half.
  const guardedLookup: LookupFunction = (hostname, options, callback) => {
    resolve(hostname, { family: options.family, hints: options.hints }, (err, addresses) => {
      if (err) return callback(err, options.all ? [] : '');
      for (const { address } of addresses) {
        const ip = parseIp(address.split('%')[0] ?? address);
        const verdict = ip === null ? null : checkEgress(policy, ip);
        if (verdict === null || !verdict.allowed) {
          const shown = verdict?.address ?? address;
          const why = verdict === null ? 'not an IP address' : verdict.why;
          return callback(
            new EgressRefusedError(
              `egress refused: ${hostname} resolves to ${shown}, which is ${why}`,
              shown,
            ),
            options.all ? [] : '',
          );
        }
      }
      const first = addresses[0];
      if (first === undefined) {
        const none: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        none.code = 'ENOTFOUND';
        return callback(none, options.all ? [] : '');
      }
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };

  return (url, init) =>
    new Promise<Response>((resolvePromise, reject) => {
      const target = new URL(url);
      const literal = hostIp(target.hostname);
      if (literal !== null) {
        const verdict = checkEgress(policy, literal);
        if (!verdict.allowed) {
          reject(
            new EgressRefusedError(`egress refused: ${verdict.address} is ${verdict.why}`, verdict.address),
          );
          return;
        }
      }
      if (init.body !== undefined && init.body !== null && typeof init.body !== 'string') {
        reject(new TypeError('only string bodies are supported'));
        return;
      }
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const headers = Object.fromEntries(new Headers(init.headers ?? undefined));
      headers['user-agent'] ??= USER_AGENT;
      const method = init.method ?? 'GET';
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      try {
        const req = send(target, {
          method,
          headers,
          lookup: guardedLookup,
          agent: false,
          ...(signal ? { signal } : {}),
        });
        req.on('error', reject); // after the response too: a body cut off is the stream's error
        req.once('response', (res) => {
          try {
            resolvePromise(toResponse(res, method));
          } catch (err) {
            res.destroy();
            reject(err);
          }
        });
        req.end(init.body ?? undefined);
      } catch (err) {
        reject(err);
      }
    });
}

function toResponse(res: IncomingMessage, method: string): Response {
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 599) throw new Error(`unexpected HTTP status ${status}`);
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    try {
      headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
    } catch {
      // A header value fetch would refuse: leave it out rather than fail the run over it.
    }
  }
  const noBody = NULL_BODY.has(status) || method === 'HEAD';
  if (noBody) res.resume();
  const body = noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
  try {
    return new Response(body, { status, statusText: res.statusMessage ?? '', headers });
  } catch {
    // A reason phrase fetch would refuse (control characters): the status is what matters.
    return new Response(body, { status, headers });
  }
}
