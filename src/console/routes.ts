// GET / (the console's page) and GET /console/{file} (its scripts and stylesheet), on every replica.
// Open like /docs: the page holds no data; the API calls it makes carry the user's token.
import type { Hono } from 'hono';
import type { AppEnv } from '../api/types.ts';
import { type ConsoleAssets, loadConsoleAssets } from './assets.ts';
import { consoleCsp, consoleHtml } from './page.ts';

export const CONSOLE_PATHS = ['/', '/console/:file'] as const;

export function registerConsoleRoutes(
  app: Hono<AppEnv>,
  load: () => Promise<ConsoleAssets> = loadConsoleAssets,
): void {
  // Read on first use: most replicas started by the tests never serve the page.
  let assets: Promise<ConsoleAssets> | undefined;
  const get = () => {
    assets ??= load().catch((err: unknown) => {
      assets = undefined;
      throw err;
    });
    return assets;
  };
  const csp = consoleCsp();

  app.get('/', async (c) => {
    const { entry } = await get();
    c.header('content-security-policy', csp);
    c.header('cache-control', 'no-cache');
    return c.html(consoleHtml(entry));
  });

  app.get('/console/:file', async (c) => {
    const file = (await get()).files.get(c.req.param('file'));
    if (!file) return c.notFound();
    // Revalidated every time: a replica rolled to a new version serves new scripts at once.
    const headers = { 'content-type': file.contentType, etag: file.etag, 'cache-control': 'no-cache' };
    if (c.req.header('if-none-match') === file.etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(file.body), 200, {
      ...headers,
      'x-content-type-options': 'nosniff',
    });
  });
}
