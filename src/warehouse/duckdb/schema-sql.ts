import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { isJsonType, type JsonType, type SchemaChange, type SchemaField, type StreamSchema } from '../../core/schema.js';
import { addStructure, type FrozenRule, type Observed, type SchemaSession } from '../schema-learn.js';
import { fieldsFromRows, guideSchema, ISO_TIME, knownTree, type SchemaRow, structureTypes, WITH_OFFSET } from '../schema-rows.js';
import { quoteLiteral as ql } from '../sql.js';
import { type BatchSource, lineReader, STAGE, sliceOf } from './load-sql.js';

/** DESIGN §9 tables, as DuckDB creates them. */
export const SCHEMA_SETUP = [
  `CREATE TABLE IF NOT EXISTS sluice._schema (
     source VARCHAR NOT NULL, stream VARCHAR NOT NULL, path VARCHAR NOT NULL, types VARCHAR[] NOT NULL, rows BIGINT NOT NULL,
     type_rows JSON, first_batch VARCHAR NOT NULL, last_batch VARCHAR NOT NULL, first_seen_at TIMESTAMPTZ NOT NULL,
     last_seen_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (source, stream, path))`,
  `CREATE TABLE IF NOT EXISTS sluice._schema_changes (
     source VARCHAR NOT NULL, stream VARCHAR NOT NULL, path VARCHAR NOT NULL, kind VARCHAR NOT NULL, types_before VARCHAR[] NOT NULL,
     types_after VARCHAR[] NOT NULL, batch_key VARCHAR NOT NULL, line_number BIGINT NOT NULL, run_id VARCHAR, changed_at TIMESTAMPTZ NOT NULL)`,
];

/** A path as a JSON pointer (RFC 6901), which DuckDB's JSON functions take: no name needs quoting there. */
const pointer = (segments: readonly string[]) => segments.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

/** DuckDB's names for JSON value types (`json_type`, `json_structure`), as DESIGN §9 names them. */
function jsonType(duck: string): JsonType {
  if (duck === 'VARCHAR') return 'string';
  if (duck === 'BOOLEAN') return 'boolean';
  if (duck === 'NULL') return 'null';
  if (duck === 'OBJECT' || duck === 'JSON') return 'object'; // json_structure says JSON for {} (nothing to merge)
  if (duck === 'ARRAY') return 'array';
  if (duck === 'DOUBLE' || duck === 'FLOAT') return 'number';
  if (/INT/.test(duck)) return 'integer';
  return 'string';
}
const DUCK_NAMES: Record<JsonType, string[]> = {
  string: ['VARCHAR'],
  integer: ['UBIGINT', 'BIGINT', 'HUGEINT', 'UHUGEINT'],
  number: ['DOUBLE'],
  boolean: ['BOOLEAN'],
  object: ['OBJECT'],
  array: ['ARRAY'],
  null: ['NULL'],
};

const GOOD = `FROM ${STAGE} WHERE reason IS NULL`;
const num = (v: DuckDBValue | undefined) => Number(v ?? 0);
const list = (v: DuckDBValue | undefined): DuckDBValue[] => [...((v as { items?: DuckDBValue[] } | null)?.items ?? [])];
const text = (v: DuckDBValue | undefined) => (v == null ? null : String(v));

/** The schema session of a DuckDB load. */
export interface DuckSchemaSession extends Omit<SchemaSession, 'write'> {
  /**
   * Before the load's transaction: at a stream's baseline (nothing known yet), reads the shapes of
   * the first lines of the group's first batch to guide the fingerprint, so that only the rows
   * unlike them need their whole structure read. Outside the transaction because a batch the line
   * reader refuses raises an error there, which would abort it (the load then cleans the batch).
   */
  guide(source: Pick<BatchSource, 'file' | 'compression'>, maxDepth: number): Promise<void>;
}

/**
 * The schema check of a DuckDB load, over the group's stage (`STAGE`: one row per line, `reason`
 * NULL for a good row whose JSON is `j`), on a connection beside the load's transaction (which
 * writes what it learnt: `writeDuckSchema`). A group usually brings nothing new, so
 * each good row gets a fingerprint: a hash of the types of the known paths and of the keys of the
 * known objects. The rows are grouped by it, in the query that computes it, and the first row of
 * each group tells what they all carry. (Computed in the grouping rather than kept in the stage:
 * a stage column costs more than the grouping does, as the stage holds every row's JSON beside it.) Only the rows holding a key the schema lacks
 * get a second pass that reads their whole structure (`json_structure`).
 * (Two different fingerprints sharing a 64-bit hash would be read as one: a chance of about
 * n²/2^65 for n distinct fingerprints, a few hundred at most.)
 */
