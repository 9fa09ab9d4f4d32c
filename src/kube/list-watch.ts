// Informer-style list+watch of one collection, as client-go's Reflector does it: list (the
// objects that exist now, and the resourceVersion they were read at), then watch from that
// resourceVersion, resuming after every clean end of a watch from the last version seen
// (bookmarks included), and listing again only when the API server says the version is too old
// (410 Gone) or a watch broke. Handlers run one at a time, in the order events arrived.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface Listed<T> {
  items: T[];
  resourceVersion: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ListWatchOptions<T> {
  /** Applied through http1Only by the caller (src/election/kube-config.ts). */
  kubeConfig: k8s.KubeConfig;
  /** The collection's path, e.g. /apis/batch/v1/namespaces/a/jobs */
  path: string;
  labelSelector?: string;
  list(): Promise<Listed<T>>;
  /** Every object that exists, after each (re)list: what is not in it was deleted meanwhile. */
  onSync(items: T[]): Promise<void> | void;
  onEvent(type: WatchEventType, object: T): Promise<void> | void;
  logger: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /** What is listed, for log lines: 'Schedule objects in a' */
  what: string;
  /** A 404 on the list: the resource does not exist (a CRD not installed); wait this long. */
  missingRetryMs?: number;
  watchTimeoutSeconds?: number;
}

class GoneError extends Error {
  override name = 'GoneError';
}

export class ListWatch<T extends { metadata?: { resourceVersion?: string } }> {
  readonly #o: ListWatchOptions<T>;
  readonly #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #synced = false;

  constructor(options: ListWatchOptions<T>) {
    this.#o = options;
  }

  /** True once the first list was handed to onSync. */
  get synced(): boolean {
    return this.#synced;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    let resourceVersion: string | null = null;
    let backoffMs = 200;
    let missingLogged = false;
    while (!signal.aborted) {
      try {
        if (resourceVersion === null) {
          const listed = await this.#o.list();
          if (signal.aborted) return;
          await this.#o.onSync(listed.items);
          this.#synced = true;
          resourceVersion = listed.resourceVersion;
          missingLogged = false;
        }
        resourceVersion = await this.#watch(resourceVersion, signal);
        backoffMs = 200;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof GoneError) {
          this.#o.logger.info({ what: this.#o.what }, 'watch resourceVersion expired (410); listing again');
          resourceVersion = null;
          continue;
        }
        const missing = err instanceof k8s.ApiException && err.code === 404;
        if (missing && !missingLogged) {
          this.#o.logger.warn(
            { what: this.#o.what, path: this.#o.path },
            'the resource does not exist on this API server (is its CRD installed?); looking again later',
          );
          missingLogged = true;
        } else if (!missing) this.#o.logger.warn({ err, what: this.#o.what }, 'list/watch failed; retrying');
        // A broken watch may have missed events: list again, as client-go does after an error.
        resourceVersion = null;
        await abortableSleep(missing ? (this.#o.missingRetryMs ?? 30_000) : backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  }

  /** One watch from `resourceVersion`; resolves with the last version seen when it ends cleanly. */
  #watch(resourceVersion: string, signal: AbortSignal): Promise<string> {
    let last = resourceVersion;
    let chain: Promise<void> = Promise.resolve();
    return new Promise<string>((resolve, reject) => {
      let controller: AbortController | undefined;
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        controller?.abort();
        // events already queued are handled before the next list or watch
        void chain.then(
          () => (error === undefined || signal.aborted ? resolve(last) : reject(error)),
          (handlerError: unknown) => reject(handlerError),
        );
      };
      const onAbort = () => finish();
      signal.addEventListener('abort', onAbort, { once: true });
      const onLine = (phase: string, object: unknown) => {
        if (settled) return;
        if (phase === 'ERROR') {
          const status = object as k8s.V1Status;
          finish(
            status.code === 410
              ? new GoneError(status.message ?? 'gone')
              : new Error(`watch ${this.#o.path}: ${status.message ?? 'error'}`),
          );
          return;
        }
        const version = (object as T).metadata?.resourceVersion;
        if (phase === 'BOOKMARK') {
          if (version) last = version;
          return;
        }
        if (phase !== 'ADDED' && phase !== 'MODIFIED' && phase !== 'DELETED') return;
        chain = chain.then(async () => {
          await this.#o.onEvent(phase, object as T);
          if (version) last = version;
        });
        chain.catch((err: unknown) => finish(err));
      };
      const onDone = (error: unknown) => finish(error ?? undefined);
      const query: Record<string, string | number | boolean> = {
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.#o.watchTimeoutSeconds ?? 300,
      };
      if (this.#o.labelSelector) query.labelSelector = this.#o.labelSelector;
      new k8s.Watch(this.#o.kubeConfig).watch(this.#o.path, query, onLine, onDone).then(
        (c) => {
          controller = c;
          if (settled) c.abort();
        },
        (error: unknown) => onDone(error ?? new Error('watch failed')),
      );
    });
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
