// The Schedule CRD from deploy/crd, installed once per API server (idempotent: test files and
// helpers install it concurrently), and waited on until the API server serves it.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { adminKubeConfig } from './clients.ts';

export const CRD_FILE = new URL('../../deploy/crd/schedules.leasecron.io.yaml', import.meta.url);

export async function installScheduleCrd(): Promise<void> {
  const api = adminKubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
  const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(CRD_FILE, 'utf8'));
  const name = crd.metadata!.name!;
  for (let attempt = 0; ; attempt++) {
    try {
      const current = await api.readCustomResourceDefinition({ name }).catch((err: unknown) => {
        if (err instanceof k8s.ApiException && err.code === 404) return null;
        throw err;
      });
      if (!current) await api.createCustomResourceDefinition({ body: crd });
      else if (JSON.stringify(current.spec.versions) !== JSON.stringify(crd.spec.versions) || attempt === 0)
        await api.replaceCustomResourceDefinition({
          name,
          body: {
            ...crd,
            metadata: { ...crd.metadata, resourceVersion: current.metadata!.resourceVersion! },
          },
        });
      break;
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 409) || attempt > 10) throw err;
    }
  }
  for (let i = 0; i < 200; i++) {
    const current = await api.readCustomResourceDefinition({ name });
    if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) {
      // Established, but discovery and the REST handler may lag a moment behind it.
      const custom = adminKubeConfig().makeApiClient(k8s.CustomObjectsApi);
      try {
        await custom.listClusterCustomObject({
          group: 'leasecron.io',
          version: 'v1alpha1',
          plural: 'schedules',
        });
        return;
      } catch {
        // not served yet
      }
    }
    await sleep(100);
  }
  throw new Error(`CRD ${name} was not established within 20 s`);
}
