// deploy/ against the real kube-apiserver: the kustomizations render, the API server accepts every
// object (server-side dry-run, Pod Security "restricted" included), the Role grants exactly what
// leasecron calls, and the cluster targets in mk/kind.mk find and replace the leader.
// The test API server has no controller-manager and no nodes: nothing is scheduled, which these
// checks do not need. Other test files share the server, so this file only relies on what it applies.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig } from '../../src/config/load-config.ts';
import { REPO_ROOT } from '../../stack/stack.ts';
import { stack, tokenKubeConfig, uniqueName } from '../helpers/clients.ts';
import {
  expectServerDryRunAccepts,
  KUBECTL,
  kubectl,
  kubectlOk,
  privateKubeconfig,
  run,
} from './commands.ts';

const NS = 'leasecron';
const SA_USER = `system:serviceaccount:${NS}:leasecron`;
const APP_LABELS = { 'app.kubernetes.io/name': 'leasecron', 'app.kubernetes.io/instance': 'leasecron' };

type KubeObject = k8s.KubernetesObject;

async function render(dir: string): Promise<{ yaml: string; objects: KubeObject[] }> {
  const yaml = await kubectlOk(kubeconfig, ['kustomize', dir]);
  return { yaml, objects: k8s.loadAllYaml(yaml) };
}

function only<T extends KubeObject>(objects: KubeObject[], kind: string, name?: string, pattern?: RegExp): T {
  const found = objects.filter(
    (o) =>
      o.kind === kind &&
      (name === undefined || o.metadata?.name === name) &&
      (pattern === undefined || pattern.test(o.metadata?.name ?? '')),
  );
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0] as T;
}

function podSpecs(objects: KubeObject[]): { owner: string; spec: k8s.V1PodSpec }[] {
  return objects.flatMap((o) => {
    const template = (o as { spec?: { template?: k8s.V1PodTemplateSpec } }).spec?.template;
    return template?.spec ? [{ owner: `${o.kind}/${o.metadata?.name}`, spec: template.spec }] : [];
  });
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return (
    selector !== undefined &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([k, v]) => labels[k] === v)
  );
}

let kubeconfig: string;
let base: { yaml: string; objects: KubeObject[] };
let kind: { yaml: string; objects: KubeObject[] };

function adminKubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}

beforeAll(async () => {
  kubeconfig = privateKubeconfig(stack().kube);
  [base, kind] = await Promise.all([render('deploy'), render('deploy/overlays/kind')]);
});

afterAll(() => {
  if (kubeconfig) rmSync(dirname(kubeconfig), { recursive: true, force: true });
});

