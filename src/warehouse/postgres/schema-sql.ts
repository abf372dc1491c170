import type pg from 'pg';
import { formatPath, isJsonType, type JsonType, type SchemaChange, type SchemaField, type StreamSchema } from '../../core/schema.js';
import { addStructure, type FrozenRule, type Observed, type SchemaSession } from '../schema-learn.js';
import { fieldsFromRows, guideSchema, ISO_TIME, knownTree, WITH_OFFSET } from '../schema-rows.js';
import { quoteLiteral as ql } from '../sql.js';

/** DESIGN §9 tables, as PostgreSQL creates them (with the other setup, under its lock). */
export const SCHEMA_SETUP_SQL = [
  `CREATE TABLE IF NOT EXISTS sluice._schema (
     source text NOT NULL, stream text NOT NULL, path text NOT NULL, types text[] NOT NULL, rows bigint NOT NULL, type_rows jsonb,
     first_batch text NOT NULL, last_batch text NOT NULL, first_seen_at timestamptz NOT NULL, last_seen_at timestamptz NOT NULL,
     PRIMARY KEY (source, stream, path))`,
  `CREATE TABLE IF NOT EXISTS sluice._schema_changes (
     source text NOT NULL, stream text NOT NULL, path text NOT NULL, kind text NOT NULL, types_before text[] NOT NULL,
     types_after text[] NOT NULL, batch_key text NOT NULL, line_number bigint NOT NULL, run_id text, changed_at timestamptz NOT NULL)`,
];

/** Lines a frozen contract rejected, until the load writes them to `sluice._rejects` (see load-group.ts). */
export const FROZEN = 'pg_temp._sluice_frozen';

/** jsonb_typeof, with numbers told apart: an integer is written without a fraction (jsonb keeps `2.0` as written). */
const typeOf = (v: string) =>
  `CASE jsonb_typeof(${v}) WHEN 'number' THEN CASE WHEN scale((${v})::numeric) = 0 THEN 'integer' ELSE 'number' END ELSE jsonb_typeof(${v}) END`;
/** The check's codes: the last two letters of jsonb_typeof, `in`/`nu` for whole and other numbers, `--` for absent. */
const CODE: Record<string, JsonType | 'novel' | undefined> = {
  ng: 'string',
  in: 'integer',
  nu: 'number',
  an: 'boolean',
  ct: 'object',
  ay: 'array',
  ll: 'null',
  er: 'novel',
  '--': undefined,
};
const textArray = (segments: readonly string[]) => `ARRAY[${segments.map(ql).join(', ')}]::text[]`;
/** A staged row's value at a path: `->` per segment, a fifth cheaper than `#>`, which unpacks its text[] path on every call. */
const valueAt = (segments: readonly string[]) => (segments.length === 0 ? 's.j' : `(s.j${segments.map((k) => ` -> ${ql(k)}`).join('')})`);
const POSITION = 's.b::bigint * 4294967296 + s.n';

/**
 * The load transaction's view of the schema, over the group's good rows (`stage`, `j jsonb`).
 * `scanned`: what the COPY's scan read of those rows (structure-scan.ts), the first answer when
 * given. Otherwise, and once a frozen contract has moved rows out: a cheap check first (the type
 * of each known path and whether each known object holds other keys, per row, grouped); only the
 * rows it cannot read (a key the schema lacks) are walked with `jsonb_each`, down to the depth.
 */
