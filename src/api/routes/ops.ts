// Probe and scrape endpoints, never behind auth: kubelet and Prometheus call them.
// /healthz says only "the process serves HTTP"; /readyz asks deps.ready() (MongoDB).
import type { Hono } from 'hono';
import { ApiError } from '../problem.ts';
import type { ApiDeps, AppEnv } from '../types.ts';

export function registerOpsRoutes(app: Hono<AppEnv>, deps: ApiDeps): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const ready = await deps.ready().catch((err: unknown) => {
      deps.logger.warn({ err }, 'readiness check failed');
      return false;
    });
    if (!ready) throw new ApiError(503, 'not ready: MongoDB does not answer or start-up is not finished');
    return c.json({ status: 'ready' });
  });

  app.get('/metrics', async (c) => {
    const text = await deps.metrics.registry.metrics();
    return c.body(text, 200, { 'content-type': deps.metrics.registry.contentType });
  });
}
