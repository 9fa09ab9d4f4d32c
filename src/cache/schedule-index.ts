// The schedules a replica holds in memory (issue 14), indexed for the API's reads: by id, by
// name within a namespace, and in list order (createdAt, then id) for cursor paging. Pure: the
// cache (schedule-cache.ts) feeds it from MongoDB's snapshot and change stream; nothing here
// does I/O.
//
// Changes are applied by `version`, as the engine applies them: a replayed or stale event (the
// stream is opened before the snapshot is read, so both may carry the same write) never
// overwrites a newer version. A stored document that is not a valid schedule is kept as such,
// so a read of it can say what is wrong, as a read from MongoDB does.
import type { Schedule } from '../schedule/schema.ts';
import type { DecodedSchedule, InvalidStoredSchedule } from '../schedule/stored.ts';
import { decodeCursor, encodeCursor } from '../store/cursor.ts';
import type { ListSchedulesQuery, Page } from '../store/types.ts';

export type Cached = { ok: true; schedule: Schedule } | ({ ok: false } & InvalidStoredSchedule);

/** A place in list order: createdAt (ms), then id. */
interface Key {
  t: number;
  id: string;
}

function before(a: Key, b: Key): boolean {
  return a.t < b.t || (a.t === b.t && a.id < b.id);
}

/** What an applied change did, for the subscribers that mirror the index (the engine). */
export type Applied = 'changed' | 'unchanged';

export class ScheduleIndex {
  readonly #byId = new Map<string, Cached>();
  /** `${namespace}/${name}` → id, valid schedules only */
  readonly #byName = new Map<string, string>();
  /** valid schedules in list order (createdAt, id) */
  #order: Key[] = [];
  /** namespace → how many valid schedules it holds */
  readonly #namespaces = new Map<string, number>();
  /** small sub-documents shared between schedules (see intern) */
  #shared = new Map<string, object>();

  get size(): number {
    return this.#byId.size;
  }

  /** How many stored documents are not valid schedules. */
  get invalid(): number {
    return this.#byId.size - this.#order.length;
  }

  get(id: string): Cached | undefined {
    return this.#byId.get(id);
  }

  idByName(namespace: string, name: string): string | undefined {
    return this.#byName.get(`${namespace}/${name}`);
  }

