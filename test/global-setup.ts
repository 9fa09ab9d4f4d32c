// vitest global setup for the integration project: starts the real stack once,
// hands its coordinates to the tests through provide/inject, stops it after.
// Each run gets its own folder under .local/test-stack/ (two runs in one
// checkout must not share etcd data); a run's logs stay there to be read after
// a failure, and folders of runs whose process is gone are pruned, newest 3 kept.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { isAlive } from '../stack/processes.ts';
import { REPO_ROOT, type StackInfo, startStack } from '../stack/stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

function pruneOldRuns(root: string): void {
  let runs: string[];
  try {
    runs = readdirSync(root).filter((d) => /^run-\d+-\d+(-future)?$/.test(d));
  } catch {
    return;
  }
  const dead = runs.filter((d) => !isAlive(Number(d.split('-')[2]))).sort();
  for (const d of dead.slice(0, Math.max(0, dead.length - 3)))
    rmSync(join(root, d), { recursive: true, force: true });
}

/**
 * The date check (project `int-future`, see vitest.config.ts): the tests that pin a clock run
 * again against a database whose clock is this far ahead, as they would on a day more than a
 * year after their dates. A fixed date in the past that meets a TTL index fails there at once.
 */
export const FUTURE_DAYS = 400;

export default async function setup(project: TestProject) {
  const root = join(REPO_ROOT, '.local', 'test-stack');
  pruneOldRuns(root);
  const future = project.name === 'int-future';
  const dir = join(root, `run-${Date.now()}-${process.pid}${future ? '-future' : ''}`);
  const { info, stop } = await startStack({ dir, dbClockOffsetDays: future ? FUTURE_DAYS : 0 });
  console.log(
    `[stack${future ? ' for the date check' : ''}] started in ${info.startMs} ms: Kubernetes ${info.kube.version} at ${info.kube.server}; ${info.mongo.server}; logs in ${dir}`,
  );
  project.provide('stack', info);
  return async () => {
    await stop();
    for (const data of ['kube/etcd-data', 'mongo/secantus-data', 'mongo/mongod-data']) {
      rmSync(join(dir, data), { recursive: true, force: true });
    }
  };
}
