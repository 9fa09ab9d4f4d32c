// The files the console's page loads, read once into memory. Built (dist/console/web/*.js, what
// the image ships) they are served as compiled; run from source (tests, `node src/main.ts`) the
// web/*.ts files are type-stripped by Node itself, so no build step stands between an edit and
// a test (Node prints one ExperimentalWarning for module.stripTypeScriptTypes then; a built
// replica never calls it). croner is served from the production dependency the scheduler itself uses.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { stripTypeScriptTypes } from 'node:module';
import { fileURLToPath } from 'node:url';
import { CONSOLE_CSS } from './page.ts';

export interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

export interface ConsoleAssets {
  /** by name under /console/, e.g. `main.js`, `croner.js` */
  files: Map<string, Asset>;
  /** the module the page starts: `main.js`, or `main.ts` when run from source */
  entry: string;
}

const JS = 'text/javascript; charset=utf-8';

function asset(body: Buffer | string, contentType: string): Asset {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  return {
    body: buf,
    contentType,
    etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 22)}"`,
  };
}

/** Where the browser modules are: beside this file, in src/ or dist/ alike. */
export const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

export async function loadConsoleAssets(webDir: string = WEB_DIR): Promise<ConsoleAssets> {
  const files = new Map<string, Asset>();
  for (const name of await readdir(webDir)) {
    if (name.endsWith('.js')) {
      files.set(name, asset(await readFile(`${webDir}/${name}`), JS));
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) {
      const source = await readFile(`${webDir}/${name}`, 'utf8');
      files.set(name, asset(stripTypeScriptTypes(source, { mode: 'strip' }), JS));
    }
  }
  const entry = files.has('main.js') ? 'main.js' : 'main.ts';
  if (!files.has(entry)) throw new Error(`the console's scripts are missing from ${webDir}`);
  const croner = fileURLToPath(import.meta.resolve('croner'));
  files.set('croner.js', asset(await readFile(croner), JS));
  files.set('console.css', asset(CONSOLE_CSS, 'text/css; charset=utf-8'));
  return { files, entry };
}
