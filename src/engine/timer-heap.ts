// One timer for every armed schedule: a min-heap of due instants and a single
// setTimeout for the earliest. A croner job per schedule holds ~80 KB (its year
// table), which 100,000 schedules cannot afford; croner still computes every
// occurrence (src/schedule/occurrences.ts), this file only waits for them.
// Like croner, it never trusts one long wait: waits are capped at 30 s and each
// wake-up compares the wall clock with the due instants before firing.

export const MAX_WAIT_MS = 30_000;

interface Node {
  at: number;
  key: string;
}

export interface TimerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimerClock: TimerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class TimerHeap {
  readonly #heap: Node[] = [];
  /** key → its live node; a node in the heap that is not its key's live node is stale. */
  readonly #live = new Map<string, Node>();
  readonly #onDue: (key: string, at: number) => void;
  readonly #clock: TimerClock;
  #handle: unknown = null;
  #handleAt = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(onDue: (key: string, at: number) => void, clock: TimerClock = systemTimerClock) {
    this.#onDue = onDue;
    this.#clock = clock;
  }

  get size(): number {
    return this.#live.size;
  }

  has(key: string): boolean {
    return this.#live.has(key);
  }

  dueAt(key: string): number | undefined {
    return this.#live.get(key)?.at;
  }

  /** Arms (or re-arms) `key` for epoch-ms `at`; the previous arming of `key` is dropped. */
  arm(key: string, at: number): void {
    if (this.#stopped) return;
    const node = { at, key };
    this.#live.set(key, node);
    this.#push(node);
    if (this.#heap.length > 2 * this.#live.size + 1024) this.#compact();
    if (at < this.#handleAt) this.#schedule();
  }

  disarm(key: string): void {
    this.#live.delete(key);
  }

  /** Drops every timer at once; nothing fires after this returns. */
  clear(): void {
    this.#live.clear();
    this.#heap.length = 0;
    this.#cancel();
  }

  stop(): void {
    this.#stopped = true;
    this.clear();
  }

  #schedule(): void {
    this.#cancel();
    this.#dropStaleTop();
    const top = this.#heap[0];
    if (!top || this.#stopped) return;
    const wait = Math.min(Math.max(top.at - this.#clock.now(), 0), MAX_WAIT_MS);
    this.#handleAt = top.at;
    this.#handle = this.#clock.setTimeout(() => this.#wake(), wait);
  }

  #cancel(): void {
    if (this.#handle !== null) this.#clock.clearTimeout(this.#handle);
    this.#handle = null;
    this.#handleAt = Number.POSITIVE_INFINITY;
  }

  #wake(): void {
    this.#handle = null;
    this.#handleAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    const due: Node[] = [];
    for (;;) {
      this.#dropStaleTop();
      const top = this.#heap[0];
      if (!top || top.at > now) break;
      this.#pop();
      this.#live.delete(top.key);
      due.push(top);
    }
    for (const n of due) {
      if (this.#stopped) return;
      this.#onDue(n.key, n.at);
    }
    if (this.#handle === null) this.#schedule();
  }

  #dropStaleTop(): void {
    for (;;) {
      const top = this.#heap[0];
      if (!top || this.#live.get(top.key) === top) return;
      this.#pop();
    }
  }

  #compact(): void {
    const keep = this.#heap.filter((n) => this.#live.get(n.key) === n);
    this.#heap.length = 0;
    for (const n of keep) this.#push(n);
  }

  #push(n: Node): void {
    const h = this.#heap;
    h.push(n);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= n.at) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = n;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let mAt = last.at;
      if (l < h.length && h[l]!.at < mAt) {
        m = l;
        mAt = h[l]!.at;
      }
      if (r < h.length && h[r]!.at < mAt) m = r;
      if (m === i) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = last;
  }
}
