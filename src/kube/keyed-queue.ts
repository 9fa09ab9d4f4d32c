// A work queue of keys, as controller-runtime's: a key queued while it is waiting is queued once;
// a key being worked on that is queued again runs again after (never twice at once); a failure is
// retried with per-key exponential backoff. One worker: reconciles are short and ordered.
export interface KeyedQueueOptions {
  work(key: string): Promise<void>;
  onError(key: string, err: unknown, attempt: number): void;
  /** ms before retrying a failed key, doubling up to maxBackoffMs */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

export class KeyedQueue {
  readonly #o: KeyedQueueOptions;
  readonly #pending = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #busy: Promise<void> | null = null;
  #stopped = false;

  constructor(options: KeyedQueueOptions) {
    this.#o = options;
  }

  add(key: string): void {
    if (this.#stopped) return;
    this.#pending.add(key);
    this.#busy ??= this.#drain().finally(() => {
      this.#busy = null;
      if (this.#pending.size > 0 && !this.#stopped) this.add(this.#pending.values().next().value!);
    });
  }

  /** Adds `key` after `ms` (a later add() before that runs it sooner). */
  addAfter(key: string, ms: number): void {
    if (this.#stopped || this.#timers.has(key)) return;
    const t = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.#timers.set(key, t);
  }

  /** Stops taking work; resolves when the key being worked on is done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#pending.clear();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    await this.#busy;
  }

  /** Resolves when nothing is pending or running (tests). */
  async idle(): Promise<void> {
    while (this.#busy) await this.#busy;
  }

  async #drain(): Promise<void> {
    while (!this.#stopped) {
      const key = this.#pending.values().next().value;
      if (key === undefined) return;
      this.#pending.delete(key);
      try {
        await this.#o.work(key);
        this.#failures.delete(key);
      } catch (err) {
        const attempt = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, attempt);
        this.#o.onError(key, err, attempt);
        const base = this.#o.baseBackoffMs ?? 200;
        this.addAfter(key, Math.min(base * 2 ** (attempt - 1), this.#o.maxBackoffMs ?? 30_000));
      }
    }
  }
}
