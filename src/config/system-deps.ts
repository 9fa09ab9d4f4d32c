// The only I/O behind loadConfig: reading the service-account namespace file and the hostname.
// Kept apart so load-config.ts stays a pure function of its inputs and tests pass fakes.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ConfigDeps {
  /** File contents, or undefined when the file does not exist. */
  readFile: (path: string) => string | undefined;
  hostname: () => string;
}

export const systemConfigDeps: ConfigDeps = {
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      // Absent means "not in a cluster"; anything else (EACCES…) is a real problem to report.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw error;
    }
  },
  hostname,
};