export function pgSchemaSession(c: pg.Client, source: string, stream: string, stage: string, scanned?: Observed): SchemaSession {
  let first = scanned;
  return {
    known: () => readKnown(c, source, stream),

    async observe(known, maxDepth) {
      if (first) {
        const observed = first;
        first = undefined;
        return observed;
      }
      // At the baseline, walking every row is slow: the first rows give a provisional schema to check the others against.
      const guide = known.size > 0 ? known : await provisional(c, stage, maxDepth);
      const checked = guide.size > 0 ? await check(c, stage, knownTree(guide, maxDepth)) : undefined;
      if (checked && checked.novel.length === 0) return checked.observed;
      // The rows the check could not read: every path, walked.
      const out: Observed = checked?.observed ?? new Map();
      const rows = checked
        ? `(SELECT s.* FROM ${stage} s WHERE (${checked.sig.t}, ${checked.sig.k}) IN (${checked.novel.map(([t, k]) => `(${ql(t)}, ${ql(k)})`).join(', ')}))`
        : stage;
      for (const r of await walk(c, rows, maxDepth)) addStructure(out, [[r.path, r.type]], r);
      return out;
    },

    async reject(rules) {
      await c.query(
        `CREATE TEMP TABLE IF NOT EXISTS _sluice_frozen (b int NOT NULL, n bigint NOT NULL, line text NOT NULL, reason text NOT NULL) ON COMMIT DROP`,
      );
      const when = rules.map((r) => `WHEN ${carries(r)} THEN ${ql(r.reason)}`).join(' ');
      const gone = await c.query<{ b: number; n: string }>(
        `WITH gone AS (DELETE FROM ${stage} s WHERE ${rules.map(carries).join(' OR ')} RETURNING s.b, s.n, s.j::text AS line, CASE ${when} END AS reason),
           kept AS (INSERT INTO ${FROZEN} (b, n, line, reason) SELECT b, n, line, reason FROM gone)
         SELECT b, count(*) AS n FROM gone GROUP BY b`,
      );
      return new Map(gone.rows.map((r) => [r.b, Number(r.n)]));
    },

    async write(fields, changes) {
      if (fields.length > 0) {
        await c.query(
          `INSERT INTO sluice._schema (source, stream, path, types, rows, type_rows, first_batch, last_batch, first_seen_at, last_seen_at)
           SELECT $1, $2, path, types, rows, type_rows, first_batch, last_batch, first_seen_at, last_seen_at
             FROM jsonb_to_recordset($3::jsonb) AS x(path text, types text[], rows bigint, type_rows jsonb, first_batch text, last_batch text,
               first_seen_at timestamptz, last_seen_at timestamptz)
           ON CONFLICT (source, stream, path) DO UPDATE SET types = excluded.types, rows = excluded.rows, type_rows = excluded.type_rows,
             last_batch = excluded.last_batch, last_seen_at = excluded.last_seen_at`,
          [source, stream, JSON.stringify(fields.map(fieldRecord))],
        );
      }
      if (changes.length > 0) {
        await c.query(
          `INSERT INTO sluice._schema_changes (source, stream, path, kind, types_before, types_after, batch_key, line_number, run_id, changed_at)
           SELECT $1, $2, path, kind, types_before, types_after, batch_key, line_number, run_id, changed_at
             FROM jsonb_to_recordset($3::jsonb) AS x(path text, kind text, types_before text[], types_after text[], batch_key text, line_number bigint,
               run_id text, changed_at timestamptz)`,
          [source, stream, JSON.stringify(changes.map(changeRecord))],
        );
      }
    },
  };
}

type Tree = ReturnType<typeof knownTree>;

/**
 * The cheap pass: per row, a two-letter code for the type of each known path (whole numbers told
 * apart on paths known to hold numbers; elsewhere a number is novel) and, per known object,
 * whether it holds a key beyond the known ones; grouped. A group with a new key, a new object or
 * a number on a path that never held one is `novel`: the full pass walks those rows.
 * The fingerprints are grouped as they are computed, never stored: keeping one per row in a temp
 * table cost a quarter of the check, while the rare novel rows are cheap to fingerprint again.
 */
