// Child processes of the test stack: started with their output in a log file,
// waited on by polling a readiness probe, stopped with SIGTERM then SIGKILL.
//
// A process is known by its pid *and* its start time: this machine's pid_max is 32768, so
// under a busy suite a pid is reused within minutes, and a SIGKILL sent to the pid of a
// replica that had already exited once killed a vitest worker instead. Every signal goes
// through `signal()`, which checks that the pid still names the process we started.
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';

/** A process as we started it: its pid and its start time (clock ticks since boot, from /proc). */
export interface ProcRef {
  pid: number;
  /** null where /proc is not available: then the pid alone is trusted */
  start?: string | null;
}

export interface Managed extends ProcRef {
  name: string;
  logFile: string;
  child?: ChildProcess;
}

/** The start time of `pid` (field 22 of /proc/<pid>/stat), or null when there is no such process or no /proc. */
export function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
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
  return { name, pid: child.pid, start: procStart(child.pid), logFile: opts.logFile, child };
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
    if (opts.proc && !isAlive(opts.proc)) {
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

const ref = (p: number | ProcRef): ProcRef => (typeof p === 'number' ? { pid: p } : p);

/** Whether the process still runs — the same process: a reused pid is not it. */
export function isAlive(p: number | ProcRef): boolean {
  const { pid, start } = ref(p);
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (start == null) return true;
  const now = procStart(pid);
  // A zombie (exited, not yet reaped) still has its stat line; it counts as gone.
  return now === start && !/^\d+ \(.*\) Z /.test(statLine(pid));
}

function statLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}

/** Sends `sig` only if the process is still the one we started; says whether it was sent. */
export function signal(p: number | ProcRef, sig: NodeJS.Signals): boolean {
  if (!isAlive(p)) return false;
  try {
    process.kill(ref(p).pid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGSTOP, then waits until every thread of the process is stopped (state T in /proc), at most
 * `timeoutMs`; false if it never got there. kill(2) only queues the signal: a thread inside an
 * uninterruptible syscall (a write or fsync, state D) runs on until it returns, and a test that
 * sends a request right after SIGSTOP saw a "frozen" database answer it in 3 ms (issue 9).
 */
export async function freezeProcess(p: number | ProcRef, timeoutMs = 2000): Promise<boolean> {
  if (!signal(p, 'SIGSTOP')) return false;
  const pid = ref(p).pid;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (allThreadsStopped(pid)) return true;
    await new Promise((r) => setTimeout(r, 1));
  }
  return false;
}

function allThreadsStopped(pid: number): boolean {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  return tasks.every((tid) => {
    try {
      return /^\d+ \(.*\) [tT] /s.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
    } catch {
      return true; // a thread that ended meanwhile is not running either
    }
  });
}

export async function stopProcess(p: number | ProcRef, graceMs = 5000): Promise<void> {
  if (!signal(p, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(p)) await new Promise((r) => setTimeout(r, 50));
  signal(p, 'SIGKILL');
}
