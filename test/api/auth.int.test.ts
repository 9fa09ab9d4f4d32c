// Authentication and authorization against the real API server (issue 11): ServiceAccount tokens
// from TokenRequest, checked by TokenReview; every request authorized by SubjectAccessReview
// against the ClusterRoles deploy/ ships (created here under unique names, bound by RoleBindings).
// Each denial must write nothing and name the missing permission.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenAuth } from '../../src/auth/api-auth.ts';
import { KubernetesReviewer } from '../../src/auth/kubernetes.ts';
import { REPO_ROOT } from '../../stack/stack.ts';
import { adminKubeConfig, createNamespace, uniqueName } from '../helpers/clients.ts';
import { fingerprint, type Harness, harness, PROBLEM, send, validBody } from './api-harness.ts';

const ADMIN_TOKEN = 'static-admin-token-for-the-auth-test';
const rbac = () => adminKubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
const core = () => adminKubeConfig().makeApiClient(k8s.CoreV1Api);

/** The ClusterRoles of deploy/, created under `<name>-<suffix>` so test files stay independent. */
async function createShippedRoles(suffix: string): Promise<Record<string, string>> {
  const yaml = readFileSync(join(REPO_ROOT, 'deploy/base/leasecron/clusterroles.yaml'), 'utf8');
  const names: Record<string, string> = {};
  for (const role of k8s.loadAllYaml(yaml) as k8s.V1ClusterRole[]) {
    const name = `${role.metadata!.name}-${suffix}`;
    names[role.metadata!.name!] = name;
    await rbac().createClusterRole({ body: { ...role, metadata: { name } } });
  }
  return names;
}

async function serviceAccountToken(namespace: string, name: string): Promise<string> {
  await core().createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const minted = await core().createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { expirationSeconds: 3600 } },
  });
  return minted.status!.token!;
}

async function bind(namespace: string, clusterRole: string, sa: { namespace: string; name: string }) {
  await rbac().createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: uniqueName('rb') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
      subjects: [{ kind: 'ServiceAccount', ...sa }],
    },
  });
}

async function grantRole(namespace: string, sa: string, rules: k8s.V1PolicyRule[]) {
  const name = uniqueName('role');
  await rbac().createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac().createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', namespace, name: sa }],
    },
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const jobBody = (name: string, extra: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}) =>
  validBody(name, {
    action: {
      type: 'kubernetesJob',
      template: {
        spec: {
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'main', image: 'busybox:1.36', command: ['true'] }],
              ...podSpec,
            },
          },
        },
      },
      ...extra,
    },
  });

let h: Harness;
let reviewer: KubernetesReviewer;
let a: string;
let b: string;
let roles: Record<string, string>;
const tokens: Record<'viewerA' | 'editorA' | 'jobsA' | 'editorB', string> = {
  viewerA: '',
  editorA: '',
  jobsA: '',
  editorB: '',
};

beforeAll(async () => {
  reviewer = new KubernetesReviewer({ kubeConfig: adminKubeConfig(), timeoutMs: 5000, cacheTtlMs: 60_000 });
  h = await harness({ prefix: 'api_rbac', overrides: { auth: tokenAuth(ADMIN_TOKEN, reviewer) } });
  [a, b] = await Promise.all([createNamespace('tenant-a'), createNamespace('tenant-b')]);
  roles = await createShippedRoles(uniqueName('t'));
  const [viewerA, editorA, jobsA, editorB] = await Promise.all([
    serviceAccountToken(a, 'viewer'),
    serviceAccountToken(a, 'editor'),
    serviceAccountToken(a, 'jobs'),
    serviceAccountToken(b, 'editor'),
  ]);
  Object.assign(tokens, { viewerA, editorA, jobsA, editorB });
  await bind(a, roles['leasecron-viewer']!, { namespace: a, name: 'viewer' });
  await bind(a, roles['leasecron-editor']!, { namespace: a, name: 'editor' });
  await bind(a, roles['leasecron-editor']!, { namespace: a, name: 'jobs' });
  await bind(b, roles['leasecron-editor']!, { namespace: b, name: 'editor' });
  // `jobs` may also create Jobs in a, and run them as ServiceAccount `builder` (not `root`).
  await grantRole(a, 'jobs', [
    { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] },
    { apiGroups: [''], resources: ['serviceaccounts'], resourceNames: ['builder'], verbs: ['use'] },
  ]);
});

