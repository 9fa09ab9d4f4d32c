#!/usr/bin/env node
// A tiny kubectl for the Makefile's Schedule targets (`make apply-schedule`, `make get-crs`) and for
// `make local-up`, which installs the CRD into its own API server: kubectl is not needed, the REST
// calls it would make are made here with the kubeconfig's own credentials (HTTP/1.1).
//   node scripts/kube.mjs apply -f FILE [-n NS] [--dry-run]   server-side apply of every document
//   node scripts/kube.mjs get-schedules [-n NS]                the server's table, as `kubectl get lcs`
// Where to connect: --local-state FILE (the state.json of `make local-up`: its API server, as its
// admin), else --kubeconfig PATH / $KUBECONFIG / ~/.kube/config with --context CTX (default: the
// current context).
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pathToFileURL } from 'node:url';
import * as k8s from '@kubernetes/client-node';

export const FIELD_MANAGER = 'leasecron-make';
export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

export class KubeError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;
  }
}

/** The KubeConfig to use, chosen as the header says. */
export function loadKube({ localState, kubeconfig, context } = {}) {
  const kc = new k8s.KubeConfig();
  if (localState) {
    if (!existsSync(localState))
      throw new KubeError(`${localState} does not exist: is \`make local-up\` running?`);
    kc.loadFromFile(JSON.parse(readFileSync(localState, 'utf8')).stack.kube.kubeconfig);
  } else if (kubeconfig) {
    if (!existsSync(kubeconfig)) throw new KubeError(`the kubeconfig ${kubeconfig} does not exist`);
    kc.loadFromFile(kubeconfig);
  } else kc.loadFromDefault();
  if (context) {
    if (!kc.getContextObject(context)) {
      throw new KubeError(
        `no context ${context} in the kubeconfig (is the cluster up? \`make up\` makes kind-leasecron; ` +
          'or run `make local-up`, or pick one with KUBE_CONTEXT=…, KUBE_CONTEXT= for the current one)',
      );
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) throw new KubeError('the kubeconfig has no current cluster');
  return kc;
}

/** One request to the API server; the parsed JSON body (null when empty). Throws KubeError. */
export async function kubeRequest(kc, method, path, { body, headers = {} } = {}) {
  const server = kc.getCurrentCluster().server.replace(/\/$/, '');
  const url = new URL(server + path);
  const opts = { method, headers: { accept: 'application/json', ...headers }, timeout: 15_000 };
  await kc.applyToHTTPSOptions(opts);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  const { status, text } = await new Promise((resolve, reject) => {
    const req = send(url, opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) =>
      reject(
        new KubeError(
          `no Kubernetes API server answered at ${server} (${err.code ?? err.message}): ` +
            'start one with `make local-up` or `make up`, or pick another with KUBE_CONTEXT / KUBECONFIG',
        ),
      ),
    );
    req.end(body);
  });
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (status < 200 || status > 299) {
    throw new KubeError(parsed?.message ?? (text.trim() || `HTTP ${status}`), status);
  }
  return parsed;
}

const discovery = new WeakMap();

/** The resource serving `kind` in `apiVersion`: { name, namespaced }, from API discovery. */
export async function resourceFor(kc, apiVersion, kind) {
  let byVersion = discovery.get(kc);
  if (!byVersion) {
    byVersion = new Map();
    discovery.set(kc, byVersion);
  }
  let list = byVersion.get(apiVersion);
  if (!list) {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    try {
      list = await kubeRequest(kc, 'GET', path);
    } catch (err) {
      if (err.status === 404) {
        throw new KubeError(
          `the API server does not serve ${apiVersion}` +
            (apiVersion.startsWith('leasecron.io/')
              ? ': install the CRD first (kubectl apply -k deploy/, or -f deploy/crd/schedules.leasecron.io.yaml; make local-up does it)'
              : ''),
        );
      }
      throw err;
    }
    byVersion.set(apiVersion, list);
  }
  const found = (list.resources ?? []).find((r) => r.kind === kind && !r.name.includes('/'));
  if (!found) throw new KubeError(`the API server has no kind ${kind} in ${apiVersion}`);
  return { name: found.name, namespaced: found.namespaced };
}

