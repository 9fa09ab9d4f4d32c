// Coalesces calls made in the same turn of the event loop into one database round trip (issue
// 13): a burst of occurrences falling due in one wake-up claims with one bulk insert instead of
// one insert each. Calls are collected until the event loop has run every timer and promise
// continuation that was ready (setImmediate), then sent together; calls made while a batch is
// under way form the next one, sent as soon as it returns. So a quiet leader still sends each
// claim at once (a batch of one, no added wait), and a busy one sends fewer, bigger batches.
export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export class Batcher<I, O> {
  readonly #send: (items: I[]) => Promise<Settled<O>[]>;
  readonly #max: number;
  readonly #yieldTo: { whenIdle(): Promise<void> } | null;
  #idle: Array<() => void> = [];
  #queue: Waiting<I, O>[] = [];
  #running = false;
  #scheduled = false;

  /**
   * `send` answers each item in order; a rejection of `send` itself fails every item of that
   * batch with the same error (e.g. the database is unreachable).
   */
  constructor(
    send: (items: I[]) => Promise<Settled<O>[]>,
    options: { maxBatch?: number; yieldTo?: { whenIdle(): Promise<void> } } = {},
  ) {
    this.#send = send;
    this.#max = options.maxBatch ?? 1000;
    this.#yieldTo = options.yieldTo ?? null;
  }

  /** Nothing queued or under way. */
  get idle(): boolean {
    return !this.#running && !this.#scheduled && this.#queue.length === 0;
  }

  /** Resolves when this batcher is idle (at once if it is). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#running && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#run());
      }
    });
  }

  async #run(): Promise<void> {
    this.#scheduled = false;
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        // Work that can wait (recording finishes) lets the urgent one (claims) go first.
        if (this.#yieldTo) await this.#yieldTo.whenIdle();
        const batch = this.#queue.splice(0, this.#max);
        let results: Settled<O>[];
        try {
          results = await this.#send(batch.map((w) => w.item));
        } catch (error) {
          for (const w of batch) w.reject(error);
          continue;
        }
        batch.forEach((w, i) => {
          const r = results[i];
          if (r === undefined) w.reject(new Error('batch answered fewer items than it was sent'));
          else if (r.ok) w.resolve(r.value);
          else w.reject(r.error);
        });
      }
    } finally {
      this.#running = false;
      if (this.idle) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}
