// Periodically runs a probe of what leading needs (main: a MongoDB ping) and remembers when it
// last succeeded, for fitToLead (decide.ts). Only I/O and timing live here; the decision is pure.
// It knows nothing of MongoDB: the probe is a function. A probe that hangs (a blackholed route
// answers nothing) simply never counts as a success; each one is bounded by timeoutMs on our side
// and a new one starts every periodMs regardless, up to maxInFlight hung ones.

import { deadline } from './deadline.ts';

export interface FitnessProbeOptions {
  /** Resolves when the dependency answers; should honour `signal`. */
  readonly probe: (signal: AbortSignal) => Promise<unknown>;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly maxInFlight?: number;
  /** Monotonic milliseconds, the elector's clock. */
  readonly now?: () => number;
  /** A probe succeeded after failures, or failed after successes. */
  readonly onChange?: (ok: boolean, error?: unknown) => void;
}

export class FitnessProbe {
  readonly #options: FitnessProbeOptions;
  readonly #now: () => number;
  readonly #stopping = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  #lastOkMs: number | undefined;
  #lastResult: boolean | undefined;

  constructor(options: FitnessProbeOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Monotonic send time of the last probe that succeeded; undefined until one has. */
  get lastOkMs(): number | undefined {
    return this.#lastOkMs;
  }

  /**
   * The dependency answered some other request, sent at `sentAtMs` (this probe's clock): as good
   * a sign as a probe of its own. A leader whose database is busy with the leader's own burst of
   * writes answers those while a ping queues behind them; it must not step down for that.
   */
  noteAnswer(sentAtMs: number): void {
    if (this.#lastOkMs === undefined || sentAtMs > this.#lastOkMs) this.#lastOkMs = sentAtMs;
  }

  start(): void {
    if (this.#timer !== undefined || this.#stopping.signal.aborted) return;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#options.periodMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#stopping.abort(new Error('fitness probe stopped'));
  }

  #tick(): void {
    if (this.#inFlight >= (this.#options.maxInFlight ?? 4)) return;
    const sentAtMs = this.#now();
    const scope = deadline(this.#stopping.signal, this.#options.timeoutMs);
    const timedOut = new Promise<never>((_, reject) => {
      scope.signal.addEventListener('abort', () => reject(scope.signal.reason), { once: true });
    });
    timedOut.catch(() => {});
    let probe: Promise<unknown>;
    try {
      probe = this.#options.probe(scope.signal);
    } catch (error) {
      probe = Promise.reject(error);
    }
    // The slot frees when the probe itself settles, so probes that ignore their signal and hang
    // cannot pile up without bound.
    this.#inFlight++;
    void probe.then(
      () => this.#inFlight--,
      () => this.#inFlight--,
    );
    // The race bounds our wait even if the probe ignores its signal.
    Promise.race([probe, timedOut])
      .then(
        () => {
          if (this.#lastOkMs === undefined || sentAtMs > this.#lastOkMs) this.#lastOkMs = sentAtMs;
          this.#report(true);
        },
        (error: unknown) => this.#report(false, error),
      )
      .finally(() => scope.dispose());
  }

  #report(ok: boolean, error?: unknown): void {
    if (this.#stopping.signal.aborted || this.#lastResult === ok) return;
    this.#lastResult = ok;
    this.#options.onChange?.(ok, error);
  }
}
