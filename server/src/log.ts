import pino from 'pino';
import type { LogConfig } from './config/types.js';

export type Logger = pino.Logger;

/**
 * JSON logs: `serve` writes them to stdout for the cluster's collector; the
 * one-shot commands send them to stderr so stdout stays theirs.
 */
export function createLogger(level: LogConfig['level'] | 'silent', stream: 'stdout' | 'stderr' | pino.DestinationStream = 'stdout'): Logger {
  return pino(
    {
      level,
      base: { service: 'tfmirror' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'], censor: '[redacted]' },
    },
    typeof stream === 'string' ? pino.destination({ fd: stream === 'stdout' ? 1 : 2, sync: false }) : stream,
  );
}

/** Writes already formatted log lines (a read-serving worker's) to where `logger` writes its own. */
export function lineWriter(logger: Logger): (text: string) => void {
  const stream = (logger as unknown as Record<symbol, { write(text: string): void }>)[pino.symbols.streamSym];
  return (text) => stream?.write(text);
}
