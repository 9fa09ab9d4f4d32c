// What the API needs from the rest of the process, as one narrow deps object, so
// tests build the app in-process against the real store with a fixed clock.
import type { ApiAuth } from '../auth/api-auth.ts';
import type { Principal } from '../auth/principal.ts';
import type { Config } from '../config/load-config.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RunStore, ScheduleStore } from '../store/types.ts';

/** GET /api/v1/cluster: the Lease as this replica sees it. */
export interface ClusterStatus {
  /** This replica's identity (pod name). */
  identity: string;
  role: 'leader' | 'follower' | 'unknown';
  /** holderIdentity of the Lease; null when nobody holds it. */
  leader: string | null;
  leaseTransitions: number | null;
  /** ISO-8601, as in the Lease. */
  renewTime: string | null;
  acquireTime: string | null;
  leaseName: string;
  namespace: string;
}

/** GET /api/v1/cluster also says how callers are authenticated (loudly when nobody is). */
export interface ClusterAuthStatus {
  mode: 'kubernetes' | 'token' | 'none';
  warning?: string;
}

export interface ApiDeps {
  schedules: ScheduleStore;
  runs: RunStore;
  /**
   * The timeouts default to the documented API_DB_TIMEOUT_MS and READY_TIMEOUT_MS when absent;
   * `egress` to the built-in refusals (no HTTP_ALLOW_CIDRS), which refuse loopback http actions.
   */
  /** Who may call /api/ and what they may do (src/auth): always explicit, never a default. */
  auth: ApiAuth;
  config: Pick<Config, 'bodyLimitBytes'> &
    Partial<Pick<Config, 'apiDbTimeoutMs' | 'readyTimeoutMs' | 'egress'>>;
  logger: Logger;
  metrics: Metrics;
  now: () => Date;
  /** Readiness: MongoDB answers and config is loaded. A throw counts as not ready. */
  ready: () => Promise<boolean>;
  /** Absent until leader election runs: GET /api/v1/cluster is then 503. */
  cluster?: () => Promise<ClusterStatus> | ClusterStatus;
}

/** The stores as one request sees them: every call bounded by the request's database budget. */
export interface RequestStores {
  schedules: ScheduleStore;
  runs: RunStore;
}

/** Hono environment: per-request variables set by the request-log and deadline middleware. */
export interface AppEnv {
  Variables: { requestId: string; stores: RequestStores; principal: Principal };
}
