/**
 * Splits the text of a JSON array into the exact text of each element, so records land byte for
 * byte as the API sent them (no re-serialisation: big integers and number formats survive).
 * Returns undefined when the text is not a single top-level array.
 */
export function splitJsonArray(text: string): string[] | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '[') return undefined;
  i++;
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      if (start < 0) start = i;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (start < 0) start = i;
      depth++;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      if (depth === 0) {
        if (c !== 93) return undefined;
        if (start >= 0) out.push(text.slice(start, trimEnd(text, i)));
        return skipSpace(text, i + 1) === text.length ? out : undefined;
      }
      depth--;
    } else if (c === 44 /* , */ && depth === 0) {
      if (start < 0) return undefined;
      out.push(text.slice(start, trimEnd(text, i)));
      start = -1;
    } else if (start < 0 && !isSpace(c)) {
      start = i;
    }
  }
  return undefined;
}

/** One JSON Lines line for an element: its own text when it has no line break, else compact. */
export function asLine(raw: string, parsed: unknown): string {
  return raw.includes('\n') || raw.includes('\r') ? JSON.stringify(parsed) : raw;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

function trimEnd(text: string, end: number): number {
  let j = end;
  while (j > 0 && isSpace(text.charCodeAt(j - 1))) j--;
  return j;
}