async function check(c: pg.Client, stage: string, tree: Tree): Promise<{ observed: Observed; novel: Array<[string, string]>; sig: { t: string; k: string } }> {
  const numeric = tree.paths.map((p) => p.numeric);
  const codes = tree.paths.map((p, i) => {
    const v = valueAt(p.segments);
    const plain = `coalesce(right(jsonb_typeof(${v}), 2), '--')`;
    return numeric[i] ? `CASE jsonb_typeof(${v}) WHEN 'number' THEN CASE WHEN scale((${v})::numeric) = 0 THEN 'in' ELSE 'nu' END ELSE ${plain} END` : plain;
  });
  const flags = tree.objects.map((o) => {
    const v = valueAt(o.segments);
    const kids = tree.paths.filter((p) => p.parent === o.index).map((p) => p.segments.at(-1)!);
    return `CASE WHEN jsonb_typeof(${v}) = 'object' AND ${v} - ${textArray(kids)} <> '{}'::jsonb THEN '1' ELSE '0' END`;
  });
  const sig = { t: concatOf(codes), k: concatOf(flags) };
  const grouped = await c.query<{ t: string; k: string; n: string; first: string; f0: number; f1: number }>(
    `SELECT ${sig.t} AS t, ${sig.k} AS k, count(*) AS n, min(${POSITION}) AS first, min(s.b) AS f0, max(s.b) AS f1 FROM ${stage} s GROUP BY 1, 2`,
  );
  const observed: Observed = new Map();
  const novel: Array<[string, string]> = [];
  for (const r of grouped.rows) {
    const types = tree.paths.map((_, i) => CODE[r.t.slice(2 * i, 2 * i + 2)]);
    const present = tree.present(types.map((x) => (x === 'novel' ? undefined : x)));
    if (r.k.includes('1') || types.includes('novel') || present.newObjects()) novel.push([r.t, r.k]);
    else addStructure(observed, present.pairs(), { rows: Number(r.n), first: Number(r.first), minF: r.f0, maxF: r.f1 });
  }
  return { observed, novel, sig };
}

/** PostgreSQL's limit on a function's arguments (FUNC_MAX_ARGS). */
const MAX_ARGS = 100;

/** `concat` of any number of expressions: past the argument limit, in nested groups (a stream may keep 2,000 paths). */
function concatOf(exprs: readonly string[]): string {
  if (exprs.length === 0) return "''";
  if (exprs.length <= MAX_ARGS) return `concat(${exprs.join(', ')})`;
  const groups: string[] = [];
  for (let i = 0; i < exprs.length; i += MAX_ARGS) groups.push(concatOf(exprs.slice(i, i + MAX_ARGS)));
  return concatOf(groups);
}

/** Rows walked to guess the schema at a stream's baseline. */
const GUIDE_ROWS = 256;

/**
 * A schema from some of the stage's rows, to check the rest against (their own counts come from
 * the check). Any rows do, so the first a scan meets: sorting the stage to find its first lines
 * cost more than the walk.
 */
async function provisional(c: pg.Client, stage: string, maxDepth: number): Promise<Map<string, SchemaField>> {
  const rows = await walk(c, `(SELECT * FROM ${stage} LIMIT ${GUIDE_ROWS})`, maxDepth);
  return guideSchema(rows.map((r) => [r.path, r.type] as const));
}

/** Every path (to the depth) and type of the rows of `from`, with their statistics. */
async function walk(c: pg.Client, from: string, maxDepth: number) {
  const walked = await c.query<{ segs: string[]; t: string; n: string; first: string; f0: number; f1: number }>(
    `WITH RECURSIVE walk(b, n, segs, v) AS (
       SELECT s.b, s.n, ARRAY[e.key], e.value FROM ${from} s, jsonb_each(s.j) e
       UNION ALL
       SELECT w.b, w.n, w.segs || e.key, e.value FROM walk w, jsonb_each(w.v) e WHERE cardinality(w.segs) < $1 AND jsonb_typeof(w.v) = 'object')
     SELECT segs, ${typeOf('v')} AS t, count(*) AS n, min(b::bigint * 4294967296 + n) AS first, min(b) AS f0, max(b) AS f1 FROM walk GROUP BY 1, 2`,
    [maxDepth],
  );
  return walked.rows.flatMap((r) =>
    isJsonType(r.t) ? [{ path: formatPath(r.segs), type: r.t, rows: Number(r.n), first: Number(r.first), minF: r.f0, maxF: r.f1 }] : [],
  );
}

/** SQL: a staged row carries the rule's path (with one of its types), every ancestor an object. */
function carries(r: FrozenRule): string {
  const parts = r.segments.slice(0, -1).map((_, i) => `jsonb_typeof(${valueAt(r.segments.slice(0, i + 1))}) = 'object'`);
  const at = valueAt(r.segments);
  parts.push(r.types ? `${typeOf(at)} IN (${r.types.map(ql).join(', ')})` : `${at} IS NOT NULL`);
  return `(${parts.join(' AND ')})`;
}

const fieldRecord = (f: SchemaField) => ({
  path: f.path,
  types: f.types,
  rows: f.rows,
  type_rows: f.typeRows,
  first_batch: f.firstBatch,
  last_batch: f.lastBatch,
  first_seen_at: f.firstSeenAt,
  last_seen_at: f.lastSeenAt,
});

