import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { isJsonType, type JsonType, type SchemaChange, type SchemaField, type StreamSchema } from '../../core/schema.js';
import { addStructure, type FrozenRule, type Observed, type SchemaSession } from '../schema-learn.js';
import { fieldsFromRows, ISO_TIME, knownTree, type SchemaRow, structureTypes, WITH_OFFSET } from '../schema-rows.js';
import { quoteLiteral as ql } from '../sql.js';

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

const STAGE = '_sluice_stage';
const GOOD = `FROM ${STAGE} WHERE reason IS NULL`;
const num = (v: DuckDBValue | undefined) => Number(v ?? 0);
const list = (v: DuckDBValue | undefined): DuckDBValue[] => [...((v as { items?: DuckDBValue[] } | null)?.items ?? [])];
const text = (v: DuckDBValue | undefined) => (v == null ? null : String(v));

/**
 * The load transaction's view of the schema, over the group's stage (`_sluice_stage`: one row per
 * line, `reason` NULL for a good row whose JSON is `j`). A group usually brings nothing new, so a
 * cheap check comes first: the types of the known paths and the number of keys of the known
 * objects, per row, grouped. Only when a row has more keys than the schema knows does a second
 * pass read each row's whole structure (`json_structure`), grouped the same way.
 */
export function duckSchemaSession(conn: DuckDBConnection, source: string, stream: string): SchemaSession {
  return {
    async known() {
      const reader = await conn.runAndReadAll(
        `SELECT path, types, rows, CAST(type_rows AS VARCHAR), first_batch, last_batch, epoch_ms(first_seen_at), epoch_ms(last_seen_at)
           FROM sluice._schema WHERE source = ${ql(source)} AND stream = ${ql(stream)}`,
      );
      return new Map(reader.getRows().map((r) => [String(r[0]), fieldOf(r)]));
    },

    async observe(known, maxDepth) {
      if (known.size > 0) {
        const checked = await check(conn, known, maxDepth);
        if (checked) return checked;
      }
      const out: Observed = new Map();
      const reader = await conn.runAndReadAll(`SELECT json_structure(j) AS s, count(*), min(f * 4294967296 + line_no), min(f), max(f) ${GOOD} GROUP BY s`);
      for (const [s, n, first, f0, f1] of reader.getRows()) {
        addStructure(out, structureTypes(JSON.parse(String(s)), maxDepth, jsonType), { rows: num(n), first: num(first), minF: num(f0), maxF: num(f1) });
      }
      return out;
    },

    async reject(rules) {
      const when = rules.map((r) => `WHEN ${carries(r)} THEN ${ql(r.reason)}`).join(' ');
      const reader = await conn.runAndReadAll(
        `UPDATE ${STAGE} SET reason = CASE ${when} END, line = CAST(j AS VARCHAR), j = NULL
           WHERE reason IS NULL AND (${rules.map(carries).join(' OR ')}) RETURNING f`,
      );
      const out = new Map<number, number>();
      for (const [f] of reader.getRows()) out.set(num(f), (out.get(num(f)) ?? 0) + 1);
      return out;
    },

    async write(fields, changes) {
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
    },
  };
}

/**
 * The cheap pass: per row, the type of every known path and the key count of every known object.
 * Returns undefined when some row has a key the schema does not know (the full pass then runs).
 */
async function check(conn: DuckDBConnection, known: ReadonlyMap<string, SchemaField>, maxDepth: number): Promise<Observed | undefined> {
  const tree = knownTree(known, maxDepth);
  const reader = await conn.runAndReadAll(
    `SELECT json_type(j, [${tree.paths.map((p) => ql(pointer(p.segments))).join(', ')}]) AS t,
       list_transform(json_keys(j, [${tree.objects.map((o) => ql(pointer(o.segments))).join(', ')}]), k -> len(k)) AS kl,
       count(*), min(f * 4294967296 + line_no), min(f), max(f)
     ${GOOD} GROUP BY ALL`,
  );
  const out: Observed = new Map();
  for (const [t, kl, n, first, f0, f1] of reader.getRows()) {
    const types = list(t).map((x) => (x == null ? undefined : jsonType(String(x))));
    const keys = list(kl).map((x) => (x == null ? undefined : num(x)));
    const present = tree.present(types);
    // A key the schema lacks, or an object where the schema knows none (its fields are unknown): the full pass.
    if (tree.objects.some((o, i) => present.isObject(o.index) && (keys[i] ?? 0) > present.children(o.index))) return undefined;
    if (present.newObjects()) return undefined;
    addStructure(out, present.pairs(), { rows: num(n), first: num(first), minF: num(f0), maxF: num(f1) });
  }
  return out;
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
  const fields = await duckSchemaSession(conn, source, stream).known();
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
