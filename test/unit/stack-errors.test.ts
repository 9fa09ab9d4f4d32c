// Bad set-up must stop with a message that says what to do, not a stack trace:
// no Go when kube-apiserver has to be built, a MONGODB_URI that does not answer.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMongo } from '../../stack/mongo.ts';
import { freePort } from '../../stack/ports.ts';
import { REPO_ROOT } from '../../stack/stack.ts';

describe('test stack set-up errors', () => {
  const goInSystemPath =
    spawnSync('sh', ['-c', 'command -v go'], { env: { PATH: '/usr/bin:/bin' } }).status === 0;
  if (goInSystemPath)
    console.log('[stack-errors] skipping the missing-Go case: go is in /usr/bin or /bin here');
  it.skipIf(goInSystemPath)(
    'asks for Go (or KUBEBUILDER_ASSETS) when kube-apiserver must be built and Go is missing',
    () => {
      const cache = mkdtempSync(join(tmpdir(), 'lc-cache-'));
      try {
        const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/provision-stack.sh'), 'kube'], {
          encoding: 'utf8',
          env: { PATH: '/usr/bin:/bin', HOME: cache, LEASECRON_CACHE: cache },
        });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/Go is needed to build kube-apiserver and etcd/);
        expect(r.stderr).toMatch(/KUBEBUILDER_ASSETS/);
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    },
  );

  it('rejects KUBEBUILDER_ASSETS without the binaries', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-assets-'));
    try {
      const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/provision-stack.sh'), 'kube'], {
        encoding: 'utf8',
        env: { ...process.env, KUBEBUILDER_ASSETS: dir },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/has no executable 'kube-apiserver'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which MONGODB_URI did not answer and what to do', { timeout: 20_000 }, async () => {
    const port = await freePort(); // nothing listens there
    const uri = `mongodb://user:secret@127.0.0.1:${port}/?directConnection=true`;
    const started = startMongo(join(tmpdir(), 'lc-unused'), {
      env: { MONGODB_URI: uri },
      secantusVenv: null,
    });
    await expect(started).rejects.toThrow(
      /MONGODB_URI=mongodb:\/\/\*\*\*@127\.0\.0\.1:\d+.* did not answer.*unset MONGODB_URI/s,
    );
  });
});
