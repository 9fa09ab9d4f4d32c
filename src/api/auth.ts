// Optional bearer-token auth for /api/ routes (API_TOKEN). The comparison must not
// leak the token through timing: both sides are hashed to equal-length digests and
// compared with timingSafeEqual, so neither length nor prefix matches are observable.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './problem.ts';
import type { AppEnv } from './types.ts';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The token in `Authorization: Bearer <token>` (scheme case-insensitive), or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer +([^\s]+) *$/i.exec(header ?? '');
  return m?.[1] ?? null;
}

/** Constant-time equality of a presented token with the expected one. */
export function tokenMatches(expected: string, presented: string | null): boolean {
  // Hash even when absent, so a missing header costs the same as a wrong one.
  const ok = timingSafeEqual(digest(expected), digest(presented ?? ''));
  return ok && presented !== null;
}

export function bearerAuth(expected: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const presented = bearerToken(c.req.header('authorization'));
    if (!tokenMatches(expected, presented)) {
      const challenge =
        presented === null ? 'Bearer realm="leasecron"' : 'Bearer realm="leasecron", error="invalid_token"';
      throw new ApiError(
        401,
        presented === null
          ? 'this route needs Authorization: Bearer <token>'
          : 'the bearer token is not valid',
        { headers: { 'www-authenticate': challenge } },
      );
    }
    await next();
  };
}