describe('deploy/ renders with kubectl kustomize', () => {
  it('the base has every part of the install, and the kind overlay only changes the Service', () => {
    // The generated ConfigMap's name ends in a content hash.
    const names = (objs: KubeObject[]) =>
      objs.map((o) =>
        `${o.kind}/${o.metadata?.name}`.replace(/^(ConfigMap\/leasecron)-[a-z0-9]{10}$/, '$1-<hash>'),
      );
    const kinds = names(base.objects).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole/leasecron-admin',
        'ClusterRole/leasecron-controller',
        'ClusterRole/leasecron-editor',
        'ClusterRole/leasecron-viewer',
        'ClusterRoleBinding/leasecron-auth-delegator',
        'ConfigMap/mongodb-rs-init',
        'ConfigMap/leasecron-<hash>',
        'CustomResourceDefinition/schedules.leasecron.io',
        'Deployment/leasecron',
        'Job/mongodb-rs-init',
        'Namespace/leasecron',
        'NetworkPolicy/leasecron',
        'NetworkPolicy/mongodb',
        'PodDisruptionBudget/leasecron',
        'Role/leasecron',
        'RoleBinding/leasecron',
        'RoleBinding/leasecron-controller',
        'Service/leasecron',
        'Service/mongodb',
        'ServiceAccount/leasecron',
        'StatefulSet/mongodb',
        'ValidatingAdmissionPolicy/leasecron-pod-label-only',
        'ValidatingAdmissionPolicy/leasecron-schedule-job-permissions',
        'ValidatingAdmissionPolicyBinding/leasecron-pod-label-only',
        'ValidatingAdmissionPolicyBinding/leasecron-schedule-job-permissions',
      ].sort(),
    );
    const demo = [
      'ClusterRoleBinding/leasecron-demo',
      'NetworkPolicy/leasecron-nodeport',
      'ServiceAccount/leasecron-demo',
    ];
    expect(names(kind.objects).sort()).toEqual([...kinds, ...demo].sort());
    const withoutService = (objs: KubeObject[]) =>
      objs.filter(
        (o) =>
          !(o.kind === 'Service' && o.metadata?.name === 'leasecron') &&
          !demo.includes(`${o.kind}/${o.metadata?.name}`),
      );
    expect(withoutService(kind.objects)).toEqual(withoutService(base.objects));

    expect(only<k8s.V1Service>(base.objects, 'Service', 'leasecron').spec?.type).toBe('ClusterIP');
    const nodePort = only<k8s.V1Service>(kind.objects, 'Service', 'leasecron').spec;
    expect(nodePort?.type).toBe('NodePort');
    expect(nodePort?.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', nodePort: 30080 }]);
  });

  it('kind-config.yaml publishes the overlay NodePort on 127.0.0.1:8080, the local BASE_URL port', () => {
    const config = k8s.loadYaml<{
      kind: string;
      nodes: { role: string; extraPortMappings?: Record<string, unknown>[] }[];
    }>(readFileSync(join(REPO_ROOT, 'kind-config.yaml'), 'utf8'));
    expect(config.kind).toBe('Cluster');
    expect(config.nodes.map((n) => n.role)).toEqual(['control-plane']);
    const nodePort = only<k8s.V1Service>(kind.objects, 'Service', 'leasecron').spec?.ports?.[0]?.nodePort;
    expect(config.nodes[0]?.extraPortMappings).toEqual([
      {
        containerPort: nodePort,
        hostPort: Number(DEFAULTS.PORT),
        listenAddress: '127.0.0.1',
        protocol: 'TCP',
      },
    ]);
  });

  it('only the Namespace, the CRD, RBAC roles and the admission policies are cluster-scoped; all labelled part-of', () => {
    const clusterScoped = [
      'Namespace',
      'CustomResourceDefinition',
      'ClusterRole',
      'ClusterRoleBinding',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ];
    for (const o of base.objects) {
      expect(o.metadata?.labels?.['app.kubernetes.io/part-of'], `${o.kind}/${o.metadata?.name}`).toBe(
        'leasecron',
      );
      if (o.kind === 'Namespace') expect(o.metadata?.name).toBe(NS);
      if (clusterScoped.includes(o.kind ?? '')) expect(o.metadata?.namespace).toBeUndefined();
      else expect(o.metadata?.namespace, `${o.kind}/${o.metadata?.name}`).toBe(NS);
    }
    // The admission policy names the ServiceAccount in full: it must be the one the Role binds.
    const policy = only<k8s.V1ValidatingAdmissionPolicy>(
      base.objects,
      'ValidatingAdmissionPolicy',
      'leasecron-pod-label-only',
    );
    expect(policy.spec?.matchConditions?.[0]?.expression).toContain(`'${SA_USER}'`);
    const delegator = only<k8s.V1ClusterRoleBinding>(base.objects, 'ClusterRoleBinding');
    expect(delegator.roleRef.name).toBe('system:auth-delegator');
    expect(delegator.subjects).toEqual([{ kind: 'ServiceAccount', name: 'leasecron', namespace: NS }]);
    // The ClusterRoles join the built-in view, edit and admin roles.
    const aggregated = base.objects
      .filter((o) => o.kind === 'ClusterRole' && o.metadata?.name !== 'leasecron-controller')
      .map((o) => [
        o.metadata?.name,
        Object.keys(o.metadata?.labels ?? {}).find((k) => k.includes('aggregate-to')),
      ]);
    expect(aggregated.sort()).toEqual([
      ['leasecron-admin', 'rbac.authorization.k8s.io/aggregate-to-admin'],
      ['leasecron-editor', 'rbac.authorization.k8s.io/aggregate-to-edit'],
      ['leasecron-viewer', 'rbac.authorization.k8s.io/aggregate-to-view'],
    ]);
    const binding = only<k8s.V1RoleBinding>(base.objects, 'RoleBinding', 'leasecron');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'leasecron', namespace: NS }]);
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'leasecron',
    });
    // The controller's ClusterRole is granted per namespace (a RoleBinding), never cluster-wide.
    const controller = only<k8s.V1RoleBinding>(base.objects, 'RoleBinding', 'leasecron-controller');
    expect(controller.subjects).toEqual([{ kind: 'ServiceAccount', name: 'leasecron', namespace: NS }]);
    expect(controller.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'leasecron-controller',
    });
    expect(
      base.objects.filter(
        (o) =>
          o.kind === 'ClusterRoleBinding' &&
          (o as k8s.V1ClusterRoleBinding).roleRef.name.startsWith('leasecron'),
      ),
    ).toEqual([]);
  });

  it('selectors meet their pods: the Service and PDB pick all leasecron replicas and nothing else', () => {
    const deployment = only<k8s.V1Deployment>(base.objects, 'Deployment');
    const mongo = only<k8s.V1StatefulSet>(base.objects, 'StatefulSet');
    const appPods = deployment.spec?.template.metadata?.labels ?? {};
    const mongoPods = mongo.spec?.template.metadata?.labels ?? {};
    expect(selects(deployment.spec?.selector.matchLabels, appPods)).toBe(true);
    expect(selects(mongo.spec?.selector.matchLabels, mongoPods)).toBe(true);
    const serviceSelector = only<k8s.V1Service>(base.objects, 'Service', 'leasecron').spec?.selector;
    const pdbSelector = only<k8s.V1PodDisruptionBudget>(base.objects, 'PodDisruptionBudget').spec?.selector;
    for (const [what, labels] of [
      ['Service', serviceSelector],
      ['PodDisruptionBudget', pdbSelector?.matchLabels],
    ] as const) {
      expect(labels, what).toEqual(APP_LABELS);
      expect(selects(labels, appPods), what).toBe(true);
      expect(selects(labels, mongoPods), what).toBe(false);
    }
    const headless = only<k8s.V1Service>(base.objects, 'Service', 'mongodb');
    expect(headless.spec?.clusterIP).toBe('None');
    expect(mongo.spec?.serviceName).toBe('mongodb');
    expect(selects(headless.spec?.selector, mongoPods)).toBe(true);
    expect(selects(headless.spec?.selector, appPods)).toBe(false);
    expect(only<k8s.V1PodDisruptionBudget>(base.objects, 'PodDisruptionBudget').spec?.maxUnavailable).toBe(1);
  });

  it('the leasecron Deployment: 3 replicas, downward-API identity, config + optional Secret, probes', () => {
    const deployment = only<k8s.V1Deployment>(base.objects, 'Deployment');
    expect(deployment.spec?.replicas).toBe(3);
    const pod = deployment.spec?.template.spec;
    expect(pod?.serviceAccountName).toBe('leasecron');
    expect(pod?.terminationGracePeriodSeconds).toBe(30);
    const spread = [
      ...(pod?.topologySpreadConstraints ?? []),
      ...(pod?.affinity?.podAntiAffinity ? [1] : []),
    ];
    expect(spread.length).toBeGreaterThan(0);
    expect(pod?.containers).toHaveLength(1);
    const c = pod!.containers[0]!;
    expect(c.image).toBe('leasecron:dev');
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
    expect(env.POD_NAME?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(env.POD_NAMESPACE?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    const configMapName = only(base.objects, 'ConfigMap', c.envFrom?.[0]?.configMapRef?.name).metadata?.name;
    expect(configMapName).toMatch(/^leasecron-/);
    // Order matters: the Secret comes last so its values win.
    expect(c.envFrom).toEqual([
      { configMapRef: { name: configMapName } },
      { secretRef: { name: 'leasecron', optional: true } },
    ]);
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
  });

  it('every pod runs non-root, read-only, without privileges, with requests and limits', () => {
    const pods = podSpecs(base.objects);
    expect(pods.map((p) => p.owner).sort()).toEqual([
      'Deployment/leasecron',
      'Job/mongodb-rs-init',
      'StatefulSet/mongodb',
    ]);
    for (const { owner, spec } of pods) {
      expect(spec.securityContext?.runAsNonRoot, owner).toBe(true);
      expect(spec.securityContext?.runAsUser, owner).toBeGreaterThan(0);
      expect(spec.securityContext?.seccompProfile?.type, owner).toBe('RuntimeDefault');
      expect(spec.enableServiceLinks, owner).toBe(false);
      if (owner !== 'Deployment/leasecron') expect(spec.automountServiceAccountToken, owner).toBe(false);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const where = `${owner} ${c.name}`;
        expect(c.securityContext, where).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(Object.keys(c.resources?.requests ?? {}).sort(), where).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources?.limits ?? {}).sort(), where).toEqual(['cpu', 'memory']);
      }
    }
  });

  it('the ConfigMap and the Deployment env load as a valid config, and shutdown fits the grace period', () => {
    const deployment = only<k8s.V1Deployment>(base.objects, 'Deployment');
    const c = deployment.spec!.template.spec!.containers[0]!;
    const configMap = only<k8s.V1ConfigMap>(base.objects, 'ConfigMap', c.envFrom?.[0]?.configMapRef?.name);
    const literals = Object.fromEntries(
      (c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
    );
    const env = { ...configMap.data, ...literals, POD_NAME: 'leasecron-7d9f-abcde', POD_NAMESPACE: NS };
    const config = loadConfig(env, { readFile: () => NS, hostname: () => 'unused' });
    expect(config.port).toBe(c.ports?.[0]?.containerPort);
    expect(config.leaseName).toBe('leasecron-leader');
    expect(config.leaderLabel).toBe('leasecron.io/role');
    expect(config.labelPod).toBe(true);
    expect(config.jobNamespaces).toEqual([NS]);
    expect(config.mongodbUri).toContain('mongodb-0.mongodb:27017');
    expect(config.mongodbUri).toContain('replicaSet=rs0');
    expect(config.shutdownTimeoutMs / 1000).toBeLessThan(
      deployment.spec!.template.spec!.terminationGracePeriodSeconds!,
    );
  });

  it('secret.example.yaml: the Secrets `leasecron` and `mongodb-auth`, with known keys, not part of the install', () => {
    const secrets = k8s.loadAllYaml(
      readFileSync(join(REPO_ROOT, 'deploy/secret.example.yaml'), 'utf8'),
    ) as k8s.V1Secret[];
    expect(secrets.map((s) => `${s.kind}/${s.metadata?.namespace}/${s.metadata?.name}`)).toEqual([
      `Secret/${NS}/leasecron`,
      `Secret/${NS}/mongodb-auth`,
    ]);
    const [app, mongoAuth] = secrets as [k8s.V1Secret, k8s.V1Secret];
    expect(Object.keys(app.stringData ?? {}).sort()).toEqual([
      'API_TOKEN',
      'MONGODB_PASSWORD',
      'MONGODB_USERNAME',
    ]);
    // Loaded as the pods would: the ConfigMap's variables, overridden by the Secret's.
    const configMap = only<k8s.V1ConfigMap>(base.objects, 'ConfigMap', undefined, /^leasecron-/);
    const config = loadConfig(
      { ...configMap.data, ...app.stringData, POD_NAME: 'p', POD_NAMESPACE: NS },
      { readFile: () => undefined, hostname: () => 'unused' },
    );
    expect(config.apiToken).toBe(app.stringData?.API_TOKEN);
    expect(config.mongodbAuth).toEqual({
      username: app.stringData?.MONGODB_USERNAME,
      password: app.stringData?.MONGODB_PASSWORD,
    });
    expect(Object.keys(mongoAuth.stringData ?? {}).sort()).toEqual(['admin-password', 'keyfile']);
    expect(base.objects.some((o) => o.kind === 'Secret')).toBe(false);
  });

  it('MongoDB runs with access control: keyfile, users made from localhost, leasecron logs in', () => {
    const mongo = only<k8s.V1StatefulSet>(base.objects, 'StatefulSet');
    const pod = mongo.spec!.template.spec!;
    const scripts = only<k8s.V1ConfigMap>(base.objects, 'ConfigMap', 'mongodb-rs-init').data ?? {};
    for (const name of ['rs-init.js', 'rs-ready.js']) {
      expect(scripts[name]).toBe(readFileSync(join(REPO_ROOT, 'deploy/base/mongodb', name), 'utf8'));
      expect(() => new Script(scripts[name]!, { filename: name })).not.toThrow();
    }
    const [mongod, init] = pod.containers as [k8s.V1Container, k8s.V1Container];
    expect(mongod.command).toContain('--keyFile=/keyfile/keyfile');
    expect(pod.initContainers?.[0]?.command?.join(' ')).toContain('chmod 0400 /keyfile/keyfile');
    // The users are created by a container of the mongodb pod itself: with access control on,
    // only a connection from localhost may create the first one.
    expect(init.command?.join(' ')).toContain('/scripts/rs-init.js');
    expect(scripts['rs-init.js']).toContain("'mongodb://127.0.0.1:27017/");
    const secretRefs = (c: k8s.V1Container) =>
      Object.fromEntries(
        (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [[e.name, e.valueFrom.secretKeyRef]] : [])),
      );
    expect(secretRefs(init)).toEqual({
      ADMIN_PASSWORD: { name: 'mongodb-auth', key: 'admin-password' },
      LEASECRON_PASSWORD: { name: 'leasecron', key: 'MONGODB_PASSWORD' },
    });
    const env = Object.fromEntries((init.env ?? []).map((e) => [e.name, e.value]));
    expect(env.MEMBER_HOST).toBe(`${mongo.metadata?.name}-0.${mongo.spec?.serviceName}:27017`);
    expect(mongod.command).toContain(`--replSet=${env.REPLICA_SET}`);

    // The Job make up waits for logs in with leasecron's credentials, from the same Secret.
    const job = only<k8s.V1Job>(base.objects, 'Job').spec!.template.spec!;
    expect(job.restartPolicy).toBe('OnFailure');
    expect(job.containers[0]?.command).toContain('/scripts/rs-ready.js');
    expect(secretRefs(job.containers[0]!)).toEqual({
      LEASECRON_USERNAME: { name: 'leasecron', key: 'MONGODB_USERNAME' },
      LEASECRON_PASSWORD: { name: 'leasecron', key: 'MONGODB_PASSWORD' },
    });
    // leasecron's connection string carries no credentials and names the users' database.
    const configMap = only<k8s.V1ConfigMap>(base.objects, 'ConfigMap', undefined, /^leasecron-/);
    expect(configMap.data?.MONGODB_URI).toMatch(
      /^mongodb:\/\/mongodb-0\.mongodb:27017\/\?.*authSource=leasecron/,
    );
  });
});

