export interface ArrayElement {
  /** The element's exact bytes: a view into the scanned page, not a copy. */
  raw: Buffer;
  /** For an object element, the text of the wanted top-level fields (a string decoded, else as written). */
  fields: Array<string | undefined>;
}

/**
 * Splits the text of a JSON array into the exact text of each element, so records land byte for
 * byte as the API sent them (no re-serialisation: big integers and number formats survive).
 * Returns undefined when the text is not a single top-level array.
 */
export function splitJsonArray(text: string | Buffer): string[] | undefined {
  return scanJsonArray(text, [])?.map((e) => e.raw.toString('utf8'));
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * `splitJsonArray`, also reading the named top-level fields of each object element on the way.
 * One pass over the bytes as they came: no string of the whole page (a page is megabytes, and
 * such strings live in V8's large-object space until a full collection) and no objects built
 * (parsing a page whole cost more than all else a fetch does). UTF-8 never hides a structural
 * character inside a multi-byte sequence, so the scan is safe on bytes. The elements themselves
 * are judged by the warehouse, line by line.
 */
export function scanJsonArray(input: string | Buffer, wanted: readonly string[]): ArrayElement[] | undefined {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  let i = skipSpace(bytes, 0);
  if (bytes[i] !== OPEN_ARRAY) return undefined;
  i++;
  const out: ArrayElement[] = [];
  let depth = 0;
  let start = -1;
  let fields: Array<string | undefined> = [];
  let inObject = false;
  const finish = (end: number) => {
    out.push({ raw: bytes.subarray(start, trimEnd(bytes, end)), fields });
    fields = [];
  };
  for (; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (c === QUOTE) {
      if (start < 0) start = i;
      const close = stringEnd(bytes, i);
      if (close < 0) return undefined;
      if (depth === 1 && inObject && wanted.length > 0) readField(bytes, i, close, wanted, fields);
      i = close;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (start < 0) start = i;
      if (depth === 0) inObject = c === OPEN_OBJECT;
      depth++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth === 0) {
        if (c !== CLOSE_ARRAY) return undefined;
        if (start >= 0) finish(i);
        return skipSpace(bytes, i + 1) === bytes.length ? out : undefined;
      }
      depth--;
    } else if (c === COMMA && depth === 0) {
      if (start < 0) return undefined;
      finish(i);
      start = -1;
    } else if (start < 0 && !isSpace(c)) {
      start = i;
    }
  }
  return undefined;
}

/** When the string at `open`…`close` is a key that is wanted, stores its value's text. */
function readField(bytes: Buffer, open: number, close: number, wanted: readonly string[], fields: Array<string | undefined>): void {
  const colon = skipSpace(bytes, close + 1);
  if (bytes[colon] !== COLON) return; // a value, not a key
  const at = wanted.indexOf(decodeString(bytes, open, close));
  if (at < 0) return;
  const v = skipSpace(bytes, colon + 1);
  if (bytes[v] === QUOTE) {
    const end = stringEnd(bytes, v);
    fields[at] = end < 0 ? undefined : decodeString(bytes, v, end);
    return;
  }
  let end = v;
  while (end < bytes.length && !isSpace(bytes[end] as number) && !isPunctuation(bytes[end] as number)) end++;
  const literal = bytes.toString('latin1', v, end);
  fields[at] = literal === '' || literal === 'null' ? undefined : literal;
}

function decodeString(bytes: Buffer, open: number, close: number): string {
  let escaped = false;
  for (let i = open + 1; i < close && !escaped; i++) escaped = bytes[i] === BACKSLASH;
  if (!escaped) return bytes.toString('utf8', open + 1, close);
  try {
    return JSON.parse(bytes.toString('utf8', open, close + 1)) as string;
  } catch {
    return bytes.toString('utf8', open + 1, close);
  }
}

/**
 * One JSON Lines line for an element: its own text. A line break can only stand between tokens of
 * valid JSON (never inside a string), so it becomes a space: the same value, on one line.
 */
export function asLine(raw: string): string;
export function asLine(raw: Buffer): Buffer;
export function asLine(raw: string | Buffer): string | Buffer {
  if (typeof raw === 'string') return raw.includes('\n') || raw.includes('\r') ? raw.replace(/[\r\n]/g, ' ') : raw;
  if (raw.indexOf(LF) < 0 && raw.indexOf(CR) < 0) return raw;
  const copy = Buffer.from(raw);
  for (let i = 0; i < copy.length; i++) if (copy[i] === LF || copy[i] === CR) copy[i] = SPACE;
  return copy;
}

/**
 * The index of the quote that closes the string opening at `open`, or -1. Most of an API's text is
 * inside strings: the native search skips it far faster than a loop over each byte.
 */
function stringEnd(bytes: Buffer, open: number): number {
  let q = bytes.indexOf(QUOTE, open + 1);
  while (q > 0) {
    let slashes = 0;
    while (bytes[q - 1 - slashes] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q;
    q = bytes.indexOf(QUOTE, q + 1);
  }
  return -1;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const isPunctuation = (c: number) => c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || c === OPEN_OBJECT || c === OPEN_ARRAY;

function skipSpace(bytes: Buffer, from: number): number {
  let i = from;
  while (i < bytes.length && isSpace(bytes[i] as number)) i++;
  return i;
}

function trimEnd(bytes: Buffer, end: number): number {
  let j = end;
  while (j > 0 && isSpace(bytes[j - 1] as number)) j--;
  return j;
}
