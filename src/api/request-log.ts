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
  return route && route.method !== 'ALL' ? route.path : 'unmatched';
}

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
    logger.info(
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
