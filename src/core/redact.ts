import { secretsPattern } from './secret-pattern.js';

/**
 * Secrets are wrapped the moment config is parsed, so that no log line, error or JSON document
 * can print them by accident. `reveal()` is the one door, used where a request is built.
 */
const SECRET_TEXT = '[redacted]';

// Values shorter than this are not registered: a 1–3 character "secret" ("a", "no", "123") would
// blank out ordinary words and numbers everywhere. Four characters and more are always masked.
const MIN_SECRET_LENGTH = 4;

const known = new Set<string>();
// Compiled lazily, once per set of registered values: logs are hot, registrations rare.
let matcher: RegExp | undefined;
let stale = false;

/** Registers a value, or a form only known as a whole (a Basic header's base64), for redaction. */
export function registerSecret(value: string): void {
  if (value.length < MIN_SECRET_LENGTH || known.has(value)) return;
  known.add(value);
  stale = true;
}

function currentMatcher(): RegExp | undefined {
  if (stale) {
    matcher = known.size ? new RegExp(secretsPattern(known), 'g') : undefined;
    stale = false;
  }
  return matcher;
}

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    registerSecret(value);
  }

  reveal(): string {
    return this.#value;
  }

  get empty(): boolean {
    return this.#value === '';
  }

  toString(): string {
    return SECRET_TEXT;
  }

  toJSON(): string {
    return SECRET_TEXT;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return SECRET_TEXT;
  }
}

/**
 * Removes every known secret from a text, in any spelling (raw, percent- or form-encoded,
 * JSON-escaped, base64; see secret-pattern.ts). For a message about to be printed; a value about
 * to be serialised goes through `redact` instead, so escaping can neither hide a secret nor be cut.
 */
export function redactText(text: string): string {
  const re = currentMatcher();
  return re && text.length >= MIN_SECRET_LENGTH ? text.replace(re, SECRET_TEXT) : text;
}

/**
 * A copy of a value to be serialised (a log object, a run record, a `--json` document) with every
 * known secret removed from its strings and keys, before JSON escaping. Numbers and booleans are
 * left alone, so the document keeps its shape and types. What JSON.stringify would call `toJSON`
 * on is redacted in that form; errors become `{type, message, stack}`. Parts with nothing to
 * redact are returned as they are, without copying.
 */
export function redact<T>(value: T): T {
  const re = currentMatcher();
  return re ? (walk(value, re, new Set()) as T) : value;
}

function walk(value: unknown, re: RegExp, parents: Set<object>): unknown {
  if (typeof value === 'string') return value.length >= MIN_SECRET_LENGTH ? value.replace(re, SECRET_TEXT) : value;
  if (value === null || typeof value !== 'object' || value instanceof Secret) return value;
  if (parents.has(value)) return '[Circular]';
  parents.add(value);
  try {
    const asJson = (value as { toJSON?: unknown }).toJSON;
    if (typeof asJson === 'function') return walk(asJson.call(value), re, parents);
    if (value instanceof Error) return walk(errorFields(value), re, parents);
    if (Array.isArray(value)) return walkArray(value, re, parents);
    return walkObject(value as Record<string, unknown>, re, parents);
  } finally {
    parents.delete(value);
  }
}

function walkArray(items: unknown[], re: RegExp, parents: Set<object>): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const next = walk(items[i], re, parents);
    if (!out && next !== items[i]) out = items.slice(0, i);
    out?.push(next);
  }
  return out ?? items;
}

function walkObject(obj: Record<string, unknown>, re: RegExp, parents: Set<object>): Record<string, unknown> {
  const keys = Object.keys(obj);
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const nextKey = key.length >= MIN_SECRET_LENGTH ? key.replace(re, SECRET_TEXT) : key;
    const next = walk(obj[key], re, parents);
    if (!out && (nextKey !== key || next !== obj[key])) {
      out = {};
      for (const k of keys.slice(0, i)) setOwn(out, k, obj[k]);
    }
    if (out) setOwn(out, nextKey, next);
  }
  return out ?? obj;
}

// A key named `__proto__` must stay a key, not become the copy's prototype.
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

function errorFields(e: Error): Record<string, unknown> {
  return { ...(e as unknown as Record<string, unknown>), type: e.name, message: e.message, stack: e.stack };
}
