import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'ragmem', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Never log credentials that may ride along in an error's request config.
    redact: { paths: ['req.headers.authorization', '*.apiKey', '*.password'], censor: '[redacted]' },
  });
}
