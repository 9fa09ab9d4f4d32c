#!/usr/bin/env node
// The `leasecron` command (package.json "bin"). In a checkout it runs src/cli/main.ts directly
// (Node 24 strips the types); an installed package has only dist/, compiled by `npm run build`.
import { existsSync } from 'node:fs';

const src = new URL('../src/cli/main.ts', import.meta.url);
const cli = existsSync(src) ? await import(src.href) : await import('../dist/cli/main.js');
await cli.main();