export function duckSchemaSession(conn: DuckDBConnection, source: string, stream: string, slices = 1): DuckSchemaSession {
  let cached: Map<string, SchemaField> | undefined;
  let guided: Map<string, SchemaField> | undefined;
  const known = async () => {
    cached ??= await readKnown(conn, source, stream);
    return cached;
  };
  return {
    known,

    async guide(batch, maxDepth) {
      // Read before the transaction, kept for it: only this process writes the file, one group at a time.
      if ((await known()).size > 0) return;
      guided = await provisional(conn, batch, maxDepth).catch(() => undefined);
    },

    async observe(k, maxDepth) {
      const shapes = k.size > 0 ? k : (guided ?? k);
      const tree = shapes.size > 0 ? knownTree(shapes, maxDepth) : undefined;
      const checked = tree ? await check(conn, tree, slices) : undefined;
      if (checked && checked.novel.length === 0) return checked.observed;
      // The rows the check could not read (all of them at the baseline): their whole structure.
      const out: Observed = checked?.observed ?? new Map();
      const which = tree && checked ? ` AND ${fingerprintSql(tree)} IN (${checked.novel.join(', ')})` : '';
      // addStructure sums what each pass saw of a structure (rows, earliest row, first and last batch).
      for (let slice = 0; slice < slices; slice++) {
        const reader = await conn.runAndReadAll(
          `SELECT json_structure(j) AS s, count(*), min(f * 4294967296 + line_no), min(f), max(f) ${GOOD}${which}${sliceOf(slices, slice)} GROUP BY s`,
        );
        for (const [s, n, first, f0, f1] of reader.getRows()) {
          addStructure(out, structureTypes(JSON.parse(String(s)), maxDepth, jsonType), { rows: num(n), first: num(first), minF: num(f0), maxF: num(f1) });
        }
      }
      return out;
    },

    async reject(rules) {
      const when = rules.map((r) => `WHEN ${carries(r)} THEN ${ql(r.reason)}`).join(' ');
      const out = new Map<number, number>();
      for (let slice = 0; slice < slices; slice++) {
        const reader = await conn.runAndReadAll(
          `UPDATE ${STAGE} SET reason = CASE ${when} END, line = CAST(j AS VARCHAR), j = NULL
             WHERE reason IS NULL AND (${rules.map(carries).join(' OR ')})${sliceOf(slices, slice)} RETURNING f`,
        );
        for (const [f] of reader.getRows()) out.set(num(f), (out.get(num(f)) ?? 0) + 1);
      }
      return out;
    },
  };
}

/** `SchemaSession.write` for DuckDB: the stream's fields and drift, in the load's transaction (on its connection, not the session's). */
export async function writeDuckSchema(
  conn: DuckDBConnection,
  source: string,
  stream: string,
  fields: readonly SchemaField[],
  changes: readonly SchemaChange[],
): Promise<void> {
  if (fields.length > 0) {
    await conn.run(
      `INSERT INTO sluice._schema (source, stream, path, types, rows, type_rows, first_batch, last_batch, first_seen_at, last_seen_at)
           VALUES ${fields.map((f) => fieldValues(source, stream, f)).join(',\n')}
         ON CONFLICT (source, stream, path) DO UPDATE SET types = excluded.types, rows = excluded.rows, type_rows = excluded.type_rows,
           last_batch = excluded.last_batch, last_seen_at = excluded.last_seen_at`,
    );
  }
  if (changes.length > 0) {
    await conn.run(
      `INSERT INTO sluice._schema_changes (source, stream, path, kind, types_before, types_after, batch_key, line_number, run_id, changed_at)
           VALUES ${changes.map(changeValues).join(',\n')}`,
    );
  }
}

type Tree = ReturnType<typeof knownTree>;
const typesExpr = (tree: Tree, json = 'j') => `json_type(${json}, [${tree.paths.map((p) => ql(pointer(p.segments))).join(', ')}])`;
const keysExpr = (tree: Tree, json = 'j') => `json_keys(${json}, [${tree.objects.map((o) => ql(pointer(o.segments))).join(', ')}])`;
/** A row's fingerprint against the known schema laid out as `tree`, over its JSON `j` (see duckSchemaSession). */
export const fingerprintSql = (tree: Tree): string => `hash(${typesExpr(tree)}, ${keysExpr(tree)})`;

