// The Helm chart (deploy/helm/leasecron) against kustomize and the real kube-apiserver: `helm lint`
// passes, `helm template` with default values renders the very objects `kubectl kustomize deploy/`
// does (less the intended differences listed in render.ts), the values schema refuses what the
// chart cannot render, the toggles add and remove what they say, and the API server accepts the
// default and the external-MongoDB renderings in a server-side dry-run (Pod Security included).
// helm is built from the Go module proxy by scripts/provision-stack.sh (cached in ~/.cache/leasecron).
import { existsSync, lstatSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../stack/stack.ts';
import { stack } from '../helpers/clients.ts';
import { expectServerDryRunAccepts, kubectlOk, privateKubeconfig, run } from './commands.ts';
import {
  CHART,
  HELM_LABELS,
  helmBin,
  helmStderr,
  helmTemplate,
  id,
  type KubeObject,
  kustomize,
  NS,
  normalise,
} from './render.ts';

const EXTERNAL = `${CHART}/ci/external-mongodb-values.yaml`;

let kubeconfig: string;
let kustomized: KubeObject[];
let defaults: { yaml: string; objects: KubeObject[] };
let external: { yaml: string; objects: KubeObject[] };

beforeAll(async () => {
  kubeconfig = privateKubeconfig(stack().kube);
  [{ objects: kustomized }, defaults, external] = await Promise.all([
    kustomize('deploy'),
    helmTemplate(),
    helmTemplate(['--values', EXTERNAL]),
  ]);
});

afterAll(() => {
  if (kubeconfig) rmSync(dirname(kubeconfig), { recursive: true, force: true });
});

const of = <T extends KubeObject>(objects: KubeObject[], kind: string, name?: string): T[] =>
  objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name)) as T[];

describe('helm lint', () => {
  it.each([
    ['default values', []],
    ['the external MongoDB values', ['--values', EXTERNAL]],
  ])('passes with %s, strictly', async (_, args) => {
    const r = await run(helmBin(), ['lint', '--strict', CHART, '--namespace', NS, ...args]);
    expect(helmStderr(r.stderr)).toBe('');
    expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.code).toBe(0);
  });
});

