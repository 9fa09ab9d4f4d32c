// Signals go only to the process we started, never to whatever reuses its pid: with pid_max at
// 32768 a busy suite reuses pids within minutes, and a SIGKILL aimed at an exited replica once
// killed a vitest worker.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  freezeProcess,
  isAlive,
  procStart,
  signal,
  startProcess,
  stopProcess,
} from '../../stack/processes.ts';

describe('process identity', () => {
  it('reads a start time for a live process and none for a pid that does not exist', () => {
    expect(procStart(process.pid)).toMatch(/^\d+$/);
    expect(procStart(2 ** 22 + 1)).toBeNull();
  });

  it('a pid whose start time differs is another process: not alive, never signalled', () => {
    const reused = { pid: process.pid, start: `${procStart(process.pid)}0` };
    expect(isAlive(reused)).toBe(false);
    // Were the pid alone trusted, this would kill the test process itself.
    expect(signal(reused, 'SIGKILL')).toBe(false);
    expect(isAlive({ pid: process.pid, start: procStart(process.pid) })).toBe(true);
  });

  it('stops a process it started, and treats it as gone once it has exited', async () => {
    const p = startProcess('sleeper', 'sleep', ['30'], { logFile: '/dev/null' });
    expect(isAlive(p)).toBe(true);
    const exited = once(p.child!, 'exit');
    await stopProcess(p, 2000);
    await exited;
    expect(isAlive(p)).toBe(false);
    expect(signal(p, 'SIGKILL')).toBe(false);
  });

  it('a bare pid is still accepted where no start time is known', async () => {
    const child = spawn('sleep', ['30']);
    expect(isAlive(child.pid!)).toBe(true);
    const exited = once(child, 'exit');
    await stopProcess(child.pid!, 2000);
    await exited;
    expect(isAlive(child.pid!)).toBe(false);
  });

  it('freezeProcess returns once every thread is stopped, not when SIGSTOP is merely queued', async () => {
    // A multi-threaded busy process (node with its worker threads), the kind a frozen database is.
    const p = startProcess('busy', process.execPath, ['-e', 'for (;;) {}'], { logFile: '/dev/null' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(await freezeProcess(p)).toBe(true);
      const states = readdirSync(`/proc/${p.pid}/task`).map(
        (tid) => /\) (\S) /.exec(readFileSync(`/proc/${p.pid}/task/${tid}/stat`, 'utf8'))?.[1],
      );
      expect(states.length).toBeGreaterThan(1);
      expect(states.every((s) => s === 'T' || s === 't')).toBe(true);
    } finally {
      signal(p, 'SIGCONT');
      await stopProcess(p, 2000);
    }
    expect(await freezeProcess(p)).toBe(false); // gone: nothing to freeze
  });
});
