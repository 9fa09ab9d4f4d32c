// deploy/overlays/production: the base without the bundled database, MONGODB_URI from a Secret key
// and the image pinned by digest. It renders, the real kube-apiserver accepts it in a server-side
// dry-run (Pod Security included), and it is the same install as the Helm chart with the same
// choices (render.ts lists the intended differences).
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { stack } from '../helpers/clients.ts';
import { expectServerDryRunAccepts, kubectlOk, privateKubeconfig } from './commands.ts';
import { helmTemplate, id, type KubeObject, kustomize, NS, normalise } from './render.ts';

const DIGEST = `sha256:${'0'.repeat(64)}`;
const REPOSITORY = 'registry.example.com/platform/leasecron';

let kubeconfig: string;
let production: { yaml: string; objects: KubeObject[] };
let base: KubeObject[];

beforeAll(async () => {
  kubeconfig = privateKubeconfig(stack().kube);
  [production, { objects: base }] = await Promise.all([
    kustomize('deploy/overlays/production'),
    kustomize('deploy'),
  ]);
});

afterAll(() => {
  if (kubeconfig) rmSync(dirname(kubeconfig), { recursive: true, force: true });
});

const deploymentOf = (objects: KubeObject[]) =>
  objects.find((o) => o.kind === 'Deployment') as k8s.V1Deployment & KubeObject;

describe('deploy/overlays/production renders', () => {
  it('the base less every object of the bundled MongoDB: no StatefulSet, no mongodb anything', () => {
    expect(production.objects.filter((o) => o.kind === 'StatefulSet')).toEqual([]);
    expect(production.objects.map(id).filter((i) => /mongodb/i.test(i))).toEqual([]);
    const withoutHash = (objects: KubeObject[]) =>
      objects.map(id).map((i) => i.replace(/-[a-z0-9]{10}$/, ''));
    expect(withoutHash(production.objects).sort()).toEqual(
      withoutHash(base)
        .filter((i) => !/mongodb/.test(i))
        .sort(),
    );
    // Nothing in it selects, mounts or names the bundled member any more.
    expect(production.yaml).not.toMatch(
      /mongodb-0\.|mongodb-auth|mongodb-rs-init|instance: leasecron-mongodb/,
    );
  });

  it('MONGODB_URI from the Secret key, the image by digest, the ConfigMap without a database address', () => {
    const c = deploymentOf(production.objects).spec!.template.spec!.containers[0]!;
    expect(c.image).toBe(`${REPOSITORY}@${DIGEST}`);
    const uri = c.env?.find((e) => e.name === 'MONGODB_URI');
    // Not optional: without the Secret the pods wait, rather than look for a database not there.
    expect(uri?.valueFrom?.secretKeyRef).toEqual({ name: 'leasecron-mongodb', key: 'uri' });
    const configMap = production.objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata?.name === c.envFrom?.[0]?.configMapRef?.name,
    ) as k8s.V1ConfigMap;
    expect(configMap.data?.MONGODB_URI).toBeUndefined();
    // Loaded as the pods would, with the Secret's connection string: a valid config.
    const config = loadConfig(
      {
        ...configMap.data,
        MONGODB_URI: 'mongodb+srv://u:p@db.example.net/?authSource=admin',
        POD_NAME: 'p',
        POD_NAMESPACE: NS,
      },
      { readFile: () => NS, hostname: () => 'unused' },
    );
    expect(config.mongodbUri).toContain('db.example.net');
  });

  it('leasecron may reach MongoDB on 27017 at any address, and nothing else changed in its policy', () => {
    const policy = (objects: KubeObject[]) =>
      objects.find(
        (o) => o.kind === 'NetworkPolicy' && o.metadata?.name === 'leasecron',
      ) as k8s.V1NetworkPolicy;
    const egress = policy(production.objects).spec?.egress ?? [];
    expect(egress[0]).toEqual({ ports: [{ port: 27017, protocol: 'TCP' }] });
    expect(egress.slice(1)).toEqual(policy(base).spec?.egress?.slice(1));
  });

  it('is the Helm chart with the same choices (bundled off, the URI Secret, the image digest)', async () => {
    const helm = await helmTemplate([
      '--set',
      [
        'mongodb.bundled.enabled=false',
        'mongodb.external.uriSecret.name=leasecron-mongodb',
        'mongodb.external.uriSecret.key=uri',
        `image.repository=${REPOSITORY}`,
        `image.digest=${DIGEST}`,
      ].join(','),
    ]);
    const fromKustomize = normalise(production.objects);
    fromKustomize.delete(`Namespace/${NS}`);
    const fromHelm = normalise(helm.objects);
    expect([...fromHelm.keys()].sort()).toEqual([...fromKustomize.keys()].sort());
    for (const [key, object] of fromHelm) expect(object, key).toEqual(fromKustomize.get(key));
  });
});

describe('deploy/overlays/production on the real API server', () => {
  it('accepts every object in a server-side dry-run, with no Pod Security warning', async () => {
    const namespace = production.objects.find((o) => o.kind === 'Namespace');
    await kubectlOk(
      kubeconfig,
      ['apply', '--server-side', '--field-manager=leasecron-test', '-f', '-'],
      k8s.dumpYaml(namespace),
    );
    await expectServerDryRunAccepts(kubeconfig, production.yaml, production.objects.length);
  });
});
