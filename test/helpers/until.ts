// Waiting in integration tests for something that happens eventually: a run recorded, a status
// written, an event handed over.

/** What `until` polls: a value when the wait is over, a falsy one while it is not. */
export type Probe<T> = () => Promise<T | undefined | null | false> | T | undefined | null | false;

export interface UntilOptions {
  /** Default 15 s. */
  timeoutMs?: number;
  /** Between probes. Default 50 ms. */
  everyMs?: number;
  /**
   * A probe that throws counts as "not yet" (the last error is in the timeout's message), e.g.
   * while an object is not created yet; by default its error ends the wait at once.
   */
  retryErrors?: boolean;
}

/**
 * Polls `probe` until it returns a truthy value and returns that value; throws, naming `what`,
 * once `timeoutMs` (a number: the same) has passed without one.
 */
export async function until<T>(
  what: string,
  probe: Probe<T>,
  options: UntilOptions | number = {},
): Promise<T> {
  const {
    timeoutMs = 15_000,
    everyMs = 50,
    retryErrors = false,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      if (!retryErrors) throw err;
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
