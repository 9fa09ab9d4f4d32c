// Outermost middleware: gives each request an id (a sane incoming X-Request-Id, else
// a new UUID), echoes it, and on the way out writes one log line and the HTTP metrics,
// labelled by route pattern so ids in paths cannot explode metric cardinality.
import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { rawPath } from './problem.ts';
import type { AppEnv } from './types.ts';

const SANE_REQUEST_ID = /^[A-Za-z0-9._~:+/=-]{1,128}$/;
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function requestId(incoming: string | undefined): string {
  return incoming && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The pattern of the handler that answered; 'unmatched' when only middleware ran (404s). */
export function routeLabel(c: Context<AppEnv>): string {
  const route = matchedRoutes(c)[c.req.routeIndex];
  // ALL is middleware ('*', '/api/*') unless it names a path: the 405 handler of a known one
  return route && (route.method !== 'ALL' || !route.path.includes('*')) ? route.path : 'unmatched';
}

/** Kubelet probes and Prometheus scrapes: every few seconds per replica, worth a line only when they fail. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export function requestLog(logger: Logger, metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    const id = requestId(c.req.header('x-request-id'));
    c.set('requestId', id);
    await next();
    c.header('x-request-id', id);
    const seconds = (performance.now() - start) / 1000;
    const route = routeLabel(c);
    const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : 'OTHER';
    const status = c.res.status;
    metrics.http.requests.inc({ method, route, status: String(status) });
    metrics.http.duration.observe({ method, route }, seconds);
    const level = QUIET_ROUTES.has(route) && status < 500 ? 'debug' : 'info';
    logger[level](
      {
        requestId: id,
        method: c.req.method,
        route,
        path: rawPath(c.req.url),
        status,
        durationMs: Math.round(seconds * 1e4) / 10,
      },
      'request',
    );
  };
}
