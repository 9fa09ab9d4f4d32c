// Parses If-Match into the schedule version a conditional write needs. Our ETags are
// `"<version>"`; clients may send that, the bare number, or a weak W/"n" (proxies
// weaken ETags). `*` means "any version" (the resource must exist, which it must anyway).
import { badField } from './problem.ts';

const ETAG = /^(?:W\/)?"([1-9][0-9]{0,15})"$|^([1-9][0-9]{0,15})$/;

/** Version to require, or undefined when there is no precondition. Throws a 400 ApiError when malformed. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return undefined;
  if (value.includes(',')) throw badField('If-Match', 'give one version, e.g. "3"');
  const m = ETAG.exec(value);
  const version = Number(m?.[1] ?? m?.[2]);
  if (!m || !Number.isSafeInteger(version))
    throw badField('If-Match', 'expected a schedule version as an ETag, e.g. "3" (or 3, W/"3", *)');
  return version;
}

export const etagOf = (version: number): string => `"${version}"`;
