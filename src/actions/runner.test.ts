// Dispatch by action type, the log action's line, and the runner's never-reject guarantee.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createActionRunner, KUBERNETES_JOB_DISABLED } from './runner.ts';
import type { ActionConfig, ActionContext, ActionResult } from './types.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  return { lines, logger: pino({ base: undefined }, stream) };
}

function ctx(logger = capture().logger): ActionContext {
  return {
    runId: 'run-1',
    scheduleId: 'sched-1',
    scheduleName: 'demo',
    namespace: 'default',
    scheduledFor: new Date('2026-03-01T02:30:00.000Z'),
    signal: new AbortController().signal,
    logger,
  };
}

const job: ActionConfig = { type: 'kubernetesJob', template: {} };

describe('createActionRunner', () => {
  it('log: one structured line, succeeded with one attempt', async () => {
    const { lines, logger } = capture();
    const result = await createActionRunner().run({ type: 'log', message: 'hello' }, ctx(logger));
    expect(result).toEqual({ status: 'succeeded', attempts: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'schedule fired',
      scheduleId: 'sched-1',
      scheduleName: 'demo',
      scheduledFor: '2026-03-01T02:30:00.000Z',
      runId: 'run-1',
      message: 'hello',
    });
  });

  it('http: goes to the injected handler', async () => {
    const calls: unknown[] = [];
    const http = async (action: unknown): Promise<ActionResult> => {
      calls.push(action);
      return { status: 'succeeded', attempts: 1 };
    };
    const action: ActionConfig = {
      type: 'http',
      url: 'http://127.0.0.1:1/',
      method: 'POST',
      timeoutMs: 10,
      retry: { maxAttempts: 1, backoffMs: 1 },
    };
    await createActionRunner({ http }).run(action, ctx());
    expect(calls).toEqual([action]);
  });

  it('kubernetesJob without an implementation fails with a clear error', async () => {
    const result = await createActionRunner().run(job, ctx());
    expect(result).toEqual({ status: 'failed', attempts: 0, error: KUBERNETES_JOB_DISABLED });
    expect(KUBERNETES_JOB_DISABLED).toBe('kubernetesJob actions are not enabled in this build');
  });

  it('kubernetesJob with an implementation uses it', async () => {
    const kubernetesJob = async (): Promise<ActionResult> => ({ status: 'succeeded', attempts: 1 });
    expect(await createActionRunner({ kubernetesJob }).run(job, ctx())).toEqual({
      status: 'succeeded',
      attempts: 1,
    });
  });

  it('a handler that throws becomes a failed result', async () => {
    const kubernetesJob = async (): Promise<ActionResult> => {
      throw new Error('apiserver exploded');
    };
    const result = await createActionRunner({ kubernetesJob }).run(job, ctx());
    expect(result).toMatchObject({ status: 'failed', error: 'apiserver exploded' });
  });

  it('an unknown type fails instead of throwing', async () => {
    const result = await createActionRunner().run(
      { type: 'carrierPigeon' } as unknown as ActionConfig,
      ctx(),
    );
    expect(result).toMatchObject({ status: 'failed', error: 'unknown action type: carrierPigeon' });
  });

  it('logs a run that failed its last attempt at warn with the reason; a success or an unknown outcome not', async () => {
    const action: ActionConfig = {
      type: 'http',
      url: 'http://127.0.0.1:1/',
      method: 'POST',
      timeoutMs: 1000,
      retry: { maxAttempts: 3, backoffMs: 0 },
    };
    const outcomes: ActionResult[] = [
      {
        status: 'failed',
        attempts: 3,
        error: 'HTTP 503 Service Unavailable',
        response: { statusCode: 503, durationMs: 4 },
      },
      { status: 'succeeded', attempts: 1 },
      { status: 'unknown', attempts: 1, error: 'aborted' },
    ];
    const { lines, logger } = capture();
    for (const outcome of outcomes)
      await createActionRunner({ http: async () => outcome }).run(action, ctx(logger));
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'run failed',
        runId: 'run-1',
        scheduleId: 'sched-1',
        scheduleName: 'demo',
        scheduledFor: '2026-03-01T02:30:00.000Z',
        action: 'http',
        attempts: 3,
        statusCode: 503,
        error: 'HTTP 503 Service Unavailable',
      }),
    ]);
  });
});
