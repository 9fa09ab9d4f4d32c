// `node scripts/local.ts …` (what `make local-up`, `local-down`, `local-reset` run) in a state
// folder and on replica ports of the test's own (LEASECRON_LOCAL_DIR, LEASECRON_LOCAL_PORT), so a
// user's running `make local-up` (state in .local/local, ports 8080-8082) is neither seen nor stopped.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../stack/stack.ts';
import { type CommandResult, run } from './commands.ts';

export function localScript(dir: string, basePort: number) {
  const env = { LEASECRON_LOCAL_DIR: dir, LEASECRON_LOCAL_PORT: String(basePort) };
  return {
    env,
    local: (cmd: string): Promise<CommandResult> =>
      run(process.execPath, ['scripts/local.ts', cmd], { timeoutMs: 90_000, env }),
    /** `make -s <target> <vars…>` with this state folder, as a user types it after `make local-up` */
    make: (target: string, vars: Record<string, string> = {}): Promise<CommandResult> =>
      run('make', ['-s', target, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)], {
        timeoutMs: 30_000,
        env: {
          ...env,
          BASE_URL: `http://127.0.0.1:${basePort}`,
          KUBECONFIG: join(dir, 'no-kubeconfig'),
          // `make test` exports its own API_TOKEN_FILE (mk/demo.mk), which `?=` would keep
          API_TOKEN_FILE: join(dir, 'api-token'),
        },
      }),
  };
}

/** dist/main.js is what local.ts runs: (re)build it when missing or older than any source. */
export async function ensureDist(): Promise<void> {
  let built: number;
  try {
    built = statSync(join(REPO_ROOT, 'dist', 'main.js')).mtimeMs;
  } catch {
    built = 0;
  }
  const src = join(REPO_ROOT, 'src');
  const stale = readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .some((f) => statSync(join(src, f)).mtimeMs > built);
  if (!stale) return;
  const r = await run('npm', ['run', 'build'], { timeoutMs: 110_000 });
  if (r.code !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}