/**
 * The cheap pass: the good rows grouped by fingerprint, with the types and key counts of the
 * first row of each group. A group with a key the schema does not know, or an object where it
 * knows none, is `novel`: the full pass reads those rows.
 */
async function check(conn: DuckDBConnection, tree: Tree, slices: number): Promise<{ observed: Observed; novel: string[] }> {
  const observed: Observed = new Map();
  const novel = new Set<string>();
  // Every row of a fingerprint carries the same types and keys, so each pass reads a group alone;
  // addStructure sums what the passes saw of it.
  for (let slice = 0; slice < slices; slice++) {
    const reader = await conn.runAndReadAll(
      `SELECT sig, count(*), min(pos), min(f), max(f), ${typesExpr(tree, 'arg_min(j, pos)')}, ${keysExpr(tree, 'arg_min(j, pos)')}
         FROM (SELECT ${fingerprintSql(tree)} AS sig, f * 4294967296 + line_no AS pos, f, j ${GOOD}${sliceOf(slices, slice)}) GROUP BY sig`,
    );
    for (const [sig, n, first, f0, f1, typeList, keyList] of reader.getRows()) {
      const types = list(typeList).map((x) => (x == null ? undefined : jsonType(String(x))));
      const keys = list(keyList).map((x) => (x == null ? undefined : list(x).length));
      const present = tree.present(types);
      const unknownKey = tree.objects.some((o, i) => present.isObject(o.index) && (keys[i] ?? 0) > present.children(o.index));
      if (unknownKey || present.newObjects()) novel.add(String(sig));
      else addStructure(observed, present.pairs(), { rows: num(n), first: num(first), minF: num(f0), maxF: num(f1) });
    }
  }
  return { observed, novel: [...novel] };
}

/** Lines of the first batch whose shapes guide a baseline's fingerprint. */
const GUIDE_LINES = 256;

/**
 * A schema to fingerprint a stream's first group against: the paths and types of the first lines
 * of its first batch. Only a guide: the check that follows counts every row and reads the whole
 * structure of the rows it does not describe, so the baseline is exact whatever the guide missed.
 */
async function provisional(conn: DuckDBConnection, batch: Pick<BatchSource, 'file' | 'compression'>, maxDepth: number): Promise<Map<string, SchemaField>> {
  const reader = await conn.runAndReadAll(
    `SELECT DISTINCT json_structure(j) FROM (SELECT TRY_CAST(line AS JSON) AS j FROM ${lineReader(batch)} LIMIT ${GUIDE_LINES})
       WHERE json_type(j) = 'OBJECT'`,
  );
  return guideSchema(reader.getRows().flatMap(([s]) => [...structureTypes(JSON.parse(String(s)), maxDepth, jsonType)]));
}

async function readKnown(conn: DuckDBConnection, source: string, stream: string): Promise<Map<string, SchemaField>> {
  const reader = await conn.runAndReadAll(
    `SELECT path, types, rows, CAST(type_rows AS VARCHAR), first_batch, last_batch, epoch_ms(first_seen_at), epoch_ms(last_seen_at)
       FROM sluice._schema WHERE source = ${ql(source)} AND stream = ${ql(stream)}`,
  );
  return new Map(reader.getRows().map((r) => [String(r[0]), fieldOf(r)]));
}

/** SQL: a staged row carries the rule's path (with one of its types), every ancestor an object. */
function carries(r: FrozenRule): string {
  const parts = r.segments.slice(0, -1).map((_, i) => `json_type(j, ${ql(pointer(r.segments.slice(0, i + 1)))}) = 'OBJECT'`);
  const at = `json_type(j, ${ql(pointer(r.segments))})`;
  parts.push(
    r.types
      ? `${at} IN (${r.types
          .flatMap((t) => DUCK_NAMES[t])
          .map(ql)
          .join(', ')})`
      : `${at} IS NOT NULL`,
  );
  return `(${parts.join(' AND ')})`;
}

const typeList = (types: readonly string[]) => `[${types.map(ql).join(', ')}]::VARCHAR[]`;
const instant = (iso: string) => `TIMESTAMPTZ ${ql(iso)}`;

