// vitest global setup for the integration project: starts the real stack once,
// hands its coordinates to the tests through provide/inject, stops it after.
// The stack's logs stay in .local/test-stack/ for a failed run to be read.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { REPO_ROOT, type StackInfo, startStack } from './stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export default async function setup(project: TestProject) {
  const dir = join(REPO_ROOT, '.local', 'test-stack');
  rmSync(dir, { recursive: true, force: true });
  const { info, stop } = await startStack({ dir });
  console.log(
    `[stack] started in ${info.startMs} ms: Kubernetes ${info.kube.version} at ${info.kube.server}; ${info.mongo.server}; logs in ${dir}`,
  );
  project.provide('stack', info);
  return async () => {
    await stop();
    for (const data of ['kube/etcd-data', 'mongo/secantus-data', 'mongo/mongod-data']) {
      rmSync(join(dir, data), { recursive: true, force: true });
    }
  };
}
