// Authentication and authorization of /api/ routes (issue 11). The middleware learns who calls
// (deps.auth.authenticate: the static API_TOKEN, a Kubernetes TokenReview, or nobody under
// AUTH=none) and puts the caller in c.var.principal; each route then asks requireAccess() for
// the permission it needs, which deps.auth answers (a SubjectAccessReview in kubernetes mode).
// Kubernetes not answering a review is a 503 to retry, never a 401 or 403.
import type { Context, MiddlewareHandler } from 'hono';
import { type ApiAuth, AuthUnavailableError } from '../auth/api-auth.ts';
import { describeAttributes, type ResourceAttributes } from '../auth/principal.ts';
import { ApiError } from './problem.ts';
import type { AppEnv } from './types.ts';

export { tokenMatches } from '../auth/api-auth.ts';

/** The token in `Authorization: Bearer <token>` (scheme case-insensitive), or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer +([^\s]+) *$/i.exec(header ?? '');
  return m?.[1] ?? null;
}

const unavailable = (err: AuthUnavailableError) =>
  new ApiError(503, `cannot check credentials now: ${err.message}; retry shortly`, {
    headers: { 'retry-after': '1' },
    cause: err,
  });

export function authenticate(auth: ApiAuth): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const presented = bearerToken(c.req.header('authorization'));
    const principal = await auth.authenticate(presented).catch((err: unknown) => {
      if (err instanceof AuthUnavailableError) throw unavailable(err);
      throw err;
    });
    if (principal === null) {
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
    c.set('principal', principal);
    await next();
  };
}

/** Whether the caller may; a review Kubernetes cannot answer is a 503. */
export async function mayAccess(
  c: Context<AppEnv>,
  auth: ApiAuth,
  attrs: ResourceAttributes,
): Promise<boolean> {
  try {
    return (await auth.authorize(c.var.principal, attrs)).allowed;
  } catch (err) {
    if (err instanceof AuthUnavailableError) throw unavailable(err);
    throw err;
  }
}

/** 403 naming the missing permission unless the caller has it. */
export async function requireAccess(
  c: Context<AppEnv>,
  auth: ApiAuth,
  attrs: ResourceAttributes,
): Promise<void> {
  if (await mayAccess(c, auth, attrs)) return;
  const permission = describeAttributes(attrs);
  throw new ApiError(403, `${c.var.principal.username} may not ${permission}`, {
    errors: [{ field: '', message: `missing permission: ${permission}` }],
  });
}
