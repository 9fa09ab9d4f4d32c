// The install's own ServiceAccount, Role and RoleBinding are enough for leasecron to lead: a real
// leasecron process, out of cluster, with nothing but a TokenRequest token of that ServiceAccount,
// takes the Lease, labels its pod (a real Pod made from the Deployment's template; the test API
// server has no nodes, so it is never scheduled), and on SIGTERM clears the holder and the label.
// manifests.int.test.ts proves the Role with `auth can-i`; this proves it with the program itself.
// It applies the RBAC objects into a namespace of its own (metadata.namespace and the binding's
// subject rewritten), so it never touches `leasecron`, which manifests.int.test.ts uses.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/load-config.ts';
import { kubeconfigYaml } from '../../stack/kube.ts';
import { freePort } from '../../stack/ports.ts';
import { signal as sendSignal } from '../../stack/processes.ts';
import { clusterView, type Replica, startReplica, stopReplica, waitReady } from '../../stack/replicas.ts';
import {
  adminKubeConfig,
  createNamespace,
  dropDb,
  stack,
  tokenKubeConfig,
  uniqueName,
} from '../helpers/clients.ts';
import { KUBECTL, run } from './commands.ts';

const POD = 'leasecron-sa-0';
const LEASE = DEFAULTS.LEASE_NAME;
const ROLE_LABEL = 'leasecron.io/role';

let ns: string;
let tmp: string;
let saKubeconfig: string;
let token: string;
let mongoDb: string;
let replica: Replica | undefined;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

const core = () => adminKubeConfig().makeApiClient(k8s.CoreV1Api);
const leases = () => adminKubeConfig().makeApiClient(k8s.CoordinationV1Api);

async function podLabels(): Promise<Record<string, string>> {
  return (await core().readNamespacedPod({ name: POD, namespace: ns })).metadata?.labels ?? {};
}

async function lease(): Promise<k8s.V1Lease | null> {
  try {
    return await leases().readNamespacedLease({ name: LEASE, namespace: ns });
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return null;
    throw err;
  }
}

beforeAll(async () => {
  ns = await createNamespace('lc-sa');
  tmp = mkdtempSync(join(tmpdir(), 'leasecron-sa-'));

  // deploy/ as `kubectl apply -k` would render it; only the RBAC objects, moved to our namespace.
  const rendered = await run(KUBECTL, ['kustomize', 'deploy']);
  if (rendered.code !== 0) throw new Error(`kubectl kustomize deploy failed: ${rendered.stderr}`);
  const objects = k8s.loadAllYaml(rendered.stdout) as k8s.KubernetesObject[];
  const rbac = objects.filter((o) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind ?? ''));
  expect(rbac.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual([
    'Role/leasecron',
    'RoleBinding/leasecron',
    'RoleBinding/leasecron-controller',
    'ServiceAccount/leasecron',
  ]);
  const objectApi = k8s.KubernetesObjectApi.makeApiClient(adminKubeConfig());
  // The ClusterRole its RoleBinding names (cluster-scoped: shared with other files, same content).
  const controllerRole = objects.find(
    (o) => o.kind === 'ClusterRole' && o.metadata?.name === 'leasecron-controller',
  );
  await objectApi.create(controllerRole!).catch((err) => {
    if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
  });
  for (const o of rbac) {
    const moved = structuredClone(o) as k8s.KubernetesObject & { subjects?: k8s.RbacV1Subject[] };
    moved.metadata = { ...moved.metadata, namespace: ns };
    for (const s of moved.subjects ?? []) if (s.kind === 'ServiceAccount') s.namespace = ns;
    await objectApi.create(moved);
  }

  // The pod the leader labels: the Deployment's own template, under the name POD_NAME gives.
  const deployment = objects.find((o) => o.kind === 'Deployment') as k8s.V1Deployment;
  const template = deployment.spec!.template;
  await core().createNamespacedPod({
    namespace: ns,
    body: { metadata: { labels: template.metadata?.labels, name: POD }, spec: template.spec },
  });

  const minted = await core().createNamespacedServiceAccountToken({
    name: 'leasecron',
    namespace: ns,
    body: { spec: { audiences: [], expirationSeconds: 600 } },
  });
  token = minted.status?.token ?? '';
  expect(token).not.toBe('');
  saKubeconfig = join(tmp, 'kubeconfig');
  writeFileSync(saKubeconfig, kubeconfigYaml(stack().kube.server, token, 'leasecron'), { mode: 0o600 });
  mongoDb = uniqueName('sa').replace(/-/g, '_');
});

afterAll(async () => {
  if (replica) await stopReplica(replica, 'SIGKILL');
  if (mongoDb) await dropDb(mongoDb);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('leasecron with the deploy/ ServiceAccount token, out of cluster', () => {
  it('the kubeconfig it gets authenticates as the ServiceAccount, not as an admin', async () => {
    const review = await tokenKubeConfig(token, ns)
      .makeApiClient(k8s.AuthenticationV1Api)
      .createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${ns}:leasecron`);
    expect(review.status?.userInfo?.groups).not.toContain('system:masters');
    expect(readFileSync(saKubeconfig, 'utf8')).toContain(stack().kube.server);
  });

  it('becomes leader, holds the Lease as its pod name, and labels its pod', async () => {
    const port = await freePort();
    replica = startReplica(
      stack(),
      { identity: POD, port, logFile: join(stack().dir, `${POD}-${ns}.log`) },
      {
        entry: 'src/main.ts',
        env: {
          KUBECONFIG: saKubeconfig,
          POD_NAMESPACE: ns,
          LABEL_POD: 'true',
          MONGODB_URI: stack().mongo.uri,
          MONGODB_DB: mongoDb,
          LEASE_DURATION_SECONDS: '3',
          RENEW_DEADLINE_SECONDS: '2',
          RETRY_PERIOD_SECONDS: '0.5',
        },
      },
    );
    const child = replica.proc!.child!;
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await waitReady(replica);

    await expect
      .poll(async () => (await clusterView(port))?.role, { timeout: 20_000, interval: 100 })
      .toBe('leader');
    const view = await clusterView(port);
    expect(view).toMatchObject({ identity: POD, leader: POD, leaseName: LEASE, namespace: ns });

    const held = await lease();
    expect(held?.spec?.holderIdentity).toBe(POD);
    expect(held?.spec?.leaseDurationSeconds).toBe(3);

    await expect.poll(async () => (await podLabels())[ROLE_LABEL], { timeout: 10_000 }).toBe('leader');
    // Labelling touched only the role label: the template's own labels are still there.
    const labels = await podLabels();
    expect(labels).toMatchObject({ 'app.kubernetes.io/name': 'leasecron' });

    // Nothing it needed was refused along the way.
    expect(readFileSync(replica.logFile, 'utf8')).not.toMatch(/forbidden|\b403\b/i);
  });

  it('on SIGTERM it exits cleanly, having cleared the Lease holder and removed the label', async () => {
    expect(replica, 'started by the previous test').toBeDefined();
    const before = await lease();
    sendSignal(replica!, 'SIGTERM');
    const { code, signal } = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });

    // Checked once, right after exit: the process does both before it exits, nobody else acts here.
    const released = await lease();
    expect(released?.spec?.holderIdentity ?? '').toBe('');
    expect(released?.spec?.leaseTransitions).toBe(before?.spec?.leaseTransitions);
    expect(await podLabels()).not.toHaveProperty(ROLE_LABEL);
    expect(readFileSync(replica!.logFile, 'utf8')).not.toMatch(/forbidden|\b403\b/i);
    replica = undefined;
  });
});
