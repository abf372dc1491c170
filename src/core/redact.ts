/**
 * Secrets are wrapped the moment config is parsed, so that no log line, error or JSON document
 * can print them by accident. `reveal()` is the one door, used where a request is built.
 */
const SECRET_TEXT = '[redacted]';
const known = new Set<string>();

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    if (value.length >= 4) known.add(value);
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

/** Removes every known secret value from a text: the last line of defence for messages. */
export function redactText(text: string): string {
  let out = text;
  for (const value of known) {
    if (out.includes(value)) out = out.split(value).join(SECRET_TEXT);
  }
  return out;
}
