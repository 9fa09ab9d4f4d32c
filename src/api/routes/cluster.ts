// GET /api/v1/cluster: who leads, as this replica sees the Lease. Served by every
// replica; 503 until leader election is wired in (deps.cluster absent).
import type { Hono } from 'hono';
import { ApiError } from '../problem.ts';
import type { ApiDeps, AppEnv, ClusterAuthStatus } from '../types.ts';

function authStatus(deps: ApiDeps): ClusterAuthStatus {
  const { mode } = deps.auth;
  return mode === 'none'
    ? { mode, warning: 'AUTH=none: the API is open to anyone who can reach it' }
    : { mode };
}

export const CLUSTER = '/api/v1/cluster';

export function registerClusterRoutes(app: Hono<AppEnv>, deps: ApiDeps): void {
  app.get(CLUSTER, async (c) => {
    if (!deps.cluster) throw new ApiError(503, 'leader election not running');
    return c.json({ ...(await deps.cluster()), auth: authStatus(deps) });
  });
}
