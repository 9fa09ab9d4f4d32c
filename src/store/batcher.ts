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
  readonly #min: number;
  readonly #targetMs: number | null;
  /** the size of the next batch: adapts so one round trip takes about targetMs */
  #size: number;
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
    options: {
      maxBatch?: number;
      /**
       * Size batches so one round trip takes about this long (ms), between minBatch and
       * maxBatch: a database that runs one command at a time then answers others (a leader's
       * fitness ping, an API write) between batches instead of after one huge one.
       */
      targetMs?: number;
      minBatch?: number;
      yieldTo?: { whenIdle(): Promise<void> };
    } = {},
  ) {
    this.#send = send;
    this.#max = options.maxBatch ?? 1000;
    this.#min = Math.min(options.minBatch ?? 50, this.#max);
    this.#targetMs = options.targetMs ?? null;
    this.#size = this.#targetMs === null ? this.#max : Math.max(this.#min, Math.min(this.#max, 500));
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

  /** The next size from how long this one took; a batch smaller than the size says nothing. */
  #adapt(items: number, ms: number): void {
    if (this.#targetMs === null || items < this.#size) return;
    const fit = Math.round((items * this.#targetMs) / Math.max(ms, 1));
    // grow by at most double, shrink at once
    this.#size = Math.max(this.#min, Math.min(this.#max, fit, this.#size * 2));
  }

  /** The size the next full batch will have (tests, benchmarks). */
  get batchSize(): number {
    return this.#size;
  }

  async #run(): Promise<void> {
    this.#scheduled = false;
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        // Work that can wait (recording finishes) lets the urgent one (claims) go first.
        if (this.#yieldTo) await this.#yieldTo.whenIdle();
        const batch = this.#queue.splice(0, this.#size);
        let results: Settled<O>[];
        const t0 = performance.now();
        try {
          results = await this.#send(batch.map((w) => w.item));
        } catch (error) {
          for (const w of batch) w.reject(error);
          continue;
        }
        this.#adapt(batch.length, performance.now() - t0);
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
