// Types of scripts/kube.mjs, for scripts/local.ts and the tests that import it.
import type { KubeConfig } from '@kubernetes/client-node';

export declare const FIELD_MANAGER: string;
export declare const TABLE_ACCEPT: string;
export declare class KubeError extends Error {
  readonly status: number;
  constructor(message: string, status?: number);
}
export declare function loadKube(opts?: {
  localState?: string;
  kubeconfig?: string;
  context?: string;
}): KubeConfig;
export declare function kubeRequest(
  kc: KubeConfig,
  method: string,
  path: string,
  opts?: { body?: string; headers?: Record<string, string> },
): Promise<unknown>;
export declare function resourceFor(
  kc: KubeConfig,
  apiVersion: string,
  kind: string,
): Promise<{ name: string; namespaced: boolean }>;
export declare function applyYaml(
  kc: KubeConfig,
  yamlText: string,
  opts?: { namespace?: string; dryRun?: boolean; fieldManager?: string },
): Promise<string[]>;
export declare function waitEstablished(kc: KubeConfig, name: string, timeoutMs?: number): Promise<void>;
export interface Table {
  columnDefinitions: { name: string; type: string; format?: string; priority?: number }[];
  rows: { cells: unknown[]; object?: unknown }[];
}
export declare function getTable(kc: KubeConfig, path: string): Promise<Table>;
export declare function formatTable(table: Table): string[];
