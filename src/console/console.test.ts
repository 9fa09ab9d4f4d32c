import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../stack/stack.ts';
import type { AppEnv } from '../api/types.ts';
import { loadConsoleAssets } from './assets.ts';
import { consoleCsp, consoleHtml, IMPORT_MAP } from './page.ts';
import { registerConsoleRoutes } from './routes.ts';

/** Budget from issue 15: everything the page loads, gzipped, under 150 KB. */
const BUDGET_BYTES = 150 * 1024;

const app = new Hono<AppEnv>();
registerConsoleRoutes(app);

describe('the console page', () => {
  it('is served at / under a CSP that allows scripts only from this origin and its import map', async () => {
    const res = await app.request('/');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toBe(consoleCsp());
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*';/);
    expect(csp).not.toContain('unsafe');
    const html = await res.text();
    expect(html).toContain(`<script type="importmap">${IMPORT_MAP}</script>`);
    expect(html).toContain('<script type="module" src="./console/main.ts">');
    expect(html).toContain('href="./docs"');
    // nothing from another origin
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('serves its modules as JavaScript with a validator, and 404s what it does not have', async () => {
    const res = await app.request('/console/main.ts');
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const body = await res.text();
    expect(body).not.toMatch(/: (string|number|boolean)\b/); // types stripped
    const again = await app.request('/console/main.ts', {
      headers: { 'if-none-match': res.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
    expect((await app.request('/console/croner.js')).status).toBe(200);
    expect((await app.request('/console/console.css')).headers.get('content-type')).toContain('text/css');
    expect((await app.request('/console/../package.json')).status).toBe(404);
    expect((await app.request('/console/nope.js')).status).toBe(404);
  });

  it('is not inlined HTML built from data: the shell has no text but its own', () => {
    expect(consoleHtml('main.js')).not.toContain('${');
  });
});

describe('the bundle as built', () => {
  const out = mkdtempSync(join(tmpdir(), 'console-build-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it(`loads less than ${BUDGET_BYTES / 1024} KB gzipped`, { timeout: 60_000 }, async () => {
    // The same compile `npm run build` does, into a folder of its own.
    execFileSync(
      join(REPO_ROOT, 'node_modules/.bin/tsc'),
      ['-p', join(REPO_ROOT, 'src/console/web/tsconfig.json'), '--outDir', out],
      { stdio: 'inherit' },
    );
    const { files, entry } = await loadConsoleAssets(out);
    expect(entry).toBe('main.js');
    let raw = consoleHtml(entry).length;
    let gzipped = gzipSync(consoleHtml(entry)).length;
    const sizes: string[] = [];
    for (const [path, file] of files) {
      const gz = gzipSync(file.body).length;
      raw += file.body.length;
      gzipped += gz;
      sizes.push(`${path} ${gz}`);
    }
    console.log(
      `console bundle: ${files.size + 1} files, ${(raw / 1024).toFixed(1)} KB, ${(gzipped / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_BYTES / 1024} KB): ${sizes.join(', ')}`,
    );
    expect(gzipped).toBeLessThan(BUDGET_BYTES);
  });
});
