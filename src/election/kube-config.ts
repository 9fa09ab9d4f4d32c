// client-node plumbing shared by the Lease client and the pod labeler: where the credentials come
// from, decided once (KUBECONFIG as read by src/config out of cluster, otherwise client-node's
// default chain: ~/.kube/config, then the in-cluster ServiceAccount), HTTP/1.1 only (issue 9), and
// how to put a deadline on a single request, which client-node's request-object calls only allow
// through middleware.

import { type ConfigurationOptions, KubeConfig, Observable } from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfigPath: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (kubeconfigPath === undefined) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromFile(kubeconfigPath);
  return http1Only(kubeConfig);
}

const HTTP1_ONLY = new WeakSet<KubeConfig>();

/**
 * Makes every request and watch sent through `kubeConfig` speak HTTP/1.1 (issue 9); returns it.
 * Idempotent; K8sLeaseClient, PodLabeler and KubernetesReviewer apply it to the KubeConfig they
 * are given. Why: client-node 2 sends through undici 8, whose Agent offers h2, and kube-apiserver
 * picks h2. Node's HTTP/2 client (24.x) then hangs its process when a request with a body (our
 * create/replace) is aborted after its body was ended but before nghttp2 sent it, as a deadline or
 * stop() does: undici's abort calls stream.close() (NO_ERROR, so RST_STREAM waits for 'finish')
 * and destroy(); nghttp2 keeps asking the destroyed stream for DATA, Node answers 0 bytes without
 * end-of-stream, and SendPendingData emits empty DATA frames forever, on the main thread, into
 * memory (~100 MB/s until the OOM killer). client-node opens a new connection per request anyway,
 * so HTTP/2 bought nothing. Only the agent it builds for TLS options (and for none) is changed: a
 * proxy or SOCKS cluster keeps client-node's own dispatcher.
 */
export function http1Only(kubeConfig: KubeConfig): KubeConfig {
  if (HTTP1_ONLY.has(kubeConfig)) return kubeConfig;
  HTTP1_ONLY.add(kubeConfig);
  const dispatcherOptions = kubeConfig.createDispatcherOptions.bind(kubeConfig);
  // client-node builds `new Agent({ connect })` from these; undici spreads `connect` last into its
  // connector's options, so allowH2 there limits TLS ALPN to http/1.1.
  kubeConfig.createDispatcherOptions = (cluster, agentOptions) => {
    const options = dispatcherOptions(cluster, agentOptions);
    if (options.type === 'agent') return { ...options, connect: { ...options.connect, allowH2: false } };
    // 'none' would fall back to undici's global dispatcher, which offers h2 as well.
    if (options.type === 'none') return { type: 'agent', connect: { allowH2: false } };
    return options;
  };
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
