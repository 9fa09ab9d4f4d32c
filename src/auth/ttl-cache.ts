// A small time-bounded cache for TokenReview and SubjectAccessReview answers, so a burst of
// requests with one token costs the API server one review per TTL, as kube-apiserver's own
// webhook authenticator and authorizer cache them. Bounded in entries: the oldest insert is
// dropped first, so a flood of distinct (bad) tokens cannot grow it without limit.

export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAtMs: number }>();
  readonly #maxEntries: number;
  readonly #nowMs: () => number;

  constructor(opts: { maxEntries: number; nowMs?: () => number }) {
    this.#maxEntries = opts.maxEntries;
    this.#nowMs = opts.nowMs ?? (() => performance.now());
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= this.#nowMs()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, expiresAtMs: this.#nowMs() + ttlMs });
  }

  get size(): number {
    return this.#entries.size;
  }
}
