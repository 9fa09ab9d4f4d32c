// Marks the leader's own pod (`<LEADER_LABEL>=leader`) so `kubectl get pods -l …` and
// `make failover` find it. A convenience for people, never part of the election: the Lease is the
// truth. So it is fire-and-forget (the elector never waits for it), logged, and a no-op outside a
// pod. Patches are applied one at a time, latest wish wins, and retried with capped backoff until
// the pod matches or is gone: a label left on an old leader (it once gave up after three failed
// removals) makes `make failover` and `kubectl get pods -l …` find two leaders.

import { setTimeout as delay } from 'node:timers/promises';
import {
  ApiException,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { ElectionLogger } from './elector.ts';
import { http1Only, withSignal } from './kube-config.ts';

export const LEADER_LABEL_VALUE = 'leader';

export interface PodLabelerOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly podName: string;
  /** The label key, e.g. leasecron.io/role. */
  readonly labelKey: string;
  /** LABEL_POD: false makes every call a no-op. */
  readonly enabled: boolean;
  readonly logger?: ElectionLogger;
  readonly requestTimeoutMs?: number;
  /** First retry delay; doubles per failure up to maxRetryDelayMs. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** Failures in a row before each one is logged as a warning (the first ones are debug). */
  readonly warnAfter?: number;
}

export class PodLabeler {
  readonly #options: PodLabelerOptions;
  readonly #api: CoreV1Api;
  #desired: boolean | undefined;
  #applied: boolean | undefined;
  #draining: Promise<void> = Promise.resolve();
  #busy = false;

  constructor(options: PodLabelerOptions) {
    this.#options = options;
    this.#api = http1Only(options.kubeConfig).makeApiClient(CoreV1Api);
  }

  /** Label (true) or unlabel (false) the pod in the background. */
  setLeader(leader: boolean): void {
    if (!this.#options.enabled) return;
    this.#desired = leader;
    if (this.#busy) return;
    this.#busy = true;
    this.#draining = this.#drain();
  }

  /** Resolves when no patch is pending (for shutdown and tests); never rejects. */
  idle(): Promise<void> {
    return this.#draining;
  }

  async #drain(): Promise<void> {
    const { retryDelayMs = 1_000, maxRetryDelayMs = 30_000, warnAfter = 3, logger } = this.#options;
    let failures = 0;
    try {
      while (this.#desired !== undefined && this.#desired !== this.#applied) {
        const want = this.#desired;
        try {
          await this.#patch(want);
          this.#applied = want;
          failures = 0;
          logger?.info(
            { pod: this.#options.podName, leader: want },
            want ? 'labelled pod' : 'unlabelled pod',
          );
        } catch (error) {
          failures++;
          const gone = error instanceof ApiException && error.code === 404;
          if (gone) {
            logger?.warn(
              { err: error, pod: this.#options.podName, leader: want },
              'pod gone; not (un)labelled',
            );
            return;
          }
          const retryInMs = Math.min(retryDelayMs * 2 ** (failures - 1), maxRetryDelayMs);
          const fields = { err: error, pod: this.#options.podName, leader: want, failures, retryInMs };
          if (failures >= warnAfter) logger?.warn(fields, 'could not (un)label pod; retrying');
          else logger?.debug(fields, 'could not (un)label pod; retrying');
          // Unref'd: a pending retry never keeps the process alive on its own.
          await delay(retryInMs, undefined, { ref: false });
        }
      }
    } finally {
      // No await between the loop's last check and here, so a setLeader() cannot slip in unseen.
      this.#busy = false;
    }
  }

  async #patch(leader: boolean): Promise<void> {
    const { namespace, podName, labelKey, requestTimeoutMs = 5_000 } = this.#options;
    // JSON merge patch: null deletes the key, and deleting an absent label is not an error.
    const body = { metadata: { labels: { [labelKey]: leader ? LEADER_LABEL_VALUE : null } } };
    await this.#api.patchNamespacedPod(
      { name: podName, namespace, body },
      setHeaderOptions(
        'Content-Type',
        PatchStrategy.MergePatch,
        withSignal(AbortSignal.timeout(Math.ceil(requestTimeoutMs))),
      ),
    );
  }
}
