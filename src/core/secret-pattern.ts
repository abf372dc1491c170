/**
 * The shapes a secret takes on its way out of the process, as regular-expression sources.
 *
 * Rather than list whole encodings (raw, encodeURIComponent, URLSearchParams, WHATWG URL,
 * JSON.stringify…), each character of the secret may appear in any of its spellings, so every
 * encoding, and any mix of them, is found by one pattern:
 * - itself;
 * - percent-encoded UTF-8, hex in either case, re-encoded up to three times (`%2F`, `%2f`, `%252F`);
 * - `+` for a space (form encoding);
 * - JSON-escaped up to three levels deep (`\"`, `\\\"`, `\\`, `\/`, `\n`, `\u0022`);
 * - an HTML entity (`&amp;`, `&quot;`…), for reports.
 * Letters and digits are never encoded by any of these, so they match only themselves: that keeps
 * the pattern small and its scan fast.
 *
 * Base64 cannot be spelt character by character, and a secret is often encoded inside a longer
 * text (`user:password` in a Basic header). A base64 character carries 6 bits, a group of 4
 * characters 3 bytes: whatever precedes the secret, the groups that hold only the secret's bytes
 * are the same at each of the 3 alignments. Matching those groups finds base64 of the secret alone
 * and inside anything, in the standard and the URL-safe alphabet. They need enough bytes to be
 * specific: below MIN_BASE64_CHARS a value has no base64 pattern.
 */

const MIN_BASE64_CHARS = 8;
// Each level of JSON escaping doubles the backslashes before a character (plus one for `"`): three
// levels need at most 8. Bounded repetition also keeps the scan linear (nothing to backtrack over).
const SOME_BACKSLASHES = '\\\\{1,8}';
const ANY_BACKSLASHES = '\\\\{0,8}';
const RE_ENCODED = '(?:25){0,3}'; // `%25` re-encodes the `%` of `%2F`, up to three times

const JSON_SHORT: Record<string, string> = { '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't' };
const HTML: Record<string, string[]> = { '&': ['amp'], '"': ['quot'], "'": ['#39', '#x27', 'apos'], '<': ['lt'], '>': ['gt'] };

const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A hex byte or code unit whose letters match in either case: `2F` → `2[Ff]`. */
function hexAnyCase(n: number, width: number): string {
  return n
    .toString(16)
    .toUpperCase()
    .padStart(width, '0')
    .replace(/[A-F]/g, (d) => `[${d}${d.toLowerCase()}]`);
}

/** Every spelling of one character (a code point) as a regex alternative. */
function charPattern(ch: string): string {
  if (/^[A-Za-z0-9]$/.test(ch)) return ch;
  const alts = new Set<string>();
  if (ch === '\\') alts.add(SOME_BACKSLASHES);
  else if (ch === '"' || ch === '/') alts.add(`${ANY_BACKSLASHES}${reEscape(ch)}`);
  else alts.add(reEscape(ch));
  if (JSON_SHORT[ch]) alts.add(`${SOME_BACKSLASHES}${JSON_SHORT[ch]}`);
  let unicode = '';
  for (let i = 0; i < ch.length; i++) unicode += `${SOME_BACKSLASHES}u${hexAnyCase(ch.charCodeAt(i), 4)}`;
  alts.add(unicode);
  alts.add([...Buffer.from(ch, 'utf8')].map((b) => `%${RE_ENCODED}${hexAnyCase(b, 2)}`).join(''));
  if (ch === ' ') alts.add('\\+');
  for (const name of HTML[ch] ?? []) alts.add(`&${name};`);
  return `(?:${[...alts].join('|')})`;
}

/** A pattern for `text` in any of the character-wise encodings above. */
function spellings(text: string): string {
  let out = '';
  for (const ch of text) out += charPattern(ch);
  return out;
}

/** For base64 text: `+` and `/` (standard) or `-` and `_` (URL-safe), each possibly encoded. */
function base64Spellings(b64: string): string {
  let out = '';
  for (const ch of b64) {
    if (ch === '+') out += `(?:-|${charPattern('+')})`;
    else if (ch === '/') out += `(?:_|${charPattern('/')})`;
    else out += ch;
  }
  return out;
}

/** Base64 patterns of `value` at each alignment: only the groups made of its bytes alone. */
function base64Patterns(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const out: string[] = [];
  // Skipping 0, 2 or 1 bytes puts the secret's remaining bytes on a group boundary when 0, 1 or 2
  // bytes of something else come before it.
  for (const skip of [0, 2, 1]) {
    const whole = Math.floor((bytes.length - skip) / 3) * 3;
    if (whole <= 0) continue;
    const b64 = bytes.subarray(skip, skip + whole).toString('base64');
    if (b64.length >= MIN_BASE64_CHARS) out.push(base64Spellings(b64));
  }
  return out;
}

/** One pattern source for every spelling of every value; longer values first, so they win. */
export function secretsPattern(values: Iterable<string>): string {
  const sorted = [...values].sort((a, b) => b.length - a.length);
  return sorted.flatMap((v) => [spellings(v), ...base64Patterns(v)]).join('|');
}