function resourcePath(apiVersion, plural, namespace, name) {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

/**
 * Server-side apply of every document in `yamlText` (as `kubectl apply --server-side
 * --force-conflicts --field-manager=leasecron-make`). A namespaced object without a namespace gets
 * `namespace`; one naming another namespace is refused, as kubectl does. Returns kubectl-style lines.
 */
export async function applyYaml(
  kc,
  yamlText,
  { namespace, dryRun = false, fieldManager = FIELD_MANAGER } = {},
) {
  const lines = [];
  // Each document is sent as written (apply patches may be YAML): client-node's loadAllYaml maps
  // known kinds onto its typed models (a CRD's `x-kubernetes-validations` becomes
  // `x_kubernetes_validations`), good only for reading apiVersion, kind and metadata here.
  for (const text of yamlText.split(/^---[ \t]*(?:#.*)?$/m)) {
    const [doc] = k8s.loadAllYaml(text).filter((d) => d !== null && d !== undefined);
    if (!doc) continue;
    const { apiVersion, kind } = doc;
    const name = doc.metadata?.name;
    if (!apiVersion || !kind || !name)
      throw new KubeError('every document needs apiVersion, kind and metadata.name');
    const resource = await resourceFor(kc, apiVersion, kind);
    let ns;
    if (resource.namespaced) {
      if (namespace && doc.metadata.namespace && doc.metadata.namespace !== namespace) {
        throw new KubeError(
          `${kind} ${name} names namespace ${doc.metadata.namespace}, not ${namespace}: leave it out of the file or change NS`,
        );
      }
      ns =
        doc.metadata.namespace ??
        namespace ??
        kc.getContextObject(kc.getCurrentContext())?.namespace ??
        'default';
    }
    const query = new URLSearchParams({ fieldManager, force: 'true' });
    if (dryRun) query.set('dryRun', 'All');
    await kubeRequest(kc, 'PATCH', `${resourcePath(apiVersion, resource.name, ns, name)}?${query}`, {
      body: text,
      headers: { 'content-type': 'application/apply-patch+yaml' },
    });
    const group = apiVersion.includes('/') ? `.${apiVersion.split('/')[0]}` : '';
    lines.push(
      `${kind.toLowerCase()}${group}/${name}${ns ? ` (namespace ${ns})` : ''} serverside-applied${dryRun ? ' (server dry run)' : ''}`,
    );
  }
  if (lines.length === 0) throw new KubeError('no objects to apply');
  return lines;
}

/** Waits until a CRD is Established (its resource is served). */
export async function waitEstablished(kc, name, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const crd = await kubeRequest(
      kc,
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    if (crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new KubeError(`CRD ${name} is not Established after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The server-side Table of a list path (printer columns as the CRD defines them). */
export function getTable(kc, path) {
  return kubeRequest(kc, 'GET', path, { headers: { accept: TABLE_ACCEPT } });
}

/** A meta.k8s.io Table as kubectl prints it: upper-case headers, a missing cell left blank. */
export function formatTable(table) {
  const columns = (table.columnDefinitions ?? []).filter((c) => (c.priority ?? 0) === 0);
  const index = columns.map((c) => table.columnDefinitions.indexOf(c));
  const cell = (v) => (v === null || v === undefined ? '' : String(v));
  const rows = [
    columns.map((c) => c.name.toUpperCase()),
    ...(table.rows ?? []).map((r) => index.map((i) => cell(r.cells[i]))),
  ];
  const widths = columns.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i] + 3)))
      .join('')
      .trimEnd(),
  );
}

function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new KubeError(`${a} needs a value`);
      return v;
    };
    if (a === '-f' || a === '--filename') out.file = value();
    else if (a === '-n' || a === '--namespace') out.namespace = value();
    else if (a === '--context') out.context = value();
    else if (a === '--kubeconfig') out.kubeconfig = value();
    else if (a === '--local-state') out.localState = value();
    else if (a === '--dry-run') out.dryRun = true;
    else out._.push(a);
  }
  return out;
}

const USAGE =
  'usage: node scripts/kube.mjs apply -f FILE [-n NS] [--dry-run] | get-schedules [-n NS]\n' +
  '       [--local-state .local/local/state.json | --kubeconfig PATH] [--context CTX]';

async function main(argv) {
  const args = parseArgs(argv);
  const [cmd] = args._;
  if (cmd !== 'apply' && cmd !== 'get-schedules') {
    console.error(USAGE);
    return 2;
  }
  if (cmd === 'apply' && !args.file) {
    console.error(USAGE);
    return 2;
  }
  const kc = loadKube(args);
  // Empty strings (a make variable left empty) mean "not given".
  const namespace = args.namespace || undefined;
  if (cmd === 'apply') {
    let text;
    try {
      text = args.file === '-' ? readFileSync(0, 'utf8') : readFileSync(args.file, 'utf8');
    } catch (err) {
      throw new KubeError(`cannot read ${args.file}: ${err.message}`);
    }
    for (const line of await applyYaml(kc, text, { namespace, dryRun: args.dryRun })) console.log(line);
    return 0;
  }
  const ns = namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  await resourceFor(kc, 'leasecron.io/v1alpha1', 'Schedule');
  const table = await getTable(
    kc,
    `/apis/leasecron.io/v1alpha1/namespaces/${encodeURIComponent(ns)}/schedules`,
  );
  if ((table.rows ?? []).length === 0) console.log(`No schedules.leasecron.io found in namespace ${ns}.`);
  else for (const line of formatTable(table)) console.log(line);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof KubeError)) throw err;
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  }
}
