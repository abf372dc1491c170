import { formatPath, isJsonType, type JsonType, parsePath, type SchemaField, sortTypes } from '../core/schema.js';

/** A `sluice._schema` row as the warehouses read it, before it becomes a SchemaField. */
export interface SchemaRow {
  path: string;
  types: string[];
  rows: number;
  /** JSON text of `{type: rows}`, or the object itself. */
  typeRows: string | Record<string, unknown> | null;
  firstBatch: string;
  lastBatch: string;
  firstSeenMs: number;
  lastSeenMs: number;
}

export function fieldsFromRows(rows: readonly SchemaRow[]): SchemaField[] {
  return rows.map((r) => {
    const raw = typeof r.typeRows === 'string' ? (JSON.parse(r.typeRows) as Record<string, unknown>) : (r.typeRows ?? {});
    const typeRows: SchemaField['typeRows'] = {};
    for (const [t, n] of Object.entries(raw)) if (isJsonType(t)) typeRows[t] = Number(n);
    return {
      path: r.path,
      types: r.types.filter(isJsonType),
      rows: r.rows,
      typeRows,
      firstBatch: r.firstBatch,
      lastBatch: r.lastBatch,
      firstSeenAt: new Date(r.firstSeenMs).toISOString(),
      lastSeenAt: new Date(r.lastSeenMs).toISOString(),
    };
  });
}

export interface KnownPath {
  path: string;
  segments: string[];
  /** Index of the parent in `paths`; -1 for a top-level field. */
  parent: number;
  /** Known to have held numbers (integer or number). */
  numeric: boolean;
}

/** An object whose keys the check counts: the record itself (`index` -1) or a known path. */
export interface KnownObject {
  segments: string[];
  index: number;
}

/** What one group of rows (one combination of types per known path) carries. */
export interface Present {
  isObject(index: number): boolean;
  /** Known fields present under the object. */
  children(index: number): number;
  /** An object at a path the schema never saw as an object (its fields are unknown). */
  newObjects(): boolean;
  pairs(): Array<[string, JsonType]>;
}

/**
 * A provisional schema from the paths and types of a stage's first rows, for a stream's first load
 * to fingerprint the rest against: shapes only (no counts or batches; the check counts every row).
 */
export function guideSchema(pairs: Iterable<readonly [string, JsonType]>): Map<string, SchemaField> {
  const out = new Map<string, SchemaField>();
  for (const [path, type] of pairs) {
    const f = out.get(path);
    if (f) f.types = sortTypes([...f.types, type]);
    else out.set(path, { path, types: [type], rows: 0, typeRows: {}, firstBatch: '', lastBatch: '', firstSeenAt: '', lastSeenAt: '' });
  }
  return out;
}

/**
 * The known schema laid out for a cheap check: the paths (down to `maxDepth`), and the objects
 * whose keys are counted (the record, and each path known as an object above `maxDepth`).
 */
export function knownTree(known: ReadonlyMap<string, SchemaField>, maxDepth: number) {
  const fields = [...known.values()]
    .map((f) => ({ f, segments: parsePath(f.path) }))
    .filter((x) => x.segments.length <= maxDepth)
    .sort((a, b) => a.segments.length - b.segments.length);
  const index = new Map<string, number>();
  const paths: KnownPath[] = [];
  for (const { f, segments } of fields) {
    const parent = segments.length === 1 ? -1 : index.get(formatPath(segments.slice(0, -1)));
    if (parent === undefined) continue; // its parent is not known (an older, deeper schema): it is learnt again
    index.set(f.path, paths.length);
    paths.push({ path: f.path, segments, parent, numeric: f.types.includes('integer') || f.types.includes('number') });
  }
  const objects: KnownObject[] = [{ segments: [], index: -1 }];
  paths.forEach((p, i) => {
    if (p.segments.length < maxDepth && known.get(p.path)?.types.includes('object')) objects.push({ segments: p.segments, index: i });
  });
  const counted = new Set(objects.map((o) => o.index));

  /** `types[i]`: the type of `paths[i]` in the group, undefined where absent. */
  function present(types: ReadonlyArray<JsonType | undefined>): Present {
    // A value reached through a parent that is not an object here (an array indexed by a key "0") is not the field.
    const valid = paths.map(() => false);
    const under = new Map<number, number>();
    paths.forEach((p, i) => {
      valid[i] = types[i] !== undefined && (p.parent === -1 || (valid[p.parent] === true && types[p.parent] === 'object'));
      if (valid[i]) under.set(p.parent, (under.get(p.parent) ?? 0) + 1);
    });
    return {
      isObject: (i) => i === -1 || (valid[i] === true && types[i] === 'object'),
      children: (i) => under.get(i) ?? 0,
      newObjects: () => paths.some((p, i) => valid[i] && types[i] === 'object' && p.segments.length < maxDepth && !counted.has(i)),
      pairs: () => paths.flatMap((p, i): Array<[string, JsonType]> => (valid[i] ? [[p.path, types[i] as JsonType]] : [])),
    };
  }
  return { paths, objects, present };
}

/**
 * The paths and types of a structure where an object is a JS object, an array a JS array and any
 * other value its type's name (DuckDB's `json_structure`), down to `maxDepth`.
 */
export function* structureTypes(node: unknown, maxDepth: number, typeOf: (name: string) => JsonType, at: string[] = []): Generator<[string, JsonType]> {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return;
  for (const [key, value] of Object.entries(node)) {
    const segments = [...at, key];
    const path = formatPath(segments);
    if (Array.isArray(value)) yield [path, 'array'];
    else if (value && typeof value === 'object') {
      yield [path, 'object'];
      if (segments.length < maxDepth) yield* structureTypes(value, maxDepth, typeOf, segments);
    } else yield [path, typeOf(String(value))];
  }
}

/** A date, or a date and time, as ISO 8601 writes them (`T` or a space between), with an optional zone. */
export const ISO_TIME = '\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?)?(Z|[+-]\\d{2}(:?\\d{2})?)?';
/** …whose time has an offset other than Z. */
export const WITH_OFFSET = '.*\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?[+-]\\d{2}(:?\\d{2})?';
