// Request bodies: size limit (hono's bodyLimit, answered as a 413 problem), media
// type check (415) and JSON parsing (400), before any validation or store call.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from './problem.ts';
import type { AppEnv } from './types.ts';

export const JSON_TYPES = ['application/json'] as const;
export const MERGE_PATCH_TYPES = ['application/merge-patch+json', 'application/json'] as const;
/** Deeper JSON is refused before validation walks it (Job templates need about a dozen levels). */
export const MAX_JSON_DEPTH = 64;

export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, `the request body is larger than ${maxBytes} bytes`);
    },
  });
}

/** The media type without parameters, lower-cased; null when the header is absent or malformed. */
export function mediaType(header: string | undefined): { type: string; charset: string | null } | null {
  if (!header) return null;
  const [type, ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (!type || !/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type)) return null;
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  return { type, charset: charset ?? null };
}

export async function readJsonBody(c: Context<AppEnv>, accepted: readonly string[]): Promise<unknown> {
  const media = mediaType(c.req.header('content-type'));
  if (!media || !accepted.includes(media.type) || (media.charset !== null && media.charset !== 'utf-8')) {
    const acceptHeader = c.req.method === 'PATCH' ? 'accept-patch' : 'accept-post';
    throw new ApiError(415, `Content-Type must be ${accepted.join(' or ')} (UTF-8)`, {
      headers: { [acceptHeader]: accepted.join(', ') },
    });
  }
  const text = decodeUtf8Json(new Uint8Array(await c.req.arrayBuffer()));
  if (text.trim() === '') throw bodyError('the request body is empty; expected a JSON document');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bodyError(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (depthExceeds(value, MAX_JSON_DEPTH))
    throw bodyError(`the request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  const unstorable = unstorableStrings(value);
  if (unstorable.length > 0)
    throw new ApiError(
      400,
      `the request body holds text that cannot be stored as sent: ${unstorable.map((u) => u.field || '(body)').join(', ')}`,
      { errors: unstorable },
    );
  return value;
}

/**
 * Valid JSON that MongoDB cannot store as sent: a key with U+0000 (BSON field names end at a
 * NUL byte; the driver throws, which was a 500), and an escaped lone surrogate (`"\ud800"`, not
 * a character: BSON's UTF-8 would turn it into U+FFFD, storing what the client did not send, as
 * invalid UTF-8 bytes would). Both are refused with a 400 naming the field.
 */
export function unstorableStrings(root: unknown): { field: string; message: string }[] {
  const found: { field: string; message: string }[] = [];
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      if (!value.isWellFormed())
        found.push({ field: path, message: 'holds an unpaired surrogate escape, which is not a character' });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        const at = path ? `${path}.${key}` : key;
        if (key.includes('\u0000')) found.push({ field: at, message: 'a key may not contain U+0000' });
        else if (!key.isWellFormed())
          found.push({
            field: at,
            message: 'a key holds an unpaired surrogate escape, which is not a character',
          });
        else stack.push([child, at]);
      }
    }
  }
  return found.sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const LOSSY_UTF8 = new TextDecoder('utf-8');
const REPLACEMENT = '\uFFFD';

/**
 * The body as text, refusing invalid UTF-8 (RFC 8259 §8.1) rather than letting the decoder turn
 * it into U+FFFD, which would be stored as if the client had sent it. The 400 names each string
 * the bad bytes fall in (JSON outside strings is ASCII): the lossy decoding is parsed only to
 * find where its replacement characters are. A string that also holds a real, validly encoded
 * U+FFFD is named too; a body that is not JSON either is named as a whole.
 */
export function decodeUtf8Json(bytes: Uint8Array): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    const message = 'is not valid UTF-8';
    let fields: string[] = [];
    try {
      fields = stringsHolding(JSON.parse(LOSSY_UTF8.decode(bytes)), REPLACEMENT);
    } catch {
      // not JSON either: the body as a whole
    }
    if (fields.length === 0) fields = [''];
    throw new ApiError(400, `the request body ${message}: ${fields.map((f) => f || '(body)').join(', ')}`, {
      errors: fields.map((field) => ({ field, message: `${field ? 'the string ' : 'the body '}${message}` })),
    });
  }
}

/** Dotted paths (as field errors name them) of the strings, keys included, that contain `needle`. */
function stringsHolding(root: unknown, needle: string): string[] {
  const found: string[] = [];
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes(needle)) found.push(path);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        const at = path ? `${path}.${key}` : key;
        if (key.includes(needle)) found.push(at);
        else stack.push([child, at]);
      }
    }
  }
  return found.sort();
}

const bodyError = (message: string): ApiError =>
  new ApiError(400, message, { errors: [{ field: '', message }] });

/** Iterative, so a hostile document cannot overflow the stack here either. */
export function depthExceeds(root: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}
