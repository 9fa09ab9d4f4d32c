// Wires the election from Config: the Lease client, the elector and the pod labeler, with the
// labeler hooked in after the caller's callbacks so the engine always stops before anything else
// happens on a loss. main.ts calls this; tests use it to run an elector the way production does.

import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/load-config.ts';
import { type ElectionLogger, Elector, type ElectorCallbacks, type ElectorOptions } from './elector.ts';
import { K8sLeaseClient } from './k8s-lease-client.ts';
import { PodLabeler } from './pod-labeler.ts';

export type ElectionConfig = Pick<
  Config,
  | 'leaseName'
  | 'leaseDurationMs'
  | 'renewDeadlineMs'
  | 'retryPeriodMs'
  | 'podName'
  | 'podNamespace'
  | 'leaderLabel'
  | 'labelPod'
>;

export interface Election {
  readonly elector: Elector;
  /** Await labeler.idle() (bounded) on shutdown so the label is gone before the pod is. */
  readonly labeler: PodLabeler;
}

export function createElector(
  config: ElectionConfig,
  deps: {
    readonly kubeConfig: KubeConfig;
    readonly logger?: ElectionLogger;
    readonly callbacks?: ElectorCallbacks;
    /** Whether this replica can do the leader's work now (ElectorOptions.canLead). */
    readonly canLead?: () => boolean;
    /** Told of each renew by the leader (ElectorOptions.onRenew): the Lease metrics. */
    readonly onRenew?: ElectorOptions['onRenew'];
  },
): Election {
  const { kubeConfig, logger, callbacks = {}, canLead, onRenew } = deps;
  const client = new K8sLeaseClient({
    kubeConfig,
    namespace: config.podNamespace,
    name: config.leaseName,
    // A request outliving the renew deadline is useless: the leader has stepped down by then.
    requestTimeoutMs: config.renewDeadlineMs,
  });
  const labeler = new PodLabeler({
    kubeConfig,
    namespace: config.podNamespace,
    podName: config.podName,
    labelKey: config.leaderLabel,
    enabled: config.labelPod,
    ...(logger && { logger }),
  });
  // A restarted container of the same pod may still carry the label from its previous life.
  labeler.setLeader(false);
  const elector = new Elector({
    client,
    identity: config.podName,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
    ...(logger && { logger }),
    ...(canLead && { canLead }),
    ...(onRenew && { onRenew }),
    // try/finally: a throwing callback (logged by the elector) must not leave a wrong label.
    onStartedLeading: (epoch, signal) => {
      try {
        callbacks.onStartedLeading?.(epoch, signal);
      } finally {
        labeler.setLeader(true);
      }
    },
    onStoppedLeading: () => {
      try {
        callbacks.onStoppedLeading?.();
      } finally {
        labeler.setLeader(false);
      }
    },
    ...(callbacks.onNewLeader && { onNewLeader: callbacks.onNewLeader }),
  });
  return { elector, labeler };
}