const changeRecord = (ch: SchemaChange) => ({
  path: ch.path,
  kind: ch.kind,
  types_before: ch.typesBefore,
  types_after: ch.typesAfter,
  batch_key: ch.batch,
  line_number: ch.line,
  run_id: ch.runId,
  changed_at: ch.at,
});

interface KnownRow {
  path: string;
  types: string[];
  rows: string;
  type_rows: Record<string, unknown> | null;
  first_batch: string;
  last_batch: string;
  first_seen_at: Date;
  last_seen_at: Date;
}

async function readKnown(c: pg.Client, source: string, stream: string): Promise<Map<string, SchemaField>> {
  const found = await c.query<KnownRow>('SELECT * FROM sluice._schema WHERE source = $1 AND stream = $2', [source, stream]);
  const fields = fieldsFromRows(
    found.rows.map((r) => ({
      path: r.path,
      types: r.types,
      rows: Number(r.rows),
      typeRows: r.type_rows,
      firstBatch: r.first_batch,
      lastBatch: r.last_batch,
      firstSeenMs: r.first_seen_at.getTime(),
      lastSeenMs: r.last_seen_at.getTime(),
    })),
  );
  return new Map(fields.map((f) => [f.path, f]));
}

/** `Warehouse.schema` for PostgreSQL. */
export async function readPgSchema(c: pg.Client, source: string, stream: string): Promise<StreamSchema> {
  const fields = await readKnown(c, source, stream);
  const loaded = await c.query<{ n: string }>('SELECT coalesce(sum(rows), 0) AS n FROM sluice._loads WHERE source = $1 AND stream = $2', [source, stream]);
  return { rows: Number(loaded.rows[0]?.n ?? 0), fields: [...fields.values()] };
}

/** `Warehouse.schemaChanges` for PostgreSQL: oldest first, the newest `limit`. */
export async function readPgSchemaChanges(c: pg.Client, source: string, stream: string, limit = 100): Promise<SchemaChange[]> {
  const found = await c.query<{
    path: string;
    kind: string;
    types_before: string[];
    types_after: string[];
    batch_key: string;
    line_number: string;
    run_id: string | null;
    changed_at: Date;
  }>(
    `SELECT * FROM (SELECT * FROM sluice._schema_changes WHERE source = $1 AND stream = $2 ORDER BY changed_at DESC, batch_key DESC, line_number DESC LIMIT $3) x
     ORDER BY changed_at, batch_key, line_number`,
    [source, stream, limit],
  );
  return found.rows.map((r) => ({
    source,
    stream,
    path: r.path,
    kind: r.kind as SchemaChange['kind'],
    typesBefore: r.types_before.filter(isJsonType),
    typesAfter: r.types_after.filter(isJsonType),
    batch: r.batch_key,
    line: Number(r.line_number),
    runId: r.run_id ?? '',
    at: r.changed_at.toISOString(),
  }));
}

/** For each top-level field: whether every string value it holds in the raw table is an ISO-8601 time, and whether some carry an offset. */
export async function readPgTimeFields(c: pg.Client, table: string, names: readonly string[]): Promise<Map<string, { iso: boolean; offsets: boolean }>> {
  const out = new Map<string, { iso: boolean; offsets: boolean }>();
  if (names.length === 0) return out;
  const cols = names.map((name, i) => {
    const v = `(CASE WHEN jsonb_typeof(data -> ${ql(name)}) = 'string' THEN data ->> ${ql(name)} END)`;
    return `count(${v}) AS n${i}, count(*) FILTER (WHERE ${v} !~ ${ql(`^(${ISO_TIME})$`)}) AS bad${i}, count(*) FILTER (WHERE ${v} ~ ${ql(`^(${WITH_OFFSET})$`)}) AS off${i}`;
  });
  const row = (await c.query<Record<string, string>>(`SELECT ${cols.join(', ')} FROM ${table}`)).rows[0] ?? {};
  names.forEach((name, i) => {
    const n = Number(row[`n${i}`] ?? 0);
    out.set(name, { iso: n > 0 && Number(row[`bad${i}`] ?? 0) === 0, offsets: Number(row[`off${i}`] ?? 0) > 0 });
  });
  return out;
}