afterAll(async () => {
  await h?.close();
  await Promise.all(
    Object.values(roles ?? {}).map((name) =>
      rbac()
        .deleteClusterRole({ name })
        .catch(() => undefined),
    ),
  );
});

describe('authentication', () => {
  it('no token or a token Kubernetes does not accept is a 401 with a challenge, writing nothing', async () => {
    const before = await fingerprint(h.db);
    const none = await send(h.app, 'POST', `/api/v1/namespaces/${a}/schedules`, { body: validBody('x') });
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe(PROBLEM);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="leasecron"');
    const forged = await send(h.app, 'GET', '/api/v1/schedules', { headers: bearer(`${tokens.viewerA}x`) });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(await fingerprint(h.db)).toEqual(before);
  });

  it('answers from its cache: a repeated request sends no new review', async () => {
    const path = `/api/v1/namespaces/${a}/schedules`;
    expect((await send(h.app, 'GET', path, { headers: bearer(tokens.viewerA) })).status).toBe(200);
    const sent = reviewer.reviewsSent;
    for (let i = 0; i < 5; i++)
      expect((await send(h.app, 'GET', path, { headers: bearer(tokens.viewerA) })).status).toBe(200);
    expect(reviewer.reviewsSent).toBe(sent);
  });

  it('a review Kubernetes cannot answer is a 503 to retry, not a 401', async () => {
    const unreachable = new k8s.KubeConfig();
    unreachable.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const cut = await harness({
      prefix: 'api_rbac_cut',
      overrides: {
        auth: tokenAuth(
          ADMIN_TOKEN,
          new KubernetesReviewer({ kubeConfig: unreachable, timeoutMs: 500, cacheTtlMs: 0 }),
        ),
      },
    });
    try {
      const r = await send(cut.app, 'GET', '/api/v1/schedules', { headers: bearer(tokens.viewerA) });
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.body.detail).toMatch(/TokenReview/);
      // The static admin token needs no review.
      const admin = await send(cut.app, 'GET', '/api/v1/schedules', { headers: bearer(ADMIN_TOKEN) });
      expect(admin.status).toBe(200);
    } finally {
      await cut.close();
    }
  });
});

