/**
 * DESIGN §9: the schema sluice has seen of a stream, its drift, and the contract a stream may set.
 *
 * A field path names a field of a record and of its nested objects, one segment per level,
 * joined by dots: `meta.plan`. A segment made only of ASCII letters, digits, `_` and `-` is
 * written as it is; any other (a dot, a space, a quote, an empty name, a letter outside ASCII) is
 * written in double quotes with inner quotes doubled, as SQL quotes identifiers:
 * `{"a.b": {"c": 1}}` has the paths `"a.b"` and `"a.b".c`, never `a.b.c`.
 */

/** The JSON types a field may carry; `integer` is a number written without a fraction or exponent. */
export const JSON_TYPES = ['string', 'integer', 'number', 'boolean', 'object', 'array', 'null'] as const;
export type JsonType = (typeof JSON_TYPES)[number];

export type ContractRule = 'evolve' | 'freeze';

/** What a stream does with drift; `track: false` learns nothing (and enforces nothing). */
export interface SchemaContract {
  newFields: ContractRule;
  typeChanges: ContractRule;
  /** Levels of nesting followed: a field deeper than this is recorded as its ancestor, of type object. */
  maxDepth: number;
  track: boolean;
}

export const DEFAULT_CONTRACT: SchemaContract = { newFields: 'evolve', typeChanges: 'evolve', maxDepth: 3, track: true };

/** One row of `sluice._schema`. */
export interface SchemaField {
  path: string;
  types: JsonType[];
  /** Rows that carried the path, whatever its type. */
  rows: number;
  /** Rows per type. */
  typeRows: Partial<Record<JsonType, number>>;
  firstBatch: string;
  lastBatch: string;
  firstSeenAt: string;
  lastSeenAt: string;
}

export type ChangeKind = 'new_field' | 'type_change';

/** One row of `sluice._schema_changes`. */
export interface SchemaChange {
  source: string;
  stream: string;
  path: string;
  kind: ChangeKind;
  typesBefore: JsonType[];
  typesAfter: JsonType[];
  batch: string;
  /** The first line of the batch that carried it, counted from 1 as in `sluice._rejects`. */
  line: number;
  runId: string;
  at: string;
}

/** A stream's schema as `sluice schema` shows it. */
export interface StreamSchema {
  /** Rows loaded into the stream (the ledger's count): the denominator of each field's share. */
  rows: number;
  fields: SchemaField[];
}

const BARE = /^[A-Za-z0-9_-]+$/;

export function formatSegment(name: string): string {
  return BARE.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

export function formatPath(segments: readonly string[]): string {
  return segments.map(formatSegment).join('.');
}

/** The segments of a path written by `formatPath`. */
export function parsePath(path: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= path.length) {
    if (path[i] === '"') {
      let name = '';
      i++;
      for (;;) {
        if (i >= path.length) throw new Error(`unterminated quote in field path ${path}`);
        if (path[i] === '"') {
          if (path[i + 1] === '"') {
            name += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        name += path[i++];
      }
      out.push(name);
    } else {
      const dot = path.indexOf('.', i);
      const end = dot === -1 ? path.length : dot;
      out.push(path.slice(i, end));
      i = end;
    }
    if (i >= path.length) break;
    if (path[i] !== '.') throw new Error(`unexpected ${path[i]} in field path ${path}`);
    i++;
  }
  return out;
}

/** Orders paths as a tree: a field, then the fields of its object, then its next sibling. */
export function comparePaths(a: { path: string }, b: { path: string }): number {
  const x = parsePath(a.path);
  const y = parsePath(b.path);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return x.length - y.length;
}

/** Types in the order of JSON_TYPES. */
export function sortTypes(types: Iterable<JsonType>): JsonType[] {
  const set = new Set(types);
  return JSON_TYPES.filter((t) => set.has(t));
}

export const isJsonType = (t: string): t is JsonType => (JSON_TYPES as readonly string[]).includes(t);

/** The reason of a line a frozen contract rejected (DESIGN §9). */
export const frozenReason = (path: string): string => `schema_frozen: ${path}`;
