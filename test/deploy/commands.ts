// Runs the operator's own tools (kubectl, make) from the repository root, as a user would, and
// hands back exit code and output instead of throwing, so tests can assert on refusals too.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { kubeconfigYaml } from '../../stack/kube.ts';
import { REPO_ROOT } from '../../stack/stack.ts';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** kubectl on PATH, or the one named by $KUBECTL. */
export const KUBECTL = process.env.KUBECTL ?? 'kubectl';

// A make that runs these tests (make test → npm test → vitest) would hand its jobserver and
// flags down; the make under test must start clean.
const MAKE_VARS = ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES', 'MAKE_TERMOUT', 'MAKE_TERMERR'];

export function run(
  command: string,
  args: readonly string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const env = { ...process.env, ...opts.env };
  for (const name of MAKE_VARS) delete env[name];
  // Node gives a child's stdin as a socket pair; Debian's bash takes a shell started with a socket
  // for stdin and SHLVL 0 or unset for one run by sshd and reads /etc/bash.bashrc, whose unguarded
  // $PS1 then fails under the Makefile's `bash -u` ("PS1: unbound variable" on stderr of every
  // make). A terminal's shell has SHLVL ≥ 1; a runner started from `( … & )` or a service has 0.
  if (!(Number(env.SHLVL) >= 1)) env.SHLVL = '1';
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'ENOENT'
          ? new Error(`${command} is not on PATH; these tests run the real ${command}`, { cause: error })
          : error,
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A tool may exit before it reads its input (make printing a usage line): the write then
    // fails with EPIPE, which is no error of the run — the exit code says what happened.
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** kubectl against the test stack's API server as its admin (system:masters). */
export function kubectl(kubeconfig: string, args: readonly string[], input?: string): Promise<CommandResult> {
  return run(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { input });
}

/** kubectl that must succeed; its stdout. */
export async function kubectlOk(
  kubeconfig: string,
  args: readonly string[],
  input?: string,
): Promise<string> {
  const r = await kubectl(kubeconfig, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/**
 * A kubeconfig file of this test run's own, for the API server global setup started. The one in
 * .local/test-stack is rewritten by any other test run started in the same checkout meanwhile.
 */
export function privateKubeconfig(kube: { server: string; token: string }): string {
  const path = join(mkdtempSync(join(tmpdir(), 'leasecron-deploy-')), 'kubeconfig');
  writeFileSync(path, kubeconfigYaml(kube.server, kube.token), { mode: 0o600 });
  return path;
}

/**
 * Applies `yaml` with a server-side dry run (what `kubectl apply --server-side` would do) and
 * expects the API server to accept every one of its `count` objects with no warning.
 */
export async function expectServerDryRunAccepts(
  kubeconfig: string,
  yaml: string,
  count: number,
): Promise<void> {
  const r = await kubectl(
    kubeconfig,
    [
      'apply',
      '--server-side',
      '--dry-run=server',
      '--force-conflicts',
      '--field-manager=leasecron-test',
      '-f',
      '-',
    ],
    yaml,
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.trim().split('\n')).toHaveLength(count);
  expect(r.stdout).not.toMatch(/^(?!.*\(server dry run\)).+$/m);
}