function fieldValues(source: string, stream: string, f: SchemaField): string {
  return `(${ql(source)}, ${ql(stream)}, ${ql(f.path)}, ${typeList(f.types)}, ${f.rows}, ${ql(JSON.stringify(f.typeRows))}::JSON, ${ql(f.firstBatch)}, ${ql(f.lastBatch)}, ${instant(f.firstSeenAt)}, ${instant(f.lastSeenAt)})`;
}

function changeValues(c: SchemaChange): string {
  return `(${ql(c.source)}, ${ql(c.stream)}, ${ql(c.path)}, ${ql(c.kind)}, ${typeList(c.typesBefore)}, ${typeList(c.typesAfter)}, ${ql(c.batch)}, ${c.line}, ${ql(c.runId)}, ${instant(c.at)})`;
}

function fieldOf(r: readonly (DuckDBValue | undefined)[]): SchemaField {
  const row: SchemaRow = {
    path: String(r[0]),
    types: list(r[1]).map(String),
    rows: num(r[2]),
    typeRows: text(r[3]),
    firstBatch: String(r[4]),
    lastBatch: String(r[5]),
    firstSeenMs: num(r[6]),
    lastSeenMs: num(r[7]),
  };
  return fieldsFromRows([row])[0]!;
}

/** `Warehouse.schema` for DuckDB. */
export async function readDuckSchema(conn: DuckDBConnection, source: string, stream: string): Promise<StreamSchema> {
  const fields = await readKnown(conn, source, stream);
  const loaded = await conn.runAndReadAll(`SELECT coalesce(sum(rows), 0) FROM sluice._loads WHERE source = ${ql(source)} AND stream = ${ql(stream)}`);
  return { rows: num(loaded.getRows()[0]?.[0] ?? 0), fields: [...fields.values()] };
}

/** `Warehouse.schemaChanges` for DuckDB: oldest first, the newest `limit`. */
export async function readDuckSchemaChanges(conn: DuckDBConnection, source: string, stream: string, limit = 100): Promise<SchemaChange[]> {
  const reader = await conn.runAndReadAll(
    `SELECT * FROM (SELECT path, kind, types_before, types_after, batch_key, line_number, run_id, epoch_ms(changed_at) AS changed_ms
       FROM sluice._schema_changes WHERE source = ${ql(source)} AND stream = ${ql(stream)} ORDER BY changed_at DESC, batch_key DESC, line_number DESC LIMIT ${limit})
     ORDER BY changed_ms, batch_key, line_number`,
  );
  return reader.getRows().map((r) => ({
    source,
    stream,
    path: String(r[0]),
    kind: String(r[1]) as SchemaChange['kind'],
    typesBefore: list(r[2]).map(String).filter(isJsonType),
    typesAfter: list(r[3]).map(String).filter(isJsonType),
    batch: String(r[4]),
    line: num(r[5]),
    runId: String(r[6] ?? ''),
    at: new Date(num(r[7])).toISOString(),
  }));
}

/** For each top-level field: whether every string value it holds in the raw table is an ISO-8601 time, and whether some carry an offset. */
export async function readDuckTimeFields(
  conn: DuckDBConnection,
  table: string,
  names: readonly string[],
): Promise<Map<string, { iso: boolean; offsets: boolean }>> {
  const out = new Map<string, { iso: boolean; offsets: boolean }>();
  if (names.length === 0) return out;
  const cols = names.map((name, i) => {
    const v = `(CASE WHEN json_type(data, ${ql(pointer([name]))}) = 'VARCHAR' THEN json_extract_string(data, ${ql(pointer([name]))}) END)`;
    return `count(${v}) AS n${i}, count(*) FILTER (WHERE ${v} IS NOT NULL AND NOT (regexp_full_match(${v}, ${ql(ISO_TIME)}) AND TRY_CAST(${v} AS TIMESTAMPTZ) IS NOT NULL)) AS bad${i},
      count(*) FILTER (WHERE regexp_full_match(${v}, ${ql(WITH_OFFSET)})) AS off${i}`;
  });
  const row = (await conn.runAndReadAll(`SELECT ${cols.join(', ')} FROM ${table}`)).getRows()[0] ?? [];
  names.forEach((name, i) => {
    const [n, bad, off] = [num(row[3 * i] ?? 0), num(row[3 * i + 1] ?? 0), num(row[3 * i + 2] ?? 0)];
    out.set(name, { iso: n > 0 && bad === 0, offsets: off > 0 });
  });
  return out;
}
