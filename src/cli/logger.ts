import { pino } from 'pino';
import pretty from 'pino-pretty';
import type { Logger } from '../core/logger.js';
import { redactText } from '../core/redact.js';

/** JSON lines on stderr (pretty on a terminal); every message passes the secret filter. */
export function createLogger(options: { level?: string } = {}): Logger {
  const level = options.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info';
  const base = {
    level,
    base: undefined,
    messageKey: 'event',
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks: {
      logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? redactText(a) : a)),
        );
      },
    },
    formatters: { log: (obj: Record<string, unknown>) => JSON.parse(redactText(JSON.stringify(obj))) as Record<string, unknown> },
  };
  if (process.stderr.isTTY && !process.env.NO_COLOR) {
    return pino(base, pretty({ destination: 2, sync: true, messageKey: 'event', ignore: 'pid,hostname', translateTime: 'HH:MM:ss' })) as unknown as Logger;
  }
  return pino(base, pino.destination({ fd: 2, sync: true })) as unknown as Logger;
}
