// Probe and scrape endpoints, never behind auth: kubelet and Prometheus call them.
// /healthz says only "the process serves HTTP"; /readyz asks deps.ready() (MongoDB) and
// answers 503 when that does not succeed within READY_TIMEOUT_MS, so a frozen database makes
// the replica unready instead of hanging the probe.
import type { Hono } from 'hono';
import { DbBudget, readyTimeoutMs } from '../deadline.ts';
import { ApiError } from '../problem.ts';
import type { ApiDeps, AppEnv } from '../types.ts';

export function registerOpsRoutes(app: Hono<AppEnv>, deps: ApiDeps): void {
  const readyMs = readyTimeoutMs(deps.config);
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const check = async () => new DbBudget(readyMs).call('readiness ping', deps.ready);
    const ready = await check().catch((err: unknown) => {
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
