// Opaque pagination cursors: base64url JSON of the last item's sort key. Clients
// must treat them as opaque; a tampered or foreign cursor is a 400, not a 500.
import { InvalidCursorError } from './errors.ts';

export interface CursorKey {
  /** sort value in ms since epoch (createdAt for schedules, scheduledFor for runs) */
  t: number;
  /** tie-breaker: the document id */
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.t, key.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorKey {
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor))
    throw new InvalidCursorError('cursor is not a value this API issued');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('cursor is not a value this API issued');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'number' ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string' ||
    parsed[1].length === 0 ||
    parsed[1].length > 64
  ) {
    throw new InvalidCursorError('cursor is not a value this API issued');
  }
  return { t: parsed[0], id: parsed[1] };
}

/**
 * One page from `limit + 1` documents read in sort order: the extra one only says
 * that more follow, and the cursor is the key of the last item returned.
 */
export function pageOf<T>(
  docs: T[],
  limit: number,
  keyOf: (item: T) => CursorKey,
): { items: T[]; nextCursor: string | null } {
  const more = docs.length > limit;
  const items = more ? docs.slice(0, limit) : docs;
  const last = items.at(-1);
  return { items, nextCursor: more && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
