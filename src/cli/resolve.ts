// Names or ids wherever an id is. An id (a UUID) is global, so it is used as it is; a name is
// looked up in one namespace by listing it (the API has no by-name route). A UUID-shaped
// argument is tried as an id first and, when no schedule has that id, as a name: names are DNS
// labels, so a UUID is also a valid name.
import { ApiError, type Client } from './client.ts';
import type { ScheduleView } from './format.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function looksLikeId(ref: string): boolean {
  return UUID.test(ref);
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

export const schedulesPath = (namespace: string) =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/schedules`;

export const schedulePath = (id: string) => `/api/v1/schedules/${encodeURIComponent(id)}`;

/** The schedule called `name` in one page of a namespace's list, if it is there. */
export function findByName<T extends { name: string }>(items: readonly T[], name: string): T | undefined {
  return items.find((s) => s.name === name);
}

interface Page {
  items: ScheduleView[];
  nextCursor: string | null;
}

/** Every page of a list path, e.g. for -A or a name lookup. */
export async function* pages(client: Client, path: string, query: URLSearchParams): AsyncGenerator<Page> {
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams(query);
    if (cursor !== null) q.set('cursor', cursor);
    const { body } = await client.request<Page>('GET', `${path}?${q}`);
    yield body;
    cursor = body.nextCursor;
  } while (cursor !== null);
}

/** The schedule a name or id refers to, read from the API. */
export async function resolveSchedule(client: Client, ref: string, namespace: string): Promise<ScheduleView> {
  if (looksLikeId(ref)) {
    try {
      return (await client.request<ScheduleView>('GET', schedulePath(ref))).body;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
  }
  for await (const page of pages(client, schedulesPath(namespace), new URLSearchParams({ limit: '500' }))) {
    const found = findByName(page.items, ref);
    if (found) return found;
  }
  throw new NotFoundError(
    looksLikeId(ref)
      ? `schedule "${ref}" not found (no schedule has that id, and none has that name in namespace ${namespace})`
      : `schedule "${ref}" not found in namespace ${namespace}`,
  );
}
