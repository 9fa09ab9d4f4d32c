// Occurrences the misfire policy passes over become `missed` records in run history (issue 15),
// so users see a gap where before there was only a log line and a counter. A burst must not
// become a burst of writes: one record summarises a schedule's passed-over occurrences (a range:
// the first, how many, until when), notes are coalesced per schedule and written together once
// a second, at most one record per schedule every `minSpacingMs`, and at most `maxPending`
// schedules wait at once (beyond that a note is only counted, and the count logged). Writing is
// best effort: a failed write is logged and dropped; the metric and the log line stay exact.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { MissedRecord } from '../store/types.ts';

export interface MissedNote {
  scheduleId: string;
  scheduleName: string;
  first: Date;
  count: number;
  until: Date;
  reason: string;
  leader: string;
  epoch: number;
}

/** Where the engine reports passed-over occurrences; must not throw or block. */
export interface MissedRunSink {
  note(note: MissedNote): void;
}

export interface MissedRunsOptions {
  write: (records: MissedRecord[]) => Promise<void>;
  logger: Logger;
  now?: () => number;
  flushMs?: number;
  minSpacingMs?: number;
  maxPending?: number;
  /** records per write */
  batch?: number;
}

export class MissedRuns implements MissedRunSink {
  readonly #o: Required<Omit<MissedRunsOptions, 'logger' | 'write'>> &
    Pick<MissedRunsOptions, 'logger' | 'write'>;
  readonly #pending = new Map<string, MissedNote>();
  /** when each schedule's last record was written (ms) */
  readonly #written = new Map<string, number>();
  #dropped = 0;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: MissedRunsOptions) {
    this.#o = {
      now: () => Date.now(),
      flushMs: 1000,
      minSpacingMs: 10_000,
      maxPending: 1000,
      batch: 250,
      ...options,
    };
  }

  note(n: MissedNote): void {
    if (this.#closed || n.count <= 0) return;
    const open = this.#pending.get(n.scheduleId);
    if (open) {
      // the same gap, or a later one before the last was written: one record says both
      open.count += n.count;
      if (n.first < open.first) open.first = n.first;
      if (n.until > open.until) open.until = n.until;
      open.reason = n.reason;
      open.leader = n.leader;
      open.epoch = n.epoch;
    } else if (this.#pending.size >= this.#o.maxPending) {
      this.#dropped += n.count;
    } else {
      this.#pending.set(n.scheduleId, { ...n });
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, this.#o.flushMs);
    this.#timer.unref?.();
  }

  /** Writes what is due (everything, with `all`); one flush at a time. */
  flush(all = false): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushOnce(all));
    return this.#flushing;
  }

  async #flushOnce(all: boolean): Promise<void> {
    const now = this.#o.now();
    const due: MissedRecord[] = [];
    for (const [id, n] of this.#pending) {
      const last = this.#written.get(id);
      if (!all && last !== undefined && now - last < this.#o.minSpacingMs) continue;
      this.#pending.delete(id);
      this.#written.set(id, now);
      due.push({ id: randomUUID(), ...n });
    }
    if (this.#dropped > 0) {
      this.#o.logger.warn(
        { occurrences: this.#dropped, schedules: this.#o.maxPending },
        'missed occurrences not recorded in run history: too many schedules missed at once',
      );
      this.#dropped = 0;
    }
    for (let i = 0; i < due.length; i += this.#o.batch) {
      const chunk = due.slice(i, i + this.#o.batch);
      try {
        await this.#o.write(chunk);
      } catch (err) {
        this.#o.logger.warn({ err, records: chunk.length }, 'recording missed occurrences failed');
      }
    }
    // forget spacing marks that no longer hold anything back
    for (const [id, t] of this.#written) if (now - t >= this.#o.minSpacingMs) this.#written.delete(id);
    if (this.#pending.size > 0 && !this.#closed && this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        void this.flush();
      }, this.#o.flushMs);
      this.#timer.unref?.();
    }
  }

  /** Writes everything still pending, then takes no more notes. Idempotent. */
  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (!this.#closed) {
      this.#closed = true;
      await this.flush(true);
    }
    await this.#flushing;
  }
}
