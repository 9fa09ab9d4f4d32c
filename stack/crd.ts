// Installs the Schedule CRD from deploy/crd into an API server and waits until it is served.
// Idempotent and safe to run concurrently (test files, benchmarks and `make local-up` all do).
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';

export const CRD_FILE = new URL('../deploy/crd/schedules.leasecron.io.yaml', import.meta.url);

export async function installScheduleCrd(kubeConfig: k8s.KubeConfig): Promise<void> {
  const api = kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
  const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(CRD_FILE, 'utf8'));
  const name = crd.metadata!.name!;
  for (let attempt = 0; ; attempt++) {
    try {
      const current = await api.readCustomResourceDefinition({ name }).catch((err: unknown) => {
        if (err instanceof k8s.ApiException && err.code === 404) return null;
        throw err;
      });
      if (!current) await api.createCustomResourceDefinition({ body: crd });
      else
        await api.replaceCustomResourceDefinition({
          name,
          body: {
            ...crd,
            metadata: { ...crd.metadata, resourceVersion: current.metadata!.resourceVersion! },
          },
        });
      break;
    } catch (err) {
      // another installer got there between our read and write: read again
      if (!(err instanceof k8s.ApiException && err.code === 409) || attempt > 10) throw err;
    }
  }
  const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  for (let i = 0; i < 300; i++) {
    const current = await api.readCustomResourceDefinition({ name });
    if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) {
      // Established, but the REST handler may lag a moment behind it.
      try {
        await custom.listClusterCustomObject({
          group: 'leasecron.io',
          version: 'v1alpha1',
          plural: 'schedules',
          limit: 1,
        });
        return;
      } catch {
        // not served yet
      }
    }
    await sleep(100);
  }
  throw new Error(`CRD ${name} was not served within 30 s`);
}
