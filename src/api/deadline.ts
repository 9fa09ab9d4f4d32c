// Bounds how long an API request waits for MongoDB, so every request is answered within the
// contract's 2 s even while the database is frozen or unreachable (issue 10).
//
// Why here and not in the driver: mongodb 7.9 accepts `timeoutMS` (CSOT) but documents it as a
// no-op, and `socketTimeoutMS` is client-wide — it would also cut the leader's change stream
// and snapshot, which share the client. So the API bounds its own waits: the store calls of one
// request share one budget (API_DB_TIMEOUT_MS), started by the first call; a call still pending
// when the budget runs out is abandoned (the driver completes it in the background, so a write
// may still land) and the request fails with StoreUnavailableError, which the one error mapper
// turns into 503 + Retry-After. Calls after the budget is spent are not sent at all.
import type { MiddlewareHandler } from 'hono';
import { DEFAULTS } from '../config/config-docs.ts';
import { StoreUnavailableError } from '../store/errors.ts';
import type { ApiDeps, AppEnv } from './types.ts';

export const apiDbTimeoutMs = (config: ApiDeps['config']): number =>
  config.apiDbTimeoutMs ?? Number(DEFAULTS.API_DB_TIMEOUT_MS);
export const readyTimeoutMs = (config: ApiDeps['config']): number =>
  config.readyTimeoutMs ?? Number(DEFAULTS.READY_TIMEOUT_MS);

const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  typeof (x as { then?: unknown } | null)?.then === 'function';

/** One request's time budget for the database: `ms` in total, from the first call on. */
export class DbBudget {
  readonly ms: number;
  readonly #now: () => number;
  #deadline: number | undefined;

  constructor(ms: number, now: () => number = () => performance.now()) {
    this.ms = ms;
    this.#now = now;
  }

  #expired(what: string): StoreUnavailableError {
    return new StoreUnavailableError(`MongoDB did not answer within ${this.ms} ms (${what})`);
  }

  /**
   * Runs `work` and waits for its promise at most until the budget is spent; then rejects with
   * StoreUnavailableError. A result that is not a promise is returned as it is.
   */
  call<T>(what: string, work: () => T): T {
    this.#deadline ??= this.#now() + this.ms;
    const left = this.#deadline - this.#now();
    if (left <= 0) throw this.#expired(what);
    const result = work();
    if (!isThenable(result)) return result;
    const pending = Promise.resolve(result);
    // Once abandoned, its eventual rejection must not surface as an unhandled rejection.
    pending.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#expired(what)), left);
    });
    return Promise.race([pending, expired]).finally(() => clearTimeout(timer)) as T;
  }
}

/** `target` with every method call bounded by `budget` (methods run with `this` = target). */
export function bounded<T extends object>(target: T, budget: DbBudget, name: string): T {
  return new Proxy(target, {
    get(obj, key) {
      const value: unknown = Reflect.get(obj, key, obj);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        budget.call(`${name}.${String(key)}`, () => (value as (...a: unknown[]) => unknown).apply(obj, args));
    },
  });
}

/** Gives each request its stores (c.var.stores), bounded by one fresh budget. */
export function dbDeadline(deps: Pick<ApiDeps, 'schedules' | 'runs' | 'config'>): MiddlewareHandler<AppEnv> {
  const ms = apiDbTimeoutMs(deps.config);
  return async (c, next) => {
    const budget = new DbBudget(ms);
    c.set('stores', {
      schedules: bounded(deps.schedules, budget, 'schedules'),
      runs: bounded(deps.runs, budget, 'runs'),
    });
    await next();
  };
}
