/**
 * One error root for everything sluice reports. `code` decides the exit code at the CLI, `retryable`
 * decides whether a unit of work may be tried again, and `hint` is the next step for the user.
 */
export type ErrorCode =
  | 'config' // the run could not start: bad or missing config
  | 'auth' // credentials missing or rejected
  | 'storage_unreachable' // storage cannot be reached at all
  | 'warehouse_unreachable'
  | 'http' // an API answered with an error we do not retry
  | 'rate_limited' // a rate limit that lasts longer than we are willing to wait
  | 'network' // timeouts, resets, DNS
  | 'data' // a payload that breaks the contract of its source
  | 'integrity' // a checksum or size that does not match
  | 'locked' // another run holds the source: nothing was done to it
  | 'internal';

export interface ErrorContext {
  source?: string;
  stream?: string;
  hour?: string;
  runId?: string;
  url?: string;
  status?: number;
  [key: string]: unknown;
}

export interface SluiceErrorOptions {
  hint?: string;
  retryable?: boolean;
  context?: ErrorContext;
  cause?: unknown;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly retryable: boolean;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.hint = options.hint;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }

  /** True for errors that stop the whole run before any work: exit code 2 (DESIGN §4). */
  get fatal(): boolean {
    return FATAL_CODES.has(this.code);
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...this.context };
  }
}

const FATAL_CODES = new Set<ErrorCode>(['config', 'auth', 'storage_unreachable', 'warehouse_unreachable']);

export class ConfigError extends SluiceError {
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super('config', message, options);
    this.name = 'ConfigError';
  }
}

export class AuthError extends SluiceError {
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super('auth', message, options);
    this.name = 'AuthError';
  }
}

export class HttpError extends SluiceError {
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super('http', message, options);
    this.name = 'HttpError';
  }
}

export function isSluiceError(error: unknown): error is SluiceError {
  return error instanceof SluiceError;
}

/** Wraps anything thrown into a SluiceError, keeping the original as `cause`. */
export function toSluiceError(error: unknown, context: ErrorContext = {}): SluiceError {
  if (error instanceof SluiceError) {
    if (Object.keys(context).length === 0) return error;
    Object.assign(error.context, { ...context, ...error.context });
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new SluiceError('internal', message, { cause: error, context });
}