describe('helm template with default values = kubectl kustomize deploy/', () => {
  it('renders the same objects, kind, name and namespace, except the Namespace', () => {
    const helmIds = defaults.objects.map(id).sort();
    const kustomizeIds = [...normalise(kustomized).keys()].filter((i) => i !== `Namespace/${NS}`).sort();
    expect(helmIds).toEqual(kustomizeIds);
    // Helm does not own the namespace it installs into (deploy/README.md: create and label it first).
    expect(of(defaults.objects, 'Namespace')).toEqual([]);
  });

  it('every object equals its kustomize twin field by field, after the intended differences', () => {
    // RBAC rules, env, envFrom, probes, ports, security contexts, the CRD schema, the admission
    // policies' CEL, NetworkPolicy rules, MongoDB's StatefulSet and init Job: all of it.
    const fromHelm = normalise(defaults.objects);
    const fromKustomize = normalise(kustomized);
    for (const [key, object] of fromHelm) expect(object, key).toEqual(fromKustomize.get(key));
  });

  it('the intended differences are exactly these', () => {
    // 1. ConfigMap name hash (kustomize) vs checksum annotation (Helm): both roll the pods on change.
    const generated = of(kustomized, 'ConfigMap').find((o) => /^leasecron-/.test(o.metadata?.name ?? ''));
    expect(generated?.metadata?.name).toMatch(/^leasecron-[a-z0-9]{10}$/);
    const [configMap] = of<k8s.V1ConfigMap & KubeObject>(defaults.objects, 'ConfigMap', 'leasecron');
    expect(configMap?.data).toEqual((generated as k8s.V1ConfigMap).data);
    const deployment = of<k8s.V1Deployment & KubeObject>(defaults.objects, 'Deployment')[0]!;
    expect(deployment.spec?.template.metadata?.annotations?.['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    // 2. Helm's labels, on object metadata only: pod templates keep kustomize's labels, so a chart
    //    upgrade that changes nothing else restarts no pod.
    for (const o of defaults.objects) {
      for (const label of HELM_LABELS)
        expect(o.metadata?.labels, `${id(o)} ${label}`).toHaveProperty([label]);
      expect(o.metadata?.labels?.['app.kubernetes.io/part-of'], id(o)).toBe('leasecron');
    }
    const podLabels = Object.keys(deployment.spec?.template.metadata?.labels ?? {});
    expect(podLabels.filter((l) => HELM_LABELS.includes(l))).toEqual([]);
    // 3. The CRD stays on uninstall.
    const [crd] = of(defaults.objects, 'CustomResourceDefinition');
    expect(crd?.metadata?.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
  });

  it('a changed setting changes the checksum annotation, i.e. rolls the pods', async () => {
    const changed = await helmTemplate(['--set', 'logLevel=debug']);
    const checksum = (objects: KubeObject[]) =>
      of<k8s.V1Deployment & KubeObject>(objects, 'Deployment')[0]?.spec?.template.metadata?.annotations?.[
        'checksum/config'
      ];
    expect(checksum(changed.objects)).not.toBe(checksum(defaults.objects));
  });

  it('the chart reads the CRD and the MongoDB scripts from deploy/ itself, not from copies', () => {
    for (const [link, target] of [
      ['files/crd', 'deploy/crd'],
      ['files/mongodb', 'deploy/base/mongodb'],
      ['files/monitoring', 'deploy/monitoring'],
    ] as const) {
      const path = join(REPO_ROOT, CHART, link);
      expect(lstatSync(path).isSymbolicLink(), link).toBe(true);
      expect(realpathSync(path), link).toBe(realpathSync(join(REPO_ROOT, target)));
    }
  });
});

describe('values', () => {
  it('external MongoDB: no bundled database, MONGODB_URI from the Secret key, image by digest', () => {
    const kinds = external.objects.map(id);
    expect(kinds.filter((k) => /mongodb/.test(k))).toEqual([]);
    expect(of(external.objects, 'StatefulSet')).toEqual([]);
    const deployment = of<k8s.V1Deployment & KubeObject>(external.objects, 'Deployment')[0]!;
    const c = deployment.spec!.template.spec!.containers[0]!;
    expect(c.image).toBe(
      'registry.example.com/platform/leasecron@sha256:0000000000000000000000000000000000000000000000000000000000000000',
    );
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
    expect(env.MONGODB_URI?.valueFrom?.secretKeyRef).toEqual({ name: 'leasecron-mongodb', key: 'uri' });
    expect(env.API_TOKEN?.valueFrom?.secretKeyRef).toEqual({ name: 'leasecron-api-token', key: 'token' });
    expect(env.HTTP_DENY_CIDRS?.value).toBe('169.254.0.0/16');
    const data = of<k8s.V1ConfigMap & KubeObject>(external.objects, 'ConfigMap')[0]!.data!;
    expect(data.MONGODB_URI).toBeUndefined();
    expect(data.JOB_NAMESPACES).toBe('leasecron,team-a,team-b');
    expect(data.MAX_CONCURRENT_RUNS).toBe('1000');
    expect(c.resources?.limits).toEqual({ cpu: '2', memory: '1Gi' });
    // leasecron may reach MongoDB on 27017 anywhere; no NetworkPolicy for a database not there.
    const [policy] = of<k8s.V1NetworkPolicy & KubeObject>(external.objects, 'NetworkPolicy');
    expect(policy?.spec?.egress?.[0]).toEqual({ ports: [{ port: 27017, protocol: 'TCP' }] });
  });

  it('jobNamespaces: a RoleBinding to the controller ClusterRole in each, for the release ServiceAccount', () => {
    const bindings = of<k8s.V1RoleBinding & KubeObject>(
      external.objects,
      'RoleBinding',
      'leasecron-controller',
    );
    expect(bindings.map((b) => b.metadata?.namespace)).toEqual(['leasecron', 'team-a', 'team-b']);
    for (const b of bindings) {
      expect(b.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'leasecron-controller',
      });
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'leasecron', namespace: NS }]);
    }
  });

  it('toggles: CRD, admission policies, NetworkPolicies, PodDisruptionBudget off', async () => {
    const { objects } = await helmTemplate([
      '--set',
      'crd.install=false,admissionPolicies.enabled=false,networkPolicy.enabled=false,podDisruptionBudget.enabled=false',
    ]);
    const gone = [
      'CustomResourceDefinition',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'NetworkPolicy',
      'PodDisruptionBudget',
    ];
    expect(objects.filter((o) => gone.includes(o.kind ?? '')).map(id)).toEqual([]);
    expect(objects.length).toBe(defaults.objects.length - 8);
  });

  it('ServiceMonitor and PrometheusRule come from deploy/monitoring/, nothing while a file is absent', async () => {
    const { objects } = await helmTemplate([
      '--set',
      'serviceMonitor.enabled=true,serviceMonitor.labels.release=prom,prometheusRule.enabled=true',
    ]);
    for (const [kind, file] of [
      ['ServiceMonitor', 'servicemonitor.yaml'],
      ['PrometheusRule', 'prometheusrule.yaml'],
    ] as const) {
      const rendered = of(objects, kind);
      if (!existsSync(join(REPO_ROOT, 'deploy/monitoring', file))) {
        expect(rendered, `${file} is absent`).toEqual([]);
        continue;
      }
      expect(rendered.length, kind).toBeGreaterThan(0);
      for (const o of rendered) {
        expect(o.metadata?.namespace).toBe(NS);
        expect(o.metadata?.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'leasecron' });
      }
      if (kind === 'ServiceMonitor') expect(rendered[0]?.metadata?.labels?.release).toBe('prom');
    }
    // Off by default: a cluster without the Prometheus Operator's CRDs takes the defaults.
    expect(
      defaults.objects.filter((o) => ['ServiceMonitor', 'PrometheusRule'].includes(o.kind ?? '')),
    ).toEqual([]);
  });

  it('another release name names every object after it, and the admission policy follows the ServiceAccount', async () => {
    const r = await run(helmBin(), ['template', 'sched', CHART, '--namespace', 'ops']);
    expect(r.code).toBe(0);
    const objects = (k8s.loadAllYaml(r.stdout) as (KubeObject | null)[]).filter((o): o is KubeObject => !!o);
    const names = objects
      .filter((o) => !['CustomResourceDefinition'].includes(o.kind ?? ''))
      .map((o) => o.metadata?.name ?? '');
    expect(
      names.filter((n) => !n.startsWith('sched-leasecron') && n !== 'mongodb' && n !== 'mongodb-rs-init'),
    ).toEqual([]);
    const policy = of<k8s.V1ValidatingAdmissionPolicy & KubeObject>(
      objects,
      'ValidatingAdmissionPolicy',
      'sched-leasecron-pod-label-only',
    )[0];
    expect(policy?.spec?.matchConditions?.[0]?.expression).toContain(
      "'system:serviceaccount:ops:sched-leasecron'",
    );
    const data = of<k8s.V1ConfigMap & KubeObject>(objects, 'ConfigMap', 'sched-leasecron')[0]?.data;
    expect(data?.MONGODB_URI).toBe('mongodb://mongodb-0.mongodb:27017/?replicaSet=rs0&authSource=leasecron');
  });

  it.each([
    ['no database at all', ['--set', 'mongodb.bundled.enabled=false'], /uriSecret\/name|uriSecret.name/],
    [
      'both databases',
      ['--set', 'mongodb.external.uriSecret.name=x'],
      /either mongodb.bundled.enabled=true or mongodb.external.uriSecret.name/,
    ],
    ['a digest that is none', ['--set', 'image.digest=latest'], /\/image\/digest/],
    ['an unknown AUTH mode', ['--set', 'auth.mode=basic'], /\/auth\/mode/],
    ['a misspelt value', ['--set', 'replica=2'], /replica/],
    ['an invalid job namespace', ['--set', 'jobNamespaces[0]=Team_A'], /\/jobNamespaces\/0/],
  ])('refuses %s with a message naming it', async (_, args, message) => {
    const r = await run(helmBin(), ['template', 'leasecron', CHART, '--namespace', NS, ...args]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

describe('the rendered chart on the real API server', () => {
  beforeAll(async () => {
    // Namespaced objects can only be dry-run into namespaces that exist: the release namespace
    // (as deploy/ makes it) and the job namespaces of the external values.
    const namespaces = ['team-a', 'team-b'].map((name) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    }));
    const own = kustomized.find((o) => o.kind === 'Namespace');
    await kubectlOk(
      kubeconfig,
      ['apply', '--server-side', '--field-manager=leasecron-test', '-f', '-'],
      [own, ...namespaces].map((o) => k8s.dumpYaml(o)).join('---\n'),
    );
  });

  for (const [name, get] of [
    ['default values', () => defaults],
    ['the external MongoDB values', () => external],
  ] as const) {
    it(`accepts every object rendered with ${name} in a server-side dry-run, with no warning`, async () => {
      const { yaml, objects } = get();
      await expectServerDryRunAccepts(kubeconfig, yaml, objects.length);
    });
  }
});
