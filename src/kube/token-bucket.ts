// A token bucket, as client-go's flowcontrol limiter: `burst` writes at once, then `qps` a second.
// What keeps 10,000 Schedule objects from hammering the API server with status writes and Events.
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;
  readonly #now: () => number;

  constructor(qps: number, burst: number, now: () => number = () => performance.now()) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError('qps must be > 0 and burst >= 1');
    this.#qps = qps;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#at = now();
  }

  /** Takes a token if one is there; otherwise how long (ms) until one is. */
  tryTake(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#qps);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / this.#qps) * 1000);
  }
}