describe('deploy/ on the real API server', () => {
  beforeAll(async () => {
    // Namespaced objects can only be dry-run into a namespace that exists.
    const namespace = base.yaml.split(/^---$/m).find((doc) => /^kind: Namespace$/m.test(doc));
    await kubectlOk(
      kubeconfig,
      ['apply', '--server-side', '--field-manager=leasecron-test', '-f', '-'],
      namespace,
    );
  });

  for (const [name, get] of [
    ['deploy/', () => base],
    ['deploy/overlays/kind', () => kind],
  ] as const) {
    it(`accepts every object of ${name} in a server-side dry-run, with no Pod Security warning`, async () => {
      const { yaml, objects } = get();
      await expectServerDryRunAccepts(kubeconfig, yaml, objects.length);
    });
  }

  it('scripts/ensure-secrets.sh creates the Secrets deploy/ reads, once: a re-run keeps the passwords', async () => {
    const ns = uniqueName('secrets');
    const ensure = () => run('bash', ['scripts/ensure-secrets.sh', ns, KUBECTL, '--kubeconfig', kubeconfig]);
    const first = await ensure();
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain(`created Secret ${ns}/mongodb-auth`);
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    const read = async () =>
      Object.fromEntries(
        await Promise.all(
          ['leasecron', 'mongodb-auth'].map(async (name) => {
            const data = (await core.readNamespacedSecret({ name, namespace: ns })).data ?? {};
            return [
              name,
              Object.fromEntries(
                Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
              ),
            ];
          }),
        ),
      ) as Record<string, Record<string, string>>;
    const made = await read();
    expect(Object.keys(made.leasecron!).sort()).toEqual(['MONGODB_PASSWORD', 'MONGODB_USERNAME']);
    expect(made.leasecron!.MONGODB_PASSWORD).toMatch(/^[0-9a-f]{48}$/);
    // mongod accepts a keyfile of 6 to 1024 base64 characters.
    expect(made['mongodb-auth']!.keyfile).toMatch(/^[A-Za-z0-9+/=]{6,1024}$/);
    expect(made['mongodb-auth']!['admin-password']).toMatch(/^[0-9a-f]{48}$/);
    const again = await ensure();
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('');
    expect(await read()).toEqual(made);
    await core.deleteNamespace({ name: ns });
  });

  it('Pod Security is really checked: a privileged variant of the Deployment draws a warning', async () => {
    const deployment = structuredClone(only<k8s.V1Deployment>(base.objects, 'Deployment'));
    deployment.spec!.template.spec!.containers[0]!.securityContext = { allowPrivilegeEscalation: true };
    const r = await kubectl(
      kubeconfig,
      ['apply', '--server-side', '--dry-run=server', '--field-manager=leasecron-test', '-f', '-'],
      k8s.dumpYaml(deployment),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/would violate PodSecurity "restricted:latest".*allowPrivilegeEscalation/);
  });

  describe('the leasecron ServiceAccount is least privilege', () => {
    beforeAll(async () => {
      const rbac = base.objects.filter((o) =>
        [
          'CustomResourceDefinition',
          'ServiceAccount',
          'Role',
          'ClusterRole',
          'RoleBinding',
          'ValidatingAdmissionPolicy',
          'ValidatingAdmissionPolicyBinding',
        ].includes(o.kind ?? ''),
      );
      const yaml = rbac.map((o) => k8s.dumpYaml(o)).join('---\n');
      await kubectlOk(
        kubeconfig,
        ['apply', '--server-side', '--force-conflicts', '--field-manager=leasecron-test', '-f', '-'],
        yaml,
      );
      // `auth can-i … schedules.leasecron.io` resolves the resource by discovery: the CRD must be served.
      await kubectlOk(kubeconfig, [
        'wait',
        '--for=condition=Established',
        'crd/schedules.leasecron.io',
        '--timeout=60s',
      ]);
    });

    // `resource` may name a subresource after a '/' only when it is no resource name: status,
    // finalizers, trigger (`schedules.leasecron.io/status` is sent as --subresource=status).
    async function canI(verb: string, resource: string, namespace: string | null = NS): Promise<string> {
      const ns = namespace === null ? [] : ['-n', namespace];
      const sub = /^(.+)\/(status|finalizers|trigger)$/.exec(resource);
      const what = sub ? [sub[1]!, `--subresource=${sub[2]}`] : [resource];
      const r = await kubectl(kubeconfig, ['auth', 'can-i', verb, ...what, `--as=${SA_USER}`, ...ns]);
      if (r.code !== 0 && r.code !== 1) throw new Error(`kubectl auth can-i failed: ${r.stderr}`);
      return `${verb} ${resource}${namespace === NS ? '' : ` in ${namespace ?? 'the cluster'}`}: ${r.stdout.trim()}`;
    }

    async function all(checks: [string, string, (string | null)?][]): Promise<string[]> {
      const out: string[] = [];
      // A few kubectl processes at a time: the machine has two cores and other files run too.
      for (let i = 0; i < checks.length; i += 4) {
        out.push(...(await Promise.all(checks.slice(i, i + 4).map(([v, r, n]) => canI(v, r, n)))));
      }
      return out;
    }

    it('with a token of its own it can hold a Lease and label a real leasecron pod, not delete it', async () => {
      const admin = adminKubeConfig();
      const core = admin.makeApiClient(k8s.CoreV1Api);
      const token = (
        await core.createNamespacedServiceAccountToken({
          name: 'leasecron',
          namespace: NS,
          body: { spec: { audiences: [], expirationSeconds: 600 } },
        })
      ).status?.token;
      const sa = tokenKubeConfig(token!, NS);
      const saLeases = sa.makeApiClient(k8s.CoordinationV1Api);
      const saCore = sa.makeApiClient(k8s.CoreV1Api);

      // Its own Lease only (resourceNames): the one LEASE_NAME names.
      const leaseName = DEFAULTS.LEASE_NAME;
      await admin
        .makeApiClient(k8s.CoordinationV1Api)
        .deleteNamespacedLease({ name: leaseName, namespace: NS })
        .catch(() => undefined);
      const created = await saLeases.createNamespacedLease({
        namespace: NS,
        body: { metadata: { name: leaseName }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
      });
      const renewed = await saLeases.replaceNamespacedLease({
        name: leaseName,
        namespace: NS,
        body: { ...created, spec: { ...created.spec, holderIdentity: 'b', leaseTransitions: 1 } },
      });
      expect(renewed.spec?.holderIdentity).toBe('b');
      const other = await saLeases.createNamespacedLease({
        namespace: NS,
        body: { metadata: { name: uniqueName('lc-other-lease') }, spec: { holderIdentity: 'a' } },
      });
      await expect(
        saLeases.replaceNamespacedLease({ name: other.metadata!.name!, namespace: NS, body: other }),
      ).rejects.toSatisfy((e) => e instanceof k8s.ApiException && e.code === 403);
      await admin
        .makeApiClient(k8s.CoordinationV1Api)
        .deleteNamespacedLease({ name: leaseName, namespace: NS });

      // The Deployment's own pod template: enforce=restricted admits it, a real admission, not a warning.
      const template = only<k8s.V1Deployment>(base.objects, 'Deployment').spec!.template;
      const podName = uniqueName('leasecron-deploy-test');
      await core.createNamespacedPod({
        namespace: NS,
        body: { metadata: { ...template.metadata, name: podName }, spec: template.spec },
      });
      const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
      await saCore.patchNamespacedPod(
        { name: podName, namespace: NS, body: { metadata: { labels: { 'leasecron.io/role': 'leader' } } } },
        mergePatch,
      );
      await saCore.patchNamespacedPod(
        { name: podName, namespace: NS, body: { metadata: { labels: { 'leasecron.io/role': null } } } },
        mergePatch,
      );
      expect(
        (await saCore.readNamespacedPod({ name: podName, namespace: NS })).metadata?.labels,
      ).not.toHaveProperty('leasecron.io/role');
      await expect(saCore.deleteNamespacedPod({ name: podName, namespace: NS })).rejects.toSatisfy(
        (e) => e instanceof k8s.ApiException && e.code === 403,
      );

      // RBAC lets it patch any pod here; the admission policy lets it change nothing but the role
      // label. (A new policy takes a moment to be enforced: wait until another label is refused.)
      const refusal = async (body: object) => {
        try {
          await saCore.patchNamespacedPod({ name: podName, namespace: NS, body }, mergePatch);
          return null;
        } catch (e) {
          if (e instanceof k8s.ApiException) return `${e.code} ${String(e.body)}`;
          throw e;
        }
      };
      const deadline = Date.now() + 15_000;
      let otherLabel: string | null = null;
      while (otherLabel === null && Date.now() < deadline) {
        otherLabel = await refusal({ metadata: { labels: { team: 'x' } } });
        if (otherLabel === null) {
          await core.patchNamespacedPod(
            { name: podName, namespace: NS, body: { metadata: { labels: { team: null } } } },
            mergePatch,
          );
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      expect(otherLabel).toMatch(/not other labels/);
      const strategic = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
      const image = await saCore
        .patchNamespacedPod(
          {
            name: podName,
            namespace: NS,
            body: {
              spec: { containers: [{ name: template.spec!.containers[0]!.name, image: 'attacker/image:1' }] },
            },
          },
          strategic,
        )
        .then(
          () => null,
          (e) => (e instanceof k8s.ApiException ? `${e.code} ${String(e.body)}` : Promise.reject(e)),
        );
      expect(image).toMatch(/^422 .*not its spec/);
      expect(await refusal({ metadata: { labels: { 'leasecron.io/role': 'admin' } } })).toMatch(
        /may only be set to leader/,
      );
      expect(await refusal({ metadata: { annotations: { x: 'y' } } })).toMatch(/not its annotations/);
      // ... and the label itself still works under the policy.
      expect(await refusal({ metadata: { labels: { 'leasecron.io/role': 'leader' } } })).toBeNull();
      const after = await saCore.readNamespacedPod({ name: podName, namespace: NS });
      expect(after.spec?.containers[0]?.image).toBe(template.spec!.containers[0]!.image);
      expect(after.metadata?.labels?.['leasecron.io/role']).toBe('leader');
      await core.deleteNamespacedPod({ name: podName, namespace: NS });
    });

    it('may do each call leasecron makes in its namespace', async () => {
      const needed: [string, string][] = [
        ...['get', 'watch', 'update', 'patch'].map((v): [string, string] => [
          v,
          `leases.coordination.k8s.io/${DEFAULTS.LEASE_NAME}`,
        ]),
        ['create', 'leases.coordination.k8s.io'],
        ['get', 'pods'],
        ['patch', 'pods'],
        ...['get', 'list', 'watch', 'create', 'delete'].map((v): [string, string] => [v, 'jobs.batch']),
        ...['get', 'list', 'watch', 'update', 'patch'].map((v): [string, string] => [
          v,
          'schedules.leasecron.io',
        ]),
        ...['get', 'update', 'patch'].map((v): [string, string] => [v, 'schedules.leasecron.io/status']),
        ['update', 'schedules.leasecron.io/finalizers'],
        ['create', 'events.events.k8s.io'],
        ['patch', 'events.events.k8s.io'],
      ];
      const answers = await all(needed);
      expect(answers).toEqual(needed.map(([v, r]) => `${v} ${r}: yes`));
    });

    it('may do nothing else: no secrets, no pod deletes, no other namespace, nothing cluster-wide', async () => {
      const refused: [string, string, (string | null)?][] = [
        ['get', 'secrets'],
        ['list', 'secrets'],
        ['get', 'configmaps'],
        ['delete', 'pods'],
        ['create', 'pods'],
        ['list', 'pods'],
        ['update', 'pods'],
        ['create', 'pods/exec'],
        ['create', 'pods/eviction'],
        ['delete', 'leases.coordination.k8s.io'],
        ['list', 'leases.coordination.k8s.io'],
        ['get', 'leases.coordination.k8s.io/another-lease'],
        ['update', 'leases.coordination.k8s.io/another-lease'],
        ['deletecollection', 'leases.coordination.k8s.io'],
        ['patch', 'jobs.batch'],
        ['update', 'jobs.batch'],
        ['deletecollection', 'jobs.batch'],
        // Users and GitOps tools own Schedule objects; the controller only syncs and reports.
        ['create', 'schedules.leasecron.io'],
        ['delete', 'schedules.leasecron.io'],
        ['deletecollection', 'schedules.leasecron.io'],
        ['create', 'schedules.leasecron.io/trigger'],
        ['delete', 'events.events.k8s.io'],
        ['create', 'events'],
        ['list', 'schedules.leasecron.io', 'default'],
        ['update', 'schedules.leasecron.io/status', 'default'],
        ['create', 'events.events.k8s.io', 'default'],
        ['list', 'jobs.batch', 'default'],
        ['list', 'schedules.leasecron.io', null],
        ['list', 'jobs.batch', null],
        ['create', 'deployments.apps'],
        ['patch', 'deployments.apps'],
        ['create', 'serviceaccounts/token'],
        ['create', 'roles.rbac.authorization.k8s.io'],
        ['create', 'rolebindings.rbac.authorization.k8s.io'],
        ['get', 'leases.coordination.k8s.io', 'kube-system'],
        ['create', 'leases.coordination.k8s.io', 'default'],
        ['patch', 'pods', 'default'],
        ['create', 'jobs.batch', 'default'],
        ['list', 'nodes', null],
        ['list', 'namespaces', null],
        ['create', 'clusterroles.rbac.authorization.k8s.io', null],
        ['*', '*'],
      ];
      const answers = await all(refused);
      expect(answers.filter((a) => !a.endsWith(': no'))).toEqual([]);
    });
  });
});

describe('mk/kind.mk cluster targets', () => {
  const K8S_LABELS = { ...APP_LABELS, 'leasecron.io/role': 'leader' };

  it('k-leader shows the holder; k-failover deletes the leader pod and reports the next holder', async () => {
    const ns = uniqueName('lc-make');
    const admin = adminKubeConfig();
    const core = admin.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const leases = admin.makeApiClient(k8s.CoordinationV1Api);
    const pod = (name: string, leader: boolean): k8s.V1Pod => ({
      metadata: { name, labels: leader ? K8S_LABELS : APP_LABELS },
      spec: { containers: [{ name: 'app', image: 'leasecron:dev' }] },
    });
    await core.createNamespacedPod({ namespace: ns, body: pod('leasecron-a', true) });
    await core.createNamespacedPod({ namespace: ns, body: pod('leasecron-b', false) });
    await leases.createNamespacedLease({
      namespace: ns,
      body: {
        metadata: { name: 'leasecron-leader' },
        spec: {
          holderIdentity: 'leasecron-a',
          leaseDurationSeconds: 15,
          leaseTransitions: 3,
          renewTime: new k8s.V1MicroTime(),
        },
      },
    });
    // KUBE_CONTEXT= : the current context of $KUBECONFIG, here the test API server.
    const make = (target: string, extra: string[] = []) =>
      run(
        'make',
        ['--no-print-directory', target, `NAMESPACE=${ns}`, 'KUBE_CONTEXT=', `KUBECTL=${KUBECTL}`, ...extra],
        {
          env: { KUBECONFIG: kubeconfig },
        },
      );

    const leader = await make('k-leader');
    expect(leader.stderr).toBe('');
    expect(leader.code).toBe(0);
    expect(leader.stdout).toContain(`Lease ${ns}/leasecron-leader: holder=leasecron-a transitions=3`);
    expect(leader.stdout).toMatch(/^leasecron-a\s.*\sleader\s*$/m);
    expect(leader.stdout).toMatch(/^leasecron-b\s/m);

    const failover = make('k-failover', ['FAILOVER_TIMEOUT=20']);
    // Play the part of replica b: once the leader pod is gone (unscheduled pods go at once), take over.
    const gone = expect
      .poll(
        async () => (await core.listNamespacedPod({ namespace: ns })).items.map((p) => p.metadata?.name),
        {
          timeout: 20_000,
          interval: 200,
        },
      )
      .toEqual(['leasecron-b']);
    const endedEarly = failover.then((r) => {
      throw new Error(`make k-failover ended before the takeover (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    });
    endedEarly.catch(() => {});
    await Promise.race([gone, endedEarly]);
    const lease = await leases.readNamespacedLease({ name: 'leasecron-leader', namespace: ns });
    await leases.replaceNamespacedLease({
      name: 'leasecron-leader',
      namespace: ns,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'leasecron-b', leaseTransitions: 4 } },
    });
    await core.patchNamespacedPod(
      { name: 'leasecron-b', namespace: ns, body: { metadata: { labels: K8S_LABELS } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const r = await failover;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('deleting leader pod leasecron-a (Lease holder: leasecron-a)');
    expect(r.stdout).toMatch(/new leader: leasecron-b \(within \d+s of the delete\)/);
    expect(r.stdout).toContain(`holder=leasecron-b transitions=4`);
  });

  it('fail with a clear message when there is no leasecron to look at', async () => {
    const r = await run(
      'make',
      ['--no-print-directory', 'k-leader', 'NAMESPACE=no-such-namespace', 'KUBE_CONTEXT='],
      {
        env: { KUBECONFIG: kubeconfig },
      },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('namespace no-such-namespace not found');
    expect(r.stderr).toContain('make up');
  });
});
