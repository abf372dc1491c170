import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import pretty from 'pino-pretty';
import type { Logger } from '../core/logger.js';
import { redact, redactText } from '../core/redact.js';

/** JSON lines on stderr (pretty on a terminal), with `run_id` and the rest bound by child loggers. */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const level = options.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info';
  const base = { level, base: undefined, messageKey: 'event', timestamp: pino.stdTimeFunctions.isoTime };
  if (options.destination) return redacting(pino(base, options.destination));
  if (process.stderr.isTTY && !process.env.NO_COLOR) {
    return redacting(pino(base, pretty({ destination: 2, sync: true, messageKey: 'event', ignore: 'pid,hostname', translateTime: 'HH:MM:ss' })));
  }
  return redacting(pino(base, pino.destination({ fd: 2, sync: true })));
}

/**
 * Every event, field and binding passes the secret filter as a value, before pino serialises it:
 * JSON escaping cannot hide a secret from the filter, and the filter cannot cut a line's JSON.
 * (A pino `bindings` formatter would not do: pino applies it to the root logger's bindings only.)
 */
function redacting(p: PinoLogger): Logger {
  return {
    debug: (fields, event) => p.debug(redact(fields), redactText(event)),
    info: (fields, event) => p.info(redact(fields), redactText(event)),
    warn: (fields, event) => p.warn(redact(fields), redactText(event)),
    error: (fields, event) => p.error(redact(fields), redactText(event)),
    child: (bindings) => redacting(p.child(redact(bindings))),
  };
}
