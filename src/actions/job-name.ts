// The name of the Job an occurrence creates: `<schedule>-<occurrence ms>`, a valid
// DNS-1123 label of at most 63 characters, the same on every replica — so a second
// leader creating "the same" Job gets a 409 instead of creating a second one.
import { createHash } from 'node:crypto';

const MAX = 63;

export function jobName(scheduleName: string, scheduledFor: Date): string {
  const suffix = `-${scheduledFor.getTime()}`;
  const room = MAX - suffix.length;
  let prefix = scheduleName.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (prefix.length > room) {
    // Keep names distinct when two long names share their first characters.
    const hash = createHash('sha256').update(scheduleName).digest('hex').slice(0, 6);
    prefix = `${prefix.slice(0, room - 7).replace(/-+$/, '')}-${hash}`;
  }
  prefix = prefix.replace(/^-+/, '') || 'job';
  return `${prefix}${suffix}`;
}
