// Child processes of the test stack: started with their output in a log file,
// waited on by polling a readiness probe, stopped with SIGTERM then SIGKILL.
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';

export interface Managed {
  name: string;
  pid: number;
  logFile: string;
  child?: ChildProcess;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { logFile: string; detached?: boolean; env?: NodeJS.ProcessEnv; cwd?: string },
): Managed {
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(command, args, {
    stdio: ['ignore', fd, fd],
    detached: opts.detached ?? false,
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  if (opts.detached) child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  return { name, pid: child.pid, logFile: opts.logFile, child };
}

export function logTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; proc?: Managed },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (opts.proc && !isAlive(opts.proc.pid)) {
      throw new Error(
        `${what}: process exited early. Last log lines (${opts.proc.logFile}):\n${logTail(opts.proc.logFile)}`,
      );
    }
    try {
      if (await probe()) return;
    } catch {
      // not ready yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = opts.proc ? `\nLast log lines (${opts.proc.logFile}):\n${logTail(opts.proc.logFile)}` : '';
  throw new Error(`${what}: not ready after ${opts.timeoutMs} ms${tail}`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function stopProcess(pid: number, graceMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
