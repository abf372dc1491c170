/**
 * Works on the text of a JSON document rather than its parsed value, so that records land byte for
 * byte as the API sent them (big integers and number formats survive). The text is assumed valid
 * JSON: callers parse it first.
 */

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The index just past the string that starts at `from` (a `"`). */
function skipString(text: string, from: number): number {
  for (let i = from + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */) i++;
    else if (c === 34 /* " */) return i + 1;
  }
  return text.length;
}

/** The index just past the value that starts at `from`. */
function skipValue(text: string, from: number): number {
  const first = text.charCodeAt(from);
  if (first === 34) return skipString(text, from);
  if (first === 123 /* { */ || first === 91 /* [ */) {
    let depth = 0;
    for (let i = from; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 34) i = skipString(text, i) - 1;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 /* } */ || c === 93 /* ] */) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return text.length;
  }
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 44 /* , */ || c === 125 || c === 93 || isSpace(c)) break;
    i++;
  }
  return i;
}

/** The exact text of the value at `path` (object keys from the root), or undefined if absent. */
export function rawAt(text: string, path: readonly string[]): string | undefined {
  let start = skipSpace(text, 0);
  for (const key of path) {
    if (text.charCodeAt(start) !== 123) return undefined;
    let i = skipSpace(text, start + 1);
    let found: number | undefined;
    while (i < text.length && text.charCodeAt(i) === 34) {
      const keyEnd = skipString(text, i);
      const name = JSON.parse(text.slice(i, keyEnd)) as string;
      i = skipSpace(text, skipSpace(text, keyEnd) + 1); // past the colon
      if (name === key) found = i; // the last duplicate wins, as in JSON.parse
      i = skipSpace(text, skipValue(text, i));
      if (text.charCodeAt(i) === 44) i = skipSpace(text, i + 1);
    }
    if (found === undefined) return undefined;
    start = found;
  }
  return text.slice(start, skipValue(text, start));
}

/** The exact text of each element of a JSON array's text. */
export function rawElements(arrayText: string): string[] {
  const out: string[] = [];
  let i = skipSpace(arrayText, 0);
  if (arrayText.charCodeAt(i) !== 91) return out;
  i = skipSpace(arrayText, i + 1);
  while (i < arrayText.length && arrayText.charCodeAt(i) !== 93) {
    const end = skipValue(arrayText, i);
    out.push(arrayText.slice(i, end));
    i = skipSpace(arrayText, end);
    if (arrayText.charCodeAt(i) === 44) i = skipSpace(arrayText, i + 1);
  }
  return out;
}

/** The text without whitespace outside strings: one line, every value's bytes kept. */
export function compactJson(text: string): string {
  if (!/[ \t\r\n]/.test(text)) return text;
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      i = skipString(text, i) - 1;
    } else if (isSpace(c)) {
      out += text.slice(from, i);
      from = i + 1;
    }
  }
  return out + text.slice(from);
}

/** A JSON object's text with `name: valueText` added first, the rest left byte for byte. */
export function prependField(objectText: string, name: string, valueText: string): string {
  const open = skipSpace(objectText, 0);
  const rest = skipSpace(objectText, open + 1);
  const member = `${JSON.stringify(name)}:${valueText}`;
  return objectText.charCodeAt(rest) === 125 ? `{${member}}` : `{${member},${objectText.slice(rest)}`;
}

/** The value at a dotted path of a parsed document. */
export function valueAt(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

export const splitPath = (dotted: string | undefined): string[] => (dotted ? dotted.split('.') : []);
