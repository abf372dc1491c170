import { formatPath, type JsonType } from '../../core/schema.js';
import { type Observed, position, type TypeStats } from '../schema-learn.js';

/**
 * DESIGN §9 on PostgreSQL, learnt from the bytes the COPY already streams: each line's field
 * paths (to the depth) and the JSON type of each, read while PostgreSQL parses the same line as
 * jsonb. The scan runs in sluice's process, beside the server's parse, so tracking costs the
 * server nothing for the usual group; an exact check in SQL cost it a third of the load.
 *
 * It reads structure only: no value is decoded, no object is built per row. Its rules are the
 * SQL walk's (`schema-sql.ts`): the paths of nested objects to the depth, arrays not entered, a
 * number is `integer` when PostgreSQL's numeric keeps no fraction digits (`2.0` is a number, as
 * jsonb keeps it; `1.5e1` an integer). What it cannot read the way jsonb would (a key written
 * twice in an object, of which jsonb keeps the last; a line that is not JSON; an object used as
 * a map, with ever new keys) makes it decline, and the SQL check reads the group instead.
 */
export class StructureScanner {
  readonly #maxDepth: number;
  readonly #root = new PathNode([]);
  #nodes = 0;
  #row = 0;
  #b = 0;
  #at = 0;
  #declined: string | undefined;
  /** The top-level fields whose values the scan keeps for each line (the table's key). */
  readonly #keys: PathNode[];
  readonly #keyAt: Int32Array;
  readonly #keyEnd: Int32Array;

