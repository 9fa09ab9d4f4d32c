#!/usr/bin/env node
// Tiny HTTP client for the Makefile demo targets: prints the status line and the
// body as pretty JSON, and says plainly when no leasecron API answers.
//   node scripts/api.mjs METHOD PATH [BODY_FILE]
// BASE_URL (default http://127.0.0.1:8080) comes from the environment; the bearer token from
// API_TOKEN, else from the file API_TOKEN_FILE names (the Makefile points it at the token that
// `make local-up` or `make up` made), so nobody has to copy a token by hand.
import { existsSync, readFileSync } from 'node:fs';

const [method, path, bodyFile] = process.argv.slice(2);
if (!method || !path) {
  console.error('usage: node scripts/api.mjs METHOD PATH [BODY_FILE]');
  process.exit(2);
}
const base = (process.env.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const headers = { accept: 'application/json' };
const tokenFile = process.env.API_TOKEN_FILE;
const token =
  process.env.API_TOKEN || (tokenFile && existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '');
if (token) headers.authorization = `Bearer ${token}`;
let body;
if (bodyFile) {
  try {
    body = readFileSync(bodyFile, 'utf8');
  } catch (err) {
    console.error(`cannot read ${bodyFile}: ${err.message}`);
    process.exit(2);
  }
  headers['content-type'] = 'application/json';
}
let res;
try {
  res = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(10_000) });
} catch (err) {
  const why = err?.cause?.code ?? err?.name ?? String(err);
  console.error(
    `No leasecron API answered at ${base} (${why}).\n` +
      'Start one with `make local-up` (processes) or `make up` (kind), or set BASE_URL.',
  );
  process.exit(3);
}
const text = await res.text();
if (res.status === 401 && !token) {
  console.error(
    'The API needs a bearer token: `make local-up` and `make up` write one for the demo targets ' +
      '(API_TOKEN_FILE); or set API_TOKEN.',
  );
}
console.log(`${method} ${path} → ${res.status} ${res.statusText}`);
const location = res.headers.get('location');
if (location) console.log(`Location: ${location}`);
if (text) {
  try {
    console.log(JSON.stringify(JSON.parse(text), null, 2));
  } catch {
    console.log(text);
  }
}
process.exit(res.ok ? 0 : 1);
