// Proves the Kubernetes half of the stack through @kubernetes/client-node:
// Lease optimistic concurrency (the basis of election) and RBAC on leases.
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, createNamespace, tokenKubeConfig } from '../helpers/clients.ts';

function statusOf(err: unknown): number | undefined {
  return err instanceof k8s.ApiException ? err.code : undefined;
}

describe('Lease on the real kube-apiserver', () => {
  let ns: string;
  let leases: k8s.CoordinationV1Api;
  beforeAll(async () => {
    ns = await createNamespace('proof-lease');
    leases = adminKubeConfig().makeApiClient(k8s.CoordinationV1Api);
  });

  it('replace with the current resourceVersion succeeds; with a stale one gets 409', async () => {
    const created = await leases.createNamespacedLease({
      namespace: ns,
      body: {
        metadata: { name: 'proof' },
        spec: { holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 },
      },
    });
    const got = await leases.readNamespacedLease({ name: 'proof', namespace: ns });
    expect(got.spec?.holderIdentity).toBe('a');
    const rv1 = got.metadata?.resourceVersion;
    expect(rv1).toBe(created.metadata?.resourceVersion);

    const renewed = await leases.replaceNamespacedLease({
      name: 'proof',
      namespace: ns,
      body: { ...got, spec: { ...got.spec, holderIdentity: 'b', renewTime: new k8s.V1MicroTime() } },
    });
    expect(renewed.spec?.holderIdentity).toBe('b');
    expect(renewed.metadata?.resourceVersion).not.toBe(rv1);

    const stale = leases.replaceNamespacedLease({
      name: 'proof',
      namespace: ns,
      body: { ...got, spec: { ...got.spec, holderIdentity: 'c' } },
    });
    await expect(stale).rejects.toSatisfy((e) => statusOf(e) === 409);
    const after = await leases.readNamespacedLease({ name: 'proof', namespace: ns });
    expect(after.spec?.holderIdentity).toBe('b');
  });
});

describe('RBAC on leases for a ServiceAccount', () => {
  it('is refused update without a Role and allowed once a Role grants it', async () => {
    const ns = await createNamespace('proof-rbac');
    const admin = adminKubeConfig();
    const core = admin.makeApiClient(k8s.CoreV1Api);
    const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'scheduler' } } });
    const tr = await core.createNamespacedServiceAccountToken({
      name: 'scheduler',
      namespace: ns,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tr.status?.token;
    expect(token).toMatch(/^ey/);

    const adminLeases = admin.makeApiClient(k8s.CoordinationV1Api);
    await adminLeases.createNamespacedLease({
      namespace: ns,
      body: { metadata: { name: 'l' }, spec: { holderIdentity: 'x', leaseDurationSeconds: 15 } },
    });
    const saLeases = tokenKubeConfig(token!, ns).makeApiClient(k8s.CoordinationV1Api);
    const update = async () => {
      const cur = await adminLeases.readNamespacedLease({ name: 'l', namespace: ns });
      return saLeases.replaceNamespacedLease({
        name: 'l',
        namespace: ns,
        body: { ...cur, spec: { ...cur.spec, holderIdentity: 'scheduler' } },
      });
    };
    await expect(update()).rejects.toSatisfy((e) => statusOf(e) === 403);

    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'lease-writer' },
        rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'lease-writer' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lease-writer' },
        subjects: [{ kind: 'ServiceAccount', name: 'scheduler', namespace: ns }],
      },
    });
    // RBAC is served from an informer cache: poll briefly until the binding is visible.
    let updated: k8s.V1Lease | undefined;
    for (let i = 0; i < 50 && !updated; i++) {
      try {
        updated = await update();
      } catch (e) {
        if (statusOf(e) !== 403) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(updated?.spec?.holderIdentity).toBe('scheduler');
  });
});