  constructor(maxDepth: number, keys: readonly string[] = []) {
    this.#maxDepth = maxDepth;
    this.#keys = keys.map((name, i) => {
      const node = new PathNode([name]);
      node.key = i;
      this.#root.byName.set(name, node);
      return node;
    });
    this.#keyAt = new Int32Array(keys.length);
    this.#keyEnd = new Int32Array(keys.length);
  }

  /** How many key fields the scan reads. */
  get keyCount(): number {
    return this.#keys.length;
  }

  /** Why the scan gave up, if it did. */
  get declined(): string | undefined {
    return this.#declined;
  }

  /** One line as it stands in batch `b` (the group's index), line number `n`. */
  line(b: number, n: number, buf: Buffer): void {
    if (this.#declined !== undefined) return;
    this.#row++;
    this.#b = b;
    this.#at = position(b, n);
    this.#keyAt.fill(-1);
    try {
      const i = ws(buf, 0);
      if (buf[i] !== OPEN_OBJECT) throw new Decline('a line that is not an object');
      this.#object(buf, i, this.#root);
    } catch (error) {
      this.#declined = error instanceof Decline ? error.message : `unexpected: ${(error as Error).message}`;
    }
  }

  /** After `keyText` returned true: where the key's text stands in the line. */
  keyFrom = 0;
  keyTo = 0;

  /**
   * Key field `k` of the line just scanned, as `->>` reads it: true when its text stands in the
   * line as it is (a string without escapes, between `keyFrom` and `keyTo`; an integer as
   * written), the decoded value of a string with escapes, or false when it is missing, null, or of
   * a type whose text jsonb writes its own way (the load then keys the line in SQL).
   */
  keyText(buf: Buffer, k: number): string | boolean {
    if (this.#declined !== undefined) return false;
    const at = this.#keyAt[k]!;
    if (at < 0) return false;
    const end = this.#keyEnd[k]!;
    if (buf[at] === QUOTE) {
      for (let i = at + 1; i < end - 1; i++) {
        const c = buf[i]!;
        if (c === BACKSLASH) {
          try {
            return JSON.parse(buf.toString('utf8', at, end)) as string;
          } catch {
            return false; // an escape JSON does not allow: PostgreSQL refuses the line too
          }
        }
        if (c < 0x20) return false; // a raw control character: not JSON, and not for COPY either
      }
      this.keyFrom = at + 1;
      this.keyTo = end - 1;
      return true;
    }
    if (!isPlainInteger(buf, at, end)) return false;
    this.keyFrom = at;
    this.keyTo = end;
    return true;
  }

  /** The paths and types of every line scanned; undefined if the scan declined. */
  observed(): Observed | undefined {
    if (this.#declined !== undefined) return undefined;
    const out: Observed = new Map();
    const visit = (node: PathNode) => {
      const byType = new Map<JsonType, TypeStats>();
      node.stats.forEach((s, t) => {
        if (s) byType.set(TYPES[t]!, { ...s });
      });
      if (byType.size > 0) out.set(formatPath(node.segments), byType);
      for (const kid of node.byName.values()) visit(kid);
    };
    visit(this.#root);
    return out;
  }

  /** An object's members, from its `{`; returns the index after its `}`. */
  #object(buf: Buffer, start: number, parent: PathNode): number {
    let i = ws(buf, start + 1);
    if (buf[i] === CLOSE_OBJECT) return i + 1;
    let prev: Spelling | undefined;
    for (;;) {
      if (buf[i] !== QUOTE) throw new Decline('a key that is not a string');
      const end = stringEnd(buf, i);
      // Records mostly repeat their keys in one order: the key that followed last time is tried first.
      const guess = prev === undefined ? parent.firstKey : prev.after;
      const spelling = guess !== undefined && sameBytes(guess.raw, buf, i + 1, end - 1) ? guess : this.#spelling(parent, buf, i + 1, end - 1);
      if (prev === undefined) parent.firstKey = spelling;
      else prev.after = spelling;
      prev = spelling;
      const kid = spelling.node;
      if (kid.row === this.#row) throw new Decline(`the key ${formatPath(kid.segments)} twice in one object`);
      kid.row = this.#row;
      i = ws(buf, end);
      if (buf[i] !== COLON) throw new Decline('a key without a value');
      i = ws(buf, i + 1);
      const valueAt = i;
      const c = buf[i];
      let type: number;
      if (c === QUOTE) {
        type = STRING;
        i = stringEnd(buf, i);
      } else if (c === OPEN_OBJECT) {
        type = OBJECT;
        i = kid.segments.length < this.#maxDepth ? this.#object(buf, i, kid) : skipNested(buf, i);
      } else if (c === OPEN_ARRAY) {
        type = ARRAY;
        i = skipNested(buf, i);
      } else if (c === 0x74 /* t */) {
        type = BOOLEAN;
        i += 4;
      } else if (c === 0x66 /* f */) {
        type = BOOLEAN;
        i += 5;
      } else if (c === 0x6e /* n */) {
        type = NULL;
        i += 4;
      } else {
        const number = scanNumber(buf, i);
        if (number.end === i) throw new Decline('a value that is not JSON');
        type = number.integer ? INTEGER : NUMBER;
        i = number.end;
      }
      const s = kid.stats[type];
      if (s === undefined) kid.stats[type] = { rows: 1, first: this.#at, minF: this.#b, maxF: this.#b };
      else {
        // Lines come in order (batch, then line): the first sighting is the earliest, the latest batch the last.
        s.rows++;
        s.maxF = this.#b;
      }
      if (kid.key >= 0 && parent === this.#root) {
        this.#keyAt[kid.key] = valueAt;
        this.#keyEnd[kid.key] = i;
      }
      i = ws(buf, i);
      if (buf[i] === CLOSE_OBJECT) return i + 1;
      if (buf[i] !== COMMA) throw new Decline('an object that does not close');
      i = ws(buf, i + 1);
    }
  }

  /**
   * A key as written, found by its bytes: hashed, then compared, so no string is made for a key
   * seen before. A new spelling is decoded once; two spellings of one name (an escape) share its
   * node.
   */
  #spelling(parent: PathNode, buf: Buffer, from: number, to: number): Spelling {
    let h = (to - from) | 0;
    for (let k = from; k < to; k++) h = (Math.imul(h, 31) + buf[k]!) | 0;
    const head = parent.spellings.get(h);
    for (let s = head; s !== undefined; s = s.next) if (sameBytes(s.raw, buf, from, to)) return s;
    const slash = buf.indexOf(BACKSLASH, from);
    const escaped = slash !== -1 && slash < to;
    const name = escaped ? (JSON.parse(buf.toString('utf8', from - 1, to + 1)) as string) : buf.toString('utf8', from, to);
    let node = parent.byName.get(name);
    if (node === undefined) {
      if (++this.#nodes > MAX_NODES) throw new Decline(`more than ${MAX_NODES} paths`);
      node = new PathNode([...parent.segments, name]);
      parent.byName.set(name, node);
    }
    const spelling: Spelling = { raw: Buffer.from(buf.subarray(from, to)), node, next: head, after: undefined };
    parent.spellings.set(h, spelling);
    return spelling;
  }
}

/**
 * Paths the scan follows in one group before it leaves the group to the SQL check: well above
 * the paths a stream keeps (MAX_PATHS), so only an object used as a map (ids as keys) meets it.
 */
const MAX_NODES = 5000;

const TYPES: readonly JsonType[] = ['string', 'integer', 'number', 'boolean', 'object', 'array', 'null'];
const [STRING, INTEGER, NUMBER, BOOLEAN, OBJECT, ARRAY, NULL] = [0, 1, 2, 3, 4, 5, 6] as const;

/** An integer whose text jsonb writes back as it came: no fraction or exponent, and not `-0` (it comes back as `0`). */
function isPlainInteger(buf: Buffer, from: number, to: number): boolean {
  let i = buf[from] === 0x2d ? from + 1 : from;
  if (i >= to) return false;
  if (buf[i] === 0x30) return i === from && to === from + 1;
  for (; i < to; i++) if (buf[i]! < 0x30 || buf[i]! > 0x39) return false;
  return true;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

class Decline extends Error {}

interface Spelling {
  raw: Buffer;
  node: PathNode;
  /** The next spelling with the same hash. */
  next: Spelling | undefined;
  /** The key that followed this one in its object last time. */
  after: Spelling | undefined;
}

class PathNode {
  /** Child nodes by the hash of a key's bytes as written (a chain on collision). */
  readonly spellings = new Map<number, Spelling>();
  readonly byName = new Map<string, PathNode>();
  /** The key that opened this object last time. */
  firstKey: Spelling | undefined;
  /** Per type (the index into TYPES): the rows that carried it here. */
  readonly stats: Array<TypeStats | undefined> = [undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  /** The last line that carried this path, to catch a key written twice. */
  row = 0;
  /** Which of the table's key fields this is, at the top level; -1 for any other path. */
  key = -1;

  constructor(readonly segments: readonly string[]) {}
}

function ws(buf: Buffer, i: number): number {
  let c = buf[i];
  while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = buf[++i];
  return i;
}

function sameBytes(raw: Buffer, buf: Buffer, from: number, to: number): boolean {
  if (raw.length !== to - from) return false;
  for (let k = 0; k < raw.length; k++) if (raw[k] !== buf[from + k]) return false;
  return true;
}

/** The index after the string that opens at `start` (a quote). */
function stringEnd(buf: Buffer, start: number): number {
  let q = buf.indexOf(QUOTE, start + 1);
  for (;;) {
    if (q === -1) throw new Decline('a string that does not close');
    let slashes = 0;
    while (buf[q - 1 - slashes] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q + 1;
    q = buf.indexOf(QUOTE, q + 1);
  }
}

/** The index after the object or array that opens at `start`, its contents unread. */
function skipNested(buf: Buffer, start: number): number {
  let depth = 0;
  for (let i = start; ; ) {
    const c = buf[i];
    if (c === undefined) throw new Decline('an object or array that does not close');
    if (c === QUOTE) {
      i = stringEnd(buf, i);
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
    else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --depth === 0) return i + 1;
    i++;
  }
}

/**
 * A JSON number's end, and whether PostgreSQL's numeric keeps it without fraction digits: its
 * scale is the digits after the point less the exponent (`1.50` keeps 2, `1.5e1` none).
 */
function scanNumber(buf: Buffer, start: number): { end: number; integer: boolean } {
  let i = start;
  let fraction = 0;
  let exponent = 0;
  let sign = 1;
  let part = 0; // 0: whole digits, 1: fraction, 2: exponent
  for (; ; i++) {
    const c = buf[i];
    if (c === undefined) break;
    if (c >= 0x30 && c <= 0x39) {
      if (part === 1) fraction++;
      else if (part === 2) exponent = exponent * 10 + (c - 0x30);
    } else if (c === 0x2e) part = 1;
    else if (c === 0x65 || c === 0x45) part = 2;
    else if (c === 0x2d) {
      if (part === 2) sign = -1;
    } else if (c !== 0x2b) break;
  }
  return { end: i, integer: fraction <= sign * exponent };
}
