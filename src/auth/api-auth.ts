// How the API knows who calls and what they may do (issue 11). Three modes, chosen by AUTH:
// - kubernetes (the default): a bearer token is checked with a TokenReview and every request
//   with a SubjectAccessReview, so RBAC Roles decide, as for built-in resources; API_TOKEN,
//   when set, is also accepted as a static admin token for use outside the cluster;
// - token: API_TOKEN only (no Kubernetes reviews; a single admin credential);
// - none: no authentication at all. Only when asked for explicitly; logged loudly at start-up
//   and shown by GET /api/v1/cluster.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Decision, Principal, ResourceAttributes } from './principal.ts';

export type AuthMode = 'kubernetes' | 'token' | 'none';

export interface ApiAuth {
  readonly mode: AuthMode;
  /** The caller of a bearer token (null when absent); null when the token is not valid. */
  authenticate(token: string | null): Promise<Principal | null>;
  /** Whether the caller may; a superuser always may. */
  authorize(p: Principal, attrs: ResourceAttributes): Promise<Decision>;
}

/** Kubernetes could not answer a review (unreachable, timed out, 5xx): the caller should retry. */
export class AuthUnavailableError extends Error {
  override name = 'AuthUnavailableError';
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time equality of a presented token with the expected one. */
export function tokenMatches(expected: string, presented: string | null): boolean {
  // Hash even when absent, so a missing header costs the same as a wrong one.
  const ok = timingSafeEqual(digest(expected), digest(presented ?? ''));
  return ok && presented !== null;
}

export const STATIC_ADMIN: Principal = {
  username: 'leasecron:api-token',
  groups: ['leasecron:admins'],
  superuser: true,
};
export const ANONYMOUS_ADMIN: Principal = {
  username: 'system:anonymous',
  groups: ['system:unauthenticated'],
  superuser: true,
};

/** AUTH=none: everyone is everything. */
export function openAuth(): ApiAuth {
  return {
    mode: 'none',
    authenticate: async () => ANONYMOUS_ADMIN,
    authorize: async () => ({ allowed: true }),
  };
}

export interface Reviewer {
  review(token: string): Promise<Principal | null>;
  access(p: Principal, attrs: ResourceAttributes): Promise<Decision>;
}

/**
 * AUTH=token (no reviewer): API_TOKEN only. AUTH=kubernetes: the reviewer decides, and API_TOKEN
 * (when set) is checked first, in constant time, as a static admin token.
 */
export function tokenAuth(apiToken: string | undefined, reviewer?: Reviewer): ApiAuth {
  return {
    mode: reviewer ? 'kubernetes' : 'token',
    async authenticate(token) {
      if (token === null) return null;
      if (apiToken !== undefined && tokenMatches(apiToken, token)) return STATIC_ADMIN;
      return reviewer ? reviewer.review(token) : null;
    },
    async authorize(p, attrs) {
      if (p.superuser) return { allowed: true };
      return reviewer ? reviewer.access(p, attrs) : { allowed: false, reason: 'no authorizer' };
    },
  };
}
