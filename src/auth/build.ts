// The ApiAuth a process runs with, from its configuration (AUTH, API_TOKEN). Kept apart from
// api-auth.ts so that tests and tools that build an ApiAuth never import the Kubernetes client.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/load-config.ts';
import { type ApiAuth, openAuth, tokenAuth } from './api-auth.ts';
import { KubernetesReviewer } from './kubernetes.ts';

/** A review waits at most this long; the caller gets a 503 to retry after it. */
export const REVIEW_TIMEOUT_MS = 1000;

export function buildAuth(
  config: Pick<Config, 'auth' | 'apiToken' | 'authCacheTtlMs'>,
  kubeConfig: KubeConfig,
): ApiAuth {
  switch (config.auth) {
    case 'none':
      return openAuth();
    case 'token':
      return tokenAuth(config.apiToken);
    case 'kubernetes':
      return tokenAuth(
        config.apiToken,
        new KubernetesReviewer({
          kubeConfig,
          timeoutMs: REVIEW_TIMEOUT_MS,
          cacheTtlMs: config.authCacheTtlMs,
        }),
      );
  }
}