describe('authorization by SubjectAccessReview', () => {
  it('a viewer can list but not create: 403 naming the missing permission, nothing written', async () => {
    const list = await send(h.app, 'GET', `/api/v1/namespaces/${a}/schedules`, {
      headers: bearer(tokens.viewerA),
    });
    expect(list.status).toBe(200);
    const before = await fingerprint(h.db);
    const create = await send(h.app, 'POST', `/api/v1/namespaces/${a}/schedules`, {
      body: validBody('by-viewer'),
      headers: bearer(tokens.viewerA),
    });
    expect(create.status).toBe(403);
    expect(create.headers.get('content-type')).toBe(PROBLEM);
    expect(create.body.detail).toBe(
      `system:serviceaccount:${a}:viewer may not create schedules.leasecron.io in namespace '${a}'`,
    );
    // Authorized before the body is judged, as Kubernetes does: an invalid body is a 403 too.
    const invalid = await send(h.app, 'POST', `/api/v1/namespaces/${a}/schedules`, {
      body: { name: 'Not A Name' },
      headers: bearer(tokens.viewerA),
    });
    expect(invalid.status).toBe(403);
    expect(await fingerprint(h.db)).toEqual(before);
  });

  it("an editor in a manages a's schedules and cannot touch b's", async () => {
    // No namespace anywhere: the caller's ServiceAccount namespace.
    const mine = await send(h.app, 'POST', '/api/v1/schedules', {
      body: validBody('report'),
      headers: bearer(tokens.editorA),
    });
    expect(mine.status).toBe(201);
    expect(mine.body.namespace).toBe(a);
    const theirs = await send(h.app, 'POST', '/api/v1/schedules', {
      body: validBody('report'), // the same name: unique per namespace only
      headers: bearer(tokens.editorB),
    });
    expect(theirs.status).toBe(201);
    expect(theirs.body.namespace).toBe(b);
    expect(theirs.headers.get('location')).toBe(`/api/v1/schedules/${theirs.body.id}`);

    const before = await fingerprint(h.db);
    const asA = bearer(tokens.editorA);
    const intoB = await send(h.app, 'POST', `/api/v1/namespaces/${b}/schedules`, {
      body: validBody('sneaky'),
      headers: asA,
    });
    expect(intoB.status).toBe(403);
    expect(intoB.body.detail).toContain(`create schedules.leasecron.io in namespace '${b}'`);
    const bodySaysB = await send(h.app, 'POST', '/api/v1/schedules', {
      body: validBody('sneaky', { namespace: b }),
      headers: asA,
    });
    expect(bodySaysB.status).toBe(403);
    for (const [method, suffix, body] of [
      ['GET', '', undefined],
      ['PUT', '', validBody('report', { paused: true })],
      ['PATCH', '', { paused: true }],
      ['DELETE', '', undefined],
      ['POST', '/pause', undefined],
      ['POST', '/trigger', undefined],
      ['GET', '/runs', undefined],
    ] as const) {
      const r = await send(h.app, method, `/api/v1/schedules/${theirs.body.id}${suffix}`, {
        headers: {
          ...asA,
          ...(method === 'PATCH' ? { 'content-type': 'application/merge-patch+json' } : {}),
        },
        ...(body === undefined ? {} : { body }),
      });
      expect(r.status, `${method} ${suffix}`).toBe(403);
      expect(r.body.detail, `${method} ${suffix}`).toContain(`in namespace '${b}'`);
      // Under a's path, b's schedule does not exist.
      const inA = await send(h.app, method, `/api/v1/namespaces/${a}/schedules/${theirs.body.id}${suffix}`, {
        headers: asA,
      });
      expect(inA.status, `${method} ${suffix} under a`).toBe(404);
    }
    expect(await fingerprint(h.db)).toEqual(before);

    // The namespace cannot be moved by a replace or a patch.
    const moved = await send(h.app, 'PUT', `/api/v1/schedules/${mine.body.id}`, {
      body: validBody('report', { namespace: b }),
      headers: asA,
    });
    expect(moved.status).toBe(400);
    expect(moved.body.errors.map((e: { field: string }) => e.field)).toEqual(['namespace']);
    expect(await fingerprint(h.db)).toEqual(before);

    // a's own schedule: every verb the editor role grants.
    const base = `/api/v1/namespaces/${a}/schedules/${mine.body.id}`;
    expect((await send(h.app, 'GET', base, { headers: asA })).status).toBe(200);
    const paused = await send(h.app, 'POST', `${base}/pause`, { headers: asA });
    expect([paused.status, paused.body.paused]).toEqual([200, true]);
    expect((await send(h.app, 'POST', `${base}/trigger`, { headers: asA })).status).toBe(202);
    expect((await send(h.app, 'GET', `${base}/runs`, { headers: asA })).status).toBe(200);
    expect((await send(h.app, 'DELETE', base, { headers: asA })).status).toBe(204);
  });

  it('the all-namespaces list returns only what the caller may list', async () => {
    const created = await Promise.all(
      [tokens.editorA, tokens.editorB].map((t, i) =>
        send(h.app, 'POST', '/api/v1/schedules', { body: validBody(`listed-${i}`), headers: bearer(t) }),
      ),
    );
    expect(created.map((r) => r.status)).toEqual([201, 201]);
    const seen = async (token: string) =>
      (await send(h.app, 'GET', '/api/v1/schedules?limit=500', { headers: bearer(token) })).body.items.map(
        (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`,
      );
    const byA = await seen(tokens.editorA);
    expect(byA).toContain(`${a}/listed-0`);
    expect(byA.every((n: string) => n.startsWith(`${a}/`))).toBe(true);
    const byB = await seen(tokens.editorB);
    expect(byB).toContain(`${b}/listed-1`);
    expect(byB.every((n: string) => n.startsWith(`${b}/`))).toBe(true);
    const byAdmin = await seen(ADMIN_TOKEN);
    expect(byAdmin).toEqual(expect.arrayContaining([`${a}/listed-0`, `${b}/listed-1`]));
  });

  it('a kubernetesJob schedule needs create jobs there, and use of a named ServiceAccount', async () => {
    const before = await fingerprint(h.db);
    const noJobs = await send(h.app, 'POST', `/api/v1/namespaces/${a}/schedules`, {
      body: jobBody('job-by-editor'),
      headers: bearer(tokens.editorA),
    });
    expect(noJobs.status).toBe(403);
    expect(noJobs.body.detail).toContain(`create jobs.batch in namespace '${a}'`);
    const root = await send(h.app, 'POST', `/api/v1/namespaces/${a}/schedules`, {
      body: jobBody('job-as-root', {}, { serviceAccountName: 'root' }),
      headers: bearer(tokens.jobsA),
    });
    expect(root.status).toBe(403);
    expect(root.body.detail).toContain(`use serviceaccounts 'root' in namespace '${a}'`);
    const elsewhere = await send(h.app, 'POST', `/api/v1/namespaces/${a}/schedules`, {
      body: jobBody('job-elsewhere', { namespace: b }),
      headers: bearer(tokens.jobsA),
    });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.errors.map((e: { field: string }) => e.field)).toEqual(['action.namespace']);
    expect(await fingerprint(h.db)).toEqual(before);

    const ok = await send(h.app, 'POST', `/api/v1/namespaces/${a}/schedules`, {
      body: jobBody('job-as-builder', {}, { serviceAccountName: 'builder' }),
      headers: bearer(tokens.jobsA),
    });
    expect(ok.status).toBe(201);
    // The plain editor may neither change it (it would keep a Job schedule of theirs) ...
    const patched = await send(h.app, 'PATCH', `/api/v1/schedules/${ok.body.id}`, {
      body: { description: 'mine now' },
      headers: { ...bearer(tokens.editorA), 'content-type': 'application/merge-patch+json' },
    });
    expect(patched.status).toBe(403);
    expect(patched.body.detail).toContain('create jobs.batch');
    // ... nor turn an http schedule of theirs into a Job schedule.
    const plain = await send(h.app, 'POST', `/api/v1/namespaces/${a}/schedules`, {
      body: validBody('turns-into-job'),
      headers: bearer(tokens.editorA),
    });
    const turned = await send(h.app, 'PUT', `/api/v1/schedules/${plain.body.id}`, {
      body: jobBody('turns-into-job'),
      headers: bearer(tokens.editorA),
    });
    expect(turned.status).toBe(403);
    const stored = await h.db.collection('schedules').findOne({ _id: plain.body.id });
    expect(stored?.action).toEqual({ type: 'log' });
  });

  it('a Role naming one schedule (resourceNames) grants that one only', async () => {
    const one = await serviceAccountToken(a, 'one');
    await grantRole(a, 'one', [
      { apiGroups: ['leasecron.io'], resources: ['schedules'], resourceNames: ['named-one'], verbs: ['get'] },
    ]);
    const [named, other] = await Promise.all(
      ['named-one', 'named-other'].map((n) =>
        send(h.app, 'POST', `/api/v1/namespaces/${a}/schedules`, {
          body: validBody(n),
          headers: bearer(ADMIN_TOKEN),
        }),
      ),
    );
    expect(
      (await send(h.app, 'GET', `/api/v1/schedules/${named!.body.id}`, { headers: bearer(one) })).status,
    ).toBe(200);
    const refused = await send(h.app, 'GET', `/api/v1/schedules/${other!.body.id}`, { headers: bearer(one) });
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toContain(`get schedules.leasecron.io 'named-other' in namespace '${a}'`);
    expect(
      (await send(h.app, 'GET', `/api/v1/namespaces/${a}/schedules`, { headers: bearer(one) })).status,
    ).toBe(403);
  });

  it('reading many schedules costs one review per namespace, and concurrent requests share one', async () => {
    const ids = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (i) => {
        const r = await send(h.app, 'POST', `/api/v1/namespaces/${a}/schedules`, {
          body: validBody(`many-${i}`),
          headers: bearer(ADMIN_TOKEN),
        });
        return r.body.id as string;
      }),
    );
    // A fresh ServiceAccount: nothing about it is cached yet. Ten concurrent reads of different
    // schedules: one TokenReview and one SubjectAccessReview (get schedules in a), not twenty.
    const reader = await serviceAccountToken(a, 'reader');
    await bind(a, roles['leasecron-viewer']!, { namespace: a, name: 'reader' });
    const before = reviewer.reviewsSent;
    const reads = await Promise.all(
      [...ids, ...ids.slice(0, 4)].map((id) =>
        send(h.app, 'GET', `/api/v1/schedules/${id}`, { headers: bearer(reader) }),
      ),
    );
    expect(reads.map((r) => r.status)).toEqual(reads.map(() => 200));
    expect(reviewer.reviewsSent - before).toBe(2);
  });

  it('the static admin token may do anything, in any namespace', async () => {
    const r = await send(h.app, 'POST', `/api/v1/namespaces/${b}/schedules`, {
      body: jobBody('admin-job', {}, { serviceAccountName: 'root' }),
      headers: bearer(ADMIN_TOKEN),
    });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`/api/v1/namespaces/${b}/schedules/${r.body.id}`);
  });
});
