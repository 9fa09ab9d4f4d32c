// One logger factory so every line is JSON with the replica's identity on it: with
// three replicas behind one Service, a log aggregator must tell which one spoke.
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: LevelWithSilent;
  /** This replica's identity (the pod name); on every line. */
  identity: string;
}

/** A pino JSON logger; `destination` defaults to stdout (tests pass a stream to read the lines). */
export function createLogger(opts: LoggerOptions, destination?: DestinationStream): Logger {
  return pino(
    {
      level: opts.level,
      base: { identity: opts.identity, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names rather than numbers: what log queries and humans expect.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
