// run() in test/deploy/commands.ts starts the operator's tools (make, kubectl) for the deploy
// tests. A tool that exits before reading its standard input (make printing a usage line) made
// the write of that input fail with EPIPE, an uncaught error that failed a whole `make test`.
import { describe, expect, it } from 'vitest';
import { run } from '../deploy/commands.ts';

describe('run', () => {
  it('survives a command that exits without reading its input', async () => {
    const input = 'x'.repeat(4 * 1024 * 1024); // more than a pipe holds
    for (let i = 0; i < 5; i++) {
      const r = await run('sh', ['-c', 'exit 3'], { input });
      expect(r.code).toBe(3);
    }
  });

  it('gives a command without input an empty standard input', async () => {
    const r = await run('sh', ['-c', 'wc -c']);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\s*0\s*$/) });
  });

  it('hands the input to a command that reads it', async () => {
    const r = await run('sh', ['-c', 'cat'], { input: 'hello' });
    expect(r).toEqual({ code: 0, stdout: 'hello', stderr: '' });
  });
});
