// client-node plumbing shared by the Lease client and the pod labeler: where the credentials come
// from, decided once (KUBECONFIG as read by src/config out of cluster, otherwise client-node's
// default chain: ~/.kube/config, then the in-cluster ServiceAccount), and how to put a deadline on
// a single request, which client-node's request-object calls only allow through middleware.

import { type ConfigurationOptions, KubeConfig, Observable } from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfigPath: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (kubeconfigPath === undefined) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromFile(kubeconfigPath);
  return kubeConfig;
}

/** Per-request options that make client-node's fetch honour `signal` (pass as the 2nd argument). */
export function withSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (context) => new Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}
