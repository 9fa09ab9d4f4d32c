// The console's HTML shell, stylesheet and Content-Security-Policy, as pure functions of the
// assets: no I/O, so the policy is unit-tested. The page itself is static; everything it shows
// is fetched from /api/v1 by the scripts in web/ (served from this replica, never a CDN: clusters
// are often air-gapped).
import { createHash } from 'node:crypto';

/** Maps the bare `croner` import of the browser code to the copy this replica serves. */
export const IMPORT_MAP = JSON.stringify({ imports: { croner: './console/croner.js' } });

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64');

/**
 * Scripts only from this origin plus the one inline import map, by its hash; no inline styles
 * (the scripts set styles through the CSSOM, which CSP allows); fetches only to this origin.
 */
export function consoleCsp(importMap: string = IMPORT_MAP): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'sha256-${sha256(importMap)}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** URLs are relative, so the console also works behind a path prefix (e.g. `kubectl proxy`). */
export function consoleHtml(entry: string, importMap: string = IMPORT_MAP): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>leasecron console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="./console/console.css">
<script type="importmap">${importMap}</script>
<script type="module" src="./console/${entry}"></script>
</head><body>
<header class="top">
<a class="brand" href="#/">leasecron</a>
<nav><a href="#/" data-nav="schedules">Schedules</a><a href="#/upcoming" data-nav="upcoming">Upcoming</a><a href="#/cluster" data-nav="cluster">Cluster</a><a href="./docs">API docs</a></nav>
<form id="token-form" class="token" autocomplete="off">
<label>Bearer token <input id="token" type="password" placeholder="API token (kept in this tab only)"></label>
<button type="submit">Use</button><button type="button" id="token-clear">Forget</button>
</form>
</header>
<div id="banner" class="banner" hidden></div>
<main id="main"><noscript>The console needs JavaScript; the API is documented at <a href="./docs">/docs</a>.</noscript></main>
<footer class="foot"><span id="live">…</span></footer>
</body></html>
`;
}

export const CONSOLE_CSS = `
:root{--fg:#1d232b;--muted:#5b6572;--line:#d9dee5;--bg:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--acc:#0969da}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:#fff}
a{color:var(--acc);text-decoration:none}a:hover{text-decoration:underline}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}
.top{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;padding:.6rem 1rem;border-bottom:1px solid var(--line);background:var(--bg)}
.brand{font-weight:700;font-size:16px;color:var(--fg)}
nav{display:flex;gap:.9rem}nav a.on{font-weight:600;color:var(--fg)}
.token{margin-left:auto;display:flex;gap:.4rem;align-items:center}
.token input{width:16rem}
main{padding:1rem;max-width:88rem}
.foot{padding:.4rem 1rem;color:var(--muted);font-size:12px;border-top:1px solid var(--line)}
.banner{padding:.6rem 1rem;background:#fff8c5;border-bottom:1px solid #eed888}
.banner.err{background:#ffebe9;border-color:#ffcecb}
h1{font-size:20px;margin:.2rem 0 .8rem}h2{font-size:16px;margin:1.4rem 0 .5rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12.5px;background:var(--bg)}
tr:hover td{background:#fafbfc}
.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin-bottom:.8rem}
.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}
input,select,textarea,button{font:inherit}
input,select,textarea{padding:.25rem .4rem;border:1px solid #c4cbd4;border-radius:4px}
textarea{width:100%;min-height:8rem;font-family:ui-monospace,monospace;font-size:12.5px}
button{padding:.25rem .7rem;border:1px solid #c4cbd4;border-radius:4px;background:#fff;cursor:pointer}
button.primary{background:var(--acc);border-color:var(--acc);color:#fff}
button.danger{border-color:var(--bad);color:var(--bad)}
button:disabled{opacity:.5;cursor:default}
.pill{display:inline-block;padding:0 .45rem;border-radius:9px;font-size:12px;background:#eaeef2;margin:0 .2rem .1rem 0}
.st-succeeded{color:var(--ok)}.st-failed,.st-abandoned,.st-unknown{color:var(--bad)}
.st-running,.st-pending{color:var(--acc)}.st-skipped,.st-missed,.st-released{color:var(--warn)}
.muted{color:var(--muted)}
.pager{display:flex;gap:.5rem;align-items:center;margin:.7rem 0}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0}
.confirm{display:flex;gap:.5rem;align-items:center;padding:.4rem .6rem;background:#ffebe9;border-radius:4px}
.grid{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
.grid dt{color:var(--muted)}.grid dd{margin:0}
.form{display:grid;grid-template-columns:12rem 1fr;gap:.6rem 1rem;max-width:56rem;align-items:start}
.form > label{padding-top:.3rem;color:var(--muted)}
.field-error{color:var(--bad);font-size:12.5px;margin-top:.15rem}
.invalid{border-color:var(--bad)}
.chart{width:100%;max-width:56rem;height:auto;border:1px solid var(--line);border-radius:4px;background:#fff}
.chart text{font-size:11px;fill:var(--muted)}
.chart .line{fill:none;stroke:var(--acc);stroke-width:1.5}
.chart .dot{fill:var(--acc)}.chart .dot.bad{fill:var(--bad)}
.chart .axis{stroke:var(--line)}
.cards{display:flex;flex-wrap:wrap;gap:1rem}
.card{border:1px solid var(--line);border-radius:6px;padding:.8rem 1rem;min-width:16rem}
.card b{display:block;font-size:12px;color:var(--muted);font-weight:500}
.card span{font-size:16px}
`;
