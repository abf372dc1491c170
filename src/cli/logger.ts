import { createRequire } from 'node:module';
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import type { Logger } from '../core/logger.js';
import { redact, redactText } from '../core/redact.js';

const PRETTY = { messageKey: 'event', ignore: 'pid,hostname', translateTime: 'HH:MM:ss' };

export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
  /**
   * Where a terminal's lines go instead of straight to stderr: the live progress area, which
   * clears itself, writes the line and draws itself again, so no line is broken by a redraw.
   */
  terminal?: (text: string) => void;
}

/** JSON lines on stderr (pretty on a terminal), with `run_id` and the rest bound by child loggers. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info';
  const base = { level, base: undefined, messageKey: 'event', timestamp: pino.stdTimeFunctions.isoTime };
  if (options.destination) return redacting(pino(base, options.destination));
  const pretty = process.stderr.isTTY && !process.env.NO_COLOR;
  if (!pretty && !options.terminal) return redacting(pino(base, pino.destination({ fd: 2, sync: true })));
  // Beside live progress each event keeps to one line, so the progress stays in view.
  const format = pretty ? prettyFormatter({ singleLine: options.terminal !== undefined }) : (line: string) => line;
  const out = options.terminal ?? ((text: string) => process.stderr.write(text));
  return redacting(pino(base, { write: (line: string) => out(format(line)) }));
}

/**
 * pino-pretty's formatter, loaded only when a terminal shows the logs: a script, a pipe or CI
 * never pays for it. It is CommonJS, so it loads synchronously.
 */
function prettyFormatter(o: { singleLine: boolean }): (line: string) => string {
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return prettyFactory({ ...PRETTY, ...o });
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