  /** Every entry, in id order: the engine's snapshot. */
  *all(): IterableIterator<Cached> {
    const ids = [...this.#byId.keys()].sort();
    for (const id of ids) yield this.#byId.get(id)!;
  }

  /** The namespaces that hold at least one valid schedule, sorted. */
  namespaces(): string[] {
    return [...this.#namespaces.keys()].sort();
  }

  /**
   * Applies a stored document (snapshot or change). Returns 'unchanged' when the index already
   * holds that version or a newer one.
   */
  put(d: DecodedSchedule): Applied {
    const id = d.ok ? d.schedule.id : d.id;
    const version = d.ok ? d.schedule.version : (d.version ?? 0);
    const held = this.#byId.get(id);
    if (held) {
      const heldVersion = held.ok ? held.schedule.version : (held.version ?? 0);
      // An invalid document with an unreadable version (0) still replaces what it overwrote.
      if (heldVersion > version || (heldVersion === version && version > 0)) return 'unchanged';
      this.#unindex(held);
    }
    const entry: Cached = d.ok ? { ok: true, schedule: this.#compact(d.schedule) } : d;
    this.#byId.set(id, entry);
    if (entry.ok) this.#index(entry.schedule);
    return 'changed';
  }

  delete(id: string): Applied {
    const held = this.#byId.get(id);
    if (!held) return 'unchanged';
    this.#unindex(held);
    this.#byId.delete(id);
    return 'changed';
  }

  /** Replaces everything (a reload): returns the ids that were held and are gone now. */
  replaceAll(docs: Iterable<DecodedSchedule>): string[] {
    const gone = new Set(this.#byId.keys());
    this.#byId.clear();
    this.#byName.clear();
    this.#namespaces.clear();
    this.#order = [];
    this.#shared = new Map();
    for (const d of docs) {
      gone.delete(d.ok ? d.schedule.id : d.id);
      this.#bulkAdd(d);
    }
    this.#bulkDone();
    return [...gone];
  }

  /**
   * A new index from a snapshot read in batches: each document is compacted as it arrives, so
   * the decoded snapshot is never held whole beside the index (at 100,000 schedules that peak
   * is what V8 would keep as RSS).
   */
  static async load(docs: AsyncIterable<DecodedSchedule>): Promise<ScheduleIndex> {
    const ix = new ScheduleIndex();
    for await (const d of docs) ix.#bulkAdd(d);
    ix.#bulkDone();
    return ix;
  }

  /** Adds a document while (re)building: list order is sorted once, by #bulkDone. */
  #bulkAdd(d: DecodedSchedule): void {
    const id = d.ok ? d.schedule.id : d.id;
    if (!d.ok) {
      this.#byId.set(id, d);
      return;
    }
    const s = this.#compact(d.schedule);
    this.#byId.set(id, { ok: true, schedule: s });
    this.#byName.set(`${s.namespace}/${s.name}`, s.id);
    this.#namespaces.set(s.namespace, (this.#namespaces.get(s.namespace) ?? 0) + 1);
    this.#order.push({ t: s.createdAt.getTime(), id: s.id });
  }

  #bulkDone(): void {
    this.#order.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  }

  /**
   * One page in list order, filtered as the API asks: the same order and cursor format as the
   * MongoDB store's list, so a client may page across both.
   */
  list(query: ListSchedulesQuery): Page<Schedule> {
    let i = 0;
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      i = this.#position({ t: c.t, id: c.id });
      if (i < this.#order.length && this.#order[i]!.t === c.t && this.#order[i]!.id === c.id) i++;
    }
    const namespaces = query.namespaces ? new Set(query.namespaces) : null;
    const labels = Object.entries(query.labels ?? {});
    const items: Schedule[] = [];
    let more = false;
    for (; i < this.#order.length; i++) {
      const e = this.#byId.get(this.#order[i]!.id);
      if (!e?.ok) continue;
      const s = e.schedule;
      if (query.paused !== undefined && s.paused !== query.paused) continue;
      if (namespaces && !namespaces.has(s.namespace)) continue;
      if (labels.length > 0 && !labels.every(([k, v]) => s.labels[k] === v)) continue;
      if (items.length === query.limit) {
        more = true;
        break;
      }
      items.push(s);
    }
    const last = items.at(-1);
    return {
      items,
      nextCursor: more && last ? encodeCursor({ t: last.createdAt.getTime(), id: last.id }) : null,
    };
  }

  /** The first index in #order not before `key` (binary search). */
  #position(key: Key): number {
    let lo = 0;
    let hi = this.#order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.#order[mid]!, key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #index(s: Schedule): void {
    this.#byName.set(`${s.namespace}/${s.name}`, s.id);
    this.#namespaces.set(s.namespace, (this.#namespaces.get(s.namespace) ?? 0) + 1);
    const key = { t: s.createdAt.getTime(), id: s.id };
    this.#order.splice(this.#position(key), 0, key);
  }

  #unindex(held: Cached): void {
    if (!held.ok) return;
    const s = held.schedule;
    const nameKey = `${s.namespace}/${s.name}`;
    if (this.#byName.get(nameKey) === s.id) this.#byName.delete(nameKey);
    const n = (this.#namespaces.get(s.namespace) ?? 1) - 1;
    if (n > 0) this.#namespaces.set(s.namespace, n);
    else this.#namespaces.delete(s.namespace);
    const i = this.#position({ t: s.createdAt.getTime(), id: s.id });
    if (this.#order[i]?.id === s.id) this.#order.splice(i, 1);
  }

  /**
   * The copy kept: identical small sub-documents (the spec, misfire policy, a log action, empty
   * labels) are shared between schedules, which at 100,000 schedules is most of them. Entries
   * are never mutated (the API and the engine only read them), so sharing is safe.
   */
  #compact(s: Schedule): Schedule {
    if (this.#shared.size > 2 * this.#byId.size + 1000) this.#shared = new Map();
    const intern = <T extends object>(v: T): T => {
      const key = JSON.stringify(v);
      if (key.length > 200) return v;
      const hit = this.#shared.get(key);
      if (hit) return hit as T;
      this.#shared.set(key, v);
      return v;
    };
    const out: Schedule = {
      id: s.id,
      name: s.name,
      namespace: s.namespace,
      version: s.version,
      schedule: 'at' in s.schedule ? s.schedule : intern(s.schedule),
      action: s.action.type === 'log' ? intern(s.action) : s.action,
      paused: s.paused,
      startAt: s.startAt,
      endAt: s.endAt,
      maxRuns: s.maxRuns,
      concurrency: s.concurrency,
      misfire: intern(s.misfire),
      labels: Object.keys(s.labels).length === 0 ? EMPTY_LABELS : s.labels,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
    };
    if (s.description !== undefined) out.description = s.description;
    if (s.source !== undefined) out.source = s.source;
    compacted.add(out);
    return out;
  }
}

const EMPTY_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The index's own copies: already compact and never mutated, so a reader may keep them as they are. */
const compacted = new WeakSet<Schedule>();

/** Whether `s` is a copy the index made (the engine keeps such a schedule instead of copying it). */
export function isCompact(s: Schedule): boolean {
  return compacted.has(s);
}
