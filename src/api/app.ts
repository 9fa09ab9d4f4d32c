// The HTTP API as a Hono app built from its dependencies: no server, no globals, so
// tests call app.request() in-process and main.ts serves it with @hono/node-server.
import { Hono } from 'hono';
import { CONSOLE_PATHS, registerConsoleRoutes } from '../console/routes.ts';
import { authenticate } from './auth.ts';
import { dbDeadline } from './deadline.ts';
import { renderDocsPage } from './docs-page.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { ApiError, createErrorHandler, problemResponse, rawPath } from './problem.ts';
import { requestLog } from './request-log.ts';
import { CLUSTER, registerClusterRoutes } from './routes/cluster.ts';
import { registerOpsRoutes } from './routes/ops.ts';
import { NS_RUNS, NS_TRIGGER, RUNS, registerRunRoutes, TRIGGER } from './routes/runs.ts';
import {
  NS_SCHEDULE,
  NS_SCHEDULES,
  registerScheduleRoutes,
  SCHEDULE,
  SCHEDULES,
} from './routes/schedules.ts';
import type { ApiDeps, AppEnv } from './types.ts';

export type { ApiDeps, ClusterStatus } from './types.ts';

/** Allowed methods per path, for 405 + Allow on the others. */
const ALLOWED: Record<string, string[]> = {
  // every schedule route, with and without /namespaces/{namespace}/
  ...Object.fromEntries(
    [
      [SCHEDULES, SCHEDULE, RUNS, TRIGGER],
      [NS_SCHEDULES, NS_SCHEDULE, NS_RUNS, NS_TRIGGER],
    ].flatMap(([collection, item, runs, trigger]) => [
      [collection, ['GET', 'HEAD', 'POST']],
      [item, ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE']],
      [`${item}/pause`, ['POST']],
      [`${item}/resume`, ['POST']],
      [trigger, ['POST']],
      [runs, ['GET', 'HEAD']],
    ]),
  ),
  [CLUSTER]: ['GET', 'HEAD'],
  '/healthz': ['GET', 'HEAD'],
  '/readyz': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
  '/openapi.json': ['GET', 'HEAD'],
  '/docs': ['GET', 'HEAD'],
  ...Object.fromEntries(CONSOLE_PATHS.map((path) => [path, ['GET', 'HEAD']])),
};

export function createApp(deps: ApiDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(createErrorHandler(deps.logger));
  app.notFound((c) =>
    problemResponse(c, new ApiError(404, `no route for ${c.req.method} ${rawPath(c.req.url)}`)),
  );

  app.use('*', requestLog(deps.logger, deps.metrics));
  app.use('/api/*', authenticate(deps.auth));
  // Routes reach the stores only through c.var.stores, bounded per request (deadline.ts).
  app.use('/api/*', dbDeadline(deps));

  registerOpsRoutes(app, deps);
  const openapi = buildOpenApiDocument();
  const openapiJson = JSON.stringify(openapi);
  const docs = renderDocsPage(openapi);
  app.get('/openapi.json', (c) => c.body(openapiJson, 200, { 'content-type': 'application/json' }));
  app.get('/docs', (c) => {
    c.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
    return c.html(docs);
  });
  registerConsoleRoutes(app);
  registerClusterRoutes(app, deps);
  registerScheduleRoutes(app, deps);
  registerRunRoutes(app, deps);

  // After every route: a request no route answered on a known path gets 405 + Allow, whatever
  // its method (PROPFIND, PURGE, … too; HEAD is answered by the GET route where there is one).
  for (const [path, allowed] of Object.entries(ALLOWED)) {
    app.all(path, () => {
      throw new ApiError(405, `allowed methods: ${allowed.join(', ')}`, {
        headers: { allow: allowed.join(', ') },
      });
    });
  }
  return app;
}
