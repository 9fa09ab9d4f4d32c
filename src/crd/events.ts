// Kubernetes Events (events.k8s.io/v1) on Schedule objects, deduplicated as client-go's events
// recorder does: an event equal to one sent within the last 6 minutes (same object, type, reason,
// action and note) is not created again; the first one's `series` counts it instead. Sending is
// rate-limited and never blocks the caller: a full queue drops events (logged), as client-go does,
// because an Event is a courtesy, never the record (the run history is).
import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { mergePatch } from '../kube/patch.ts';
import { TokenBucket } from '../kube/token-bucket.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

export interface EventRecord {
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, e.g. Fired, Missed, RunFailed, Handover */
  reason: string;
  /** what was done, e.g. Fire, Run, Lead */
  action: string;
  note: string;
}

/** client-go's events/v1 isomorphic window. */
const SERIES_WINDOW_MS = 6 * 60_000;
const MAX_QUEUE = 1000;
const MAX_KNOWN = 4096;
/** How often a failing send is logged at warn (the rest at debug). */
const WARN_EVERY_MS = 60_000;

/** metav1.MicroTime: the API server parses exactly six fractional digits. */
export const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

interface Known {
  name: string;
  namespace: string;
  count: number;
  firstAt: number;
}

export interface EventRecorderOptions {
  events: k8s.EventsV1Api;
  /** reportingController, e.g. leasecron.io/scheduler */
  controller: string;
  /** reportingInstance: this pod */
  instance: string;
  logger: Pick<Logger, 'warn' | 'debug'>;
  now?: () => Date;
  qps?: number;
  burst?: number;
}

export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #bucket: TokenBucket;
  readonly #queue: Array<{ target: EventTarget; record: EventRecord }> = [];
  readonly #known = new Map<string, Known>();
  #pumping: Promise<void> | null = null;
  #dropped = 0;
  #warnedAt = -Infinity;

  constructor(options: EventRecorderOptions) {
    this.#o = options;
    this.#bucket = new TokenBucket(options.qps ?? 10, options.burst ?? 25);
  }

  record(target: EventTarget, record: EventRecord): void {
    if (this.#queue.length >= MAX_QUEUE) {
      if (this.#dropped++ % 100 === 0)
        this.#o.logger.warn({ dropped: this.#dropped }, 'too many Kubernetes Events queued; dropping some');
      return;
    }
    this.#queue.push({ target, record });
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = null;
    });
  }

  /** Resolves once everything queued so far was sent (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#pumping) await this.#pumping;
  }

  async #pump(): Promise<void> {
    for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
      for (let wait = this.#bucket.tryTake(); wait > 0; wait = this.#bucket.tryTake())
        await new Promise((r) => setTimeout(r, wait));
      try {
        await this.#send(next.target, next.record);
      } catch (err) {
        const loud = performance.now() - this.#warnedAt > WARN_EVERY_MS;
        if (loud) this.#warnedAt = performance.now();
        this.#o.logger[loud ? 'warn' : 'debug'](
          { err, reason: next.record.reason },
          'sending a Kubernetes Event failed (further failures within a minute are logged at debug)',
        );
      }
    }
  }

  async #send(target: EventTarget, r: EventRecord): Promise<void> {
    const now = (this.#o.now ?? (() => new Date()))();
    const key = JSON.stringify([target.uid, r.type, r.reason, r.action, r.note]);
    const known = this.#known.get(key);
    if (known && now.getTime() - known.firstAt < SERIES_WINDOW_MS) {
      known.count++;
      await this.#o.events.patchNamespacedEvent(
        {
          name: known.name,
          namespace: known.namespace,
          body: { series: { count: known.count, lastObservedTime: microTime(now) } },
        },
        mergePatch(),
      );
      return;
    }
    const name = `${target.name}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`;
    await this.#o.events.createNamespacedEvent({
      namespace: target.namespace,
      body: {
        metadata: { name, namespace: target.namespace },
        eventTime: microTime(now) as unknown as k8s.V1MicroTime,
        type: r.type,
        reason: r.reason,
        action: r.action,
        note: r.note.slice(0, 1024),
        reportingController: this.#o.controller,
        reportingInstance: this.#o.instance.slice(0, 128),
        regarding: {
          apiVersion: target.apiVersion,
          kind: target.kind,
          namespace: target.namespace,
          name: target.name,
          uid: target.uid,
        },
      },
    });
    if (this.#known.size >= MAX_KNOWN) this.#known.delete(this.#known.keys().next().value!);
    this.#known.set(key, { name, namespace: target.namespace, count: 1, firstAt: now.getTime() });
  }
}
