// Renders the two ways to install leasecron, kustomize (deploy/) and the Helm chart
// (deploy/helm/leasecron), into objects, and puts them into a form where the same choices compare
// equal: test/deploy/helm.int.test.ts and production-overlay.int.test.ts.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'vitest';
import { stack } from '../helpers/clients.ts';
import { KUBECTL, run } from './commands.ts';

export type KubeObject = k8s.KubernetesObject & Record<string, unknown>;

export const CHART = 'deploy/helm/leasecron';
export const NS = 'leasecron';

/**
 * The helm binary scripts/provision-stack.sh built into ~/.cache/leasecron (or LEASECRON_HELM),
 * handed over by the global setup like the kube binaries. Missing is a failure, never a skip.
 */
export function helmBin(): string {
  const helm = stack().helm;
  if (!helm) {
    throw new Error(
      'no helm binary: scripts/provision-stack.sh all reports HELM_BIN=… after building helm from the Go ' +
        'module proxy into ~/.cache/leasecron (or set LEASECRON_HELM); run `make setup` and see its [provision] lines',
    );
  }
  return helm;
}

function parse(yaml: string): KubeObject[] {
  return (k8s.loadAllYaml(yaml) as (KubeObject | null)[]).filter((o): o is KubeObject => !!o?.kind);
}

/**
 * helm's own warnings about the chart's files/ links into deploy/ (one source for both installs):
 * expected; anything else on stderr is not.
 */
export function helmStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter(
      (l) =>
        l !== '' && !/found symbolic link in path: .* Contents of linked file included and used$/.test(l),
    )
    .join('\n');
}

/** `helm template leasecron deploy/helm/leasecron --namespace leasecron` with these extra arguments. */
export async function helmTemplate(
  args: readonly string[] = [],
): Promise<{ yaml: string; objects: KubeObject[] }> {
  const r = await run(helmBin(), ['template', 'leasecron', CHART, '--namespace', NS, ...args]);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  expect(helmStderr(r.stderr)).toBe('');
  return { yaml: r.stdout, objects: parse(r.stdout) };
}

export async function kustomize(dir: string): Promise<{ yaml: string; objects: KubeObject[] }> {
  const r = await run(KUBECTL, ['kustomize', dir]);
  if (r.code !== 0) throw new Error(`kubectl kustomize ${dir} exited ${r.code}: ${r.stderr}`);
  return { yaml: r.stdout, objects: parse(r.stdout) };
}

export const id = (o: k8s.KubernetesObject) =>
  `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

/** Labels Helm's convention adds to each object's own metadata (never to pod templates or selectors). */
export const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/version'];

/**
 * The intended differences between the chart and kustomize, taken out so that everything else
 * must be equal:
 * 1. The generated ConfigMap: kustomize names it `leasecron-<content hash>` so a changed value
 *    rolls the pods; the chart keeps the plain name and rolls them with the pod template
 *    annotation `checksum/config` instead.
 * 2. Helm's labels on object metadata (HELM_LABELS).
 * 3. The CRD's `helm.sh/resource-policy: keep` (crd.keep): `helm uninstall` leaves the CRD and with
 *    it every Schedule object.
 * 4. Whitespace in CEL expressions: kustomize re-serialises a folded (`>-`) scalar with a more
 *    indented line as an extra newline; CEL ignores whitespace.
 * The Namespace (Helm does not own the release namespace) is left out by the callers.
 */
export function normalise(objects: readonly KubeObject[]): Map<string, KubeObject> {
  const generated = objects.find(
    (o) => o.kind === 'ConfigMap' && /^leasecron-[a-z0-9]{10}$/.test(o.metadata?.name ?? ''),
  )?.metadata?.name;
  const out = new Map<string, KubeObject>();
  for (const object of objects) {
    let text = JSON.stringify(object);
    if (generated) text = text.replaceAll(JSON.stringify(generated), JSON.stringify('leasecron'));
    const o = JSON.parse(text) as KubeObject;
    const meta = o.metadata!;
    for (const label of HELM_LABELS) delete meta.labels?.[label];
    delete meta.annotations?.['helm.sh/resource-policy'];
    if (meta.annotations && Object.keys(meta.annotations).length === 0) delete meta.annotations;
    const template = (o as { spec?: { template?: k8s.V1PodTemplateSpec } }).spec?.template?.metadata;
    delete template?.annotations?.['checksum/config'];
    if (template?.annotations && Object.keys(template.annotations).length === 0) delete template.annotations;
    out.set(id(o), collapseCel(o) as KubeObject);
  }
  return out;
}

function collapseCel(value: unknown, key = ''): unknown {
  if (typeof value === 'string')
    return ['expression', 'messageExpression', 'rule'].includes(key) ? value.replace(/\s+/g, ' ') : value;
  if (Array.isArray(value)) return value.map((v) => collapseCel(v));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, collapseCel(v, k)]));
  return value;
}
