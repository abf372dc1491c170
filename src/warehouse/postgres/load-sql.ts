import { randomBytes } from 'node:crypto';
import { rawTableName } from '../../core/tables.js';
import type { TableSpec } from '../../core/warehouse.js';
import { REJECT } from '../reject-reasons.js';
import { quoteIdent as qi, quoteLiteral as ql } from '../sql.js';

/** DESIGN §7, the same columns as every warehouse. Run once per connection, under a lock. */
export const SETUP_SQL = [
  'CREATE SCHEMA IF NOT EXISTS raw',
  'CREATE SCHEMA IF NOT EXISTS sluice',
  `CREATE TABLE IF NOT EXISTS sluice._loads (
     batch_key text PRIMARY KEY, source text NOT NULL, stream text NOT NULL, version text, size bigint,
     rows bigint NOT NULL, rejected bigint NOT NULL, run_id text, loaded_at timestamptz NOT NULL, checksum text)`,
  `CREATE TABLE IF NOT EXISTS sluice._rejects (
     batch_key text NOT NULL, line_number bigint NOT NULL, reason text NOT NULL, line text, run_id text,
     rejected_at timestamptz NOT NULL)`,
];

/**
 * What the tables may lack: indexes, and the checksum column of a ledger from before checksums
 * were kept. Asked first, because CREATE INDEX and ALTER TABLE lock the table even when they have
 * nothing to do, so opening the warehouse would wait for every running load. The catalog is
 * read directly: information_schema's view of it takes longer than the rest of the opening.
 */
export const SETUP_MISSING_SQL = `SELECT to_regclass('sluice._loads_stream') IS NULL AS loads_index, to_regclass('sluice._rejects_batch') IS NULL AS rejects_index,
  NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'sluice._loads'::regclass AND attname = 'checksum' AND NOT attisdropped) AS checksum`;
export const SETUP_IF_MISSING = {
  loads_index: 'CREATE INDEX IF NOT EXISTS _loads_stream ON sluice._loads (source, stream)',
  rejects_index: 'CREATE INDEX IF NOT EXISTS _rejects_batch ON sluice._rejects (batch_key)',
  checksum: 'ALTER TABLE sluice._loads ADD COLUMN IF NOT EXISTS checksum text',
} as const;

export const rawTable = (t: TableSpec): string => `raw.${qi(rawTableName(t.source, t.stream))}`;

export function createTableSql(t: TableSpec): string {
  const keys = t.primaryKey.map((k) => `${qi(k)} text NOT NULL`).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${rawTable(t)} (${keys}, data jsonb NOT NULL, _sluice_partition timestamp, _sluice_batch text NOT NULL, _sluice_loaded_at timestamptz NOT NULL, PRIMARY KEY (${t.primaryKey.map(qi).join(', ')}))`;
}

const staged = (t: TableSpec) => t.primaryKey.map((_, i) => `_k${i}`);

/**
 * A name for one transaction's stage: a plain (unlogged) table, not a temp one, because PostgreSQL
 * scans temp tables in the leader only (the schema check runs on parallel workers) and keeps them
 * in the backend's local buffers, where the COPY into them was more than twice as slow. Created
 * and dropped inside the load's transaction, it is never committed: a killed load leaves nothing
 * behind, and no other session ever sees it.
 */
export const stageName = (): string => `sluice._sluice_stage_${randomBytes(6).toString('hex')}`;

/** The group's batches, by their number in the group. */
export const BATCHES_SQL = 'CREATE TEMP TABLE _sluice_batches (b int PRIMARY KEY, batch_key text NOT NULL, partition_at timestamp NOT NULL) ON COMMIT DROP';

/**
 * The group's parsed rows. The stage works out each row's key once, as the COPY writes it; a line
 * that is not an object or lacks its key fails the COPY (as bad JSON does), and sends the group to
 * the checked path.
 */
export const stageSql = (t: TableSpec, stage: string): string =>
  `CREATE UNLOGGED TABLE ${stage} (b int NOT NULL, n bigint NOT NULL, j jsonb NOT NULL CHECK (jsonb_typeof(j) = 'object'),
     ${t.primaryKey.map((k, i) => `_k${i} text NOT NULL GENERATED ALWAYS AS (j ->> ${ql(k)}) STORED`).join(',\n     ')})`;

/** The group straight into the table (see `straightIn`): the columns as `copyRawRows` writes them. */
export const copyRawSql = (t: TableSpec): string =>
  `COPY ${rawTable(t)} (data, _sluice_partition, _sluice_batch, _sluice_loaded_at, ${t.primaryKey.map(qi).join(', ')}) FROM STDIN (FORMAT binary)`;
export const INSERT_BATCHES_SQL =
  'INSERT INTO pg_temp._sluice_batches (b, batch_key, partition_at) SELECT * FROM unnest($1::int[], $2::text[], $3::timestamp[])';

/** Fast path: PostgreSQL parses every line as jsonb while it copies; one bad line fails the COPY. */
export const copyJsonbSql = (stage: string): string => `COPY ${stage} (b, n, j) FROM STDIN (FORMAT binary)`;

/**
 * Checked path, for a group with bad lines: copy the lines as text, then sort each into a row or
 * a reject with its reason. The cast is tried line by line in a function that catches the error
 * (PostgreSQL before 16 has no error-free cast).
 */
export const LINES_SQL = 'CREATE TEMP TABLE _sluice_lines (b int NOT NULL, n bigint NOT NULL, line text NOT NULL, note text) ON COMMIT DROP';
export const COPY_TEXT_SQL = 'COPY pg_temp._sluice_lines (b, n, line, note) FROM STDIN';
export const classifySql = (t: TableSpec, stage: string): string[] => [
  `CREATE OR REPLACE FUNCTION pg_temp.sluice_try_jsonb(t text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
     BEGIN RETURN t::jsonb; EXCEPTION WHEN others THEN RETURN NULL; END $$`,
  `CREATE TEMP TABLE _sluice_checked ON COMMIT DROP AS
     SELECT b, n, line, j, CASE WHEN note IS NOT NULL THEN note
       WHEN j IS NULL OR jsonb_typeof(j) <> 'object' THEN ${ql(REJECT.notObject)}
       ${t.primaryKey.map((k) => `WHEN j ->> ${ql(k)} IS NULL THEN ${ql(REJECT.missingKey(k))}`).join('\n       ')} END AS reason
     FROM (SELECT b, n, line, note, CASE WHEN note IS NULL THEN pg_temp.sluice_try_jsonb(line) END AS j FROM pg_temp._sluice_lines) x`,
  `INSERT INTO ${stage} (b, n, j) SELECT b, n, j FROM pg_temp._sluice_checked WHERE reason IS NULL`,
];
export const CHECKED_COUNTS_SQL =
  'SELECT b, count(*) FILTER (WHERE reason IS NULL)::int AS rows, count(*) FILTER (WHERE reason IS NOT NULL)::int AS rejected FROM pg_temp._sluice_checked GROUP BY b';

export const DELETE_REJECTS_SQL = 'DELETE FROM sluice._rejects WHERE batch_key IN (SELECT batch_key FROM pg_temp._sluice_batches)';
export const INSERT_REJECTS_SQL = `INSERT INTO sluice._rejects (batch_key, line_number, reason, line, run_id, rejected_at)
  SELECT t.batch_key, c.n, c.reason, c.line, $1, now() FROM pg_temp._sluice_checked c JOIN pg_temp._sluice_batches t USING (b) WHERE c.reason IS NOT NULL`;

/** Whether the group holds a key twice (the merge must then keep its last line). */
export const groupDupsSql = (t: TableSpec, stage: string): string =>
  `SELECT EXISTS (SELECT 1 FROM ${stage} GROUP BY ${staged(t).join(', ')} HAVING count(*) > 1) AS dups`;

/**
 * The group's rows into the table. `insert`: no key repeats and none is in the table yet.
 * `upsert`: update the keys the table holds. `dedupe`: also a key seen twice in the group, which
 * keeps its last line (latest batch, then latest line).
 */
export function mergeSql(t: TableSpec, how: 'insert' | 'upsert' | 'dedupe', stage: string): string {
  const cols = t.primaryKey.map(qi).join(', ');
  const ks = staged(t)
    .map((k) => `s.${k}`)
    .join(', ');
  const dedupe = how === 'dedupe';
  const insert = `INSERT INTO ${rawTable(t)} (${cols}, data, _sluice_partition, _sluice_batch, _sluice_loaded_at)
  SELECT ${dedupe ? `DISTINCT ON (${ks}) ` : ''}${ks}, s.j, t.partition_at, t.batch_key, now()
  FROM ${stage} s JOIN pg_temp._sluice_batches t USING (b)`;
  if (how === 'insert') return insert;
  return `${insert}${dedupe ? `\n  ORDER BY ${ks}, s.b DESC, s.n DESC` : ''}
  ON CONFLICT (${cols}) DO UPDATE SET data = excluded.data, _sluice_partition = excluded._sluice_partition,
    _sluice_batch = excluded._sluice_batch, _sluice_loaded_at = excluded._sluice_loaded_at`;
}

export const LEDGER_RECHECK_SQL = 'SELECT batch_key, version, checksum FROM sluice._loads WHERE batch_key = ANY($1::text[])';
export const INSERT_LEDGER_SQL = `INSERT INTO sluice._loads (batch_key, source, stream, version, checksum, size, rows, rejected, run_id, loaded_at)
  SELECT k, $1, $2, v, c, s, r, x, $3, now() FROM unnest($4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[]) AS u(k, v, c, s, r, x)
  ON CONFLICT (batch_key) DO UPDATE SET source = excluded.source, stream = excluded.stream, version = excluded.version, checksum = excluded.checksum,
    size = excluded.size, rows = excluded.rows, rejected = excluded.rejected, run_id = excluded.run_id, loaded_at = excluded.loaded_at`;

/** `Warehouse.recordVersions`: a guarded update of version or checksum, nothing else. */
export const RECORD_VERSIONS_SQL = `UPDATE sluice._loads AS l SET version = s.v, checksum = s.c
  FROM unnest($3::text[], $4::text[], $5::text[]) AS s(k, v, c)
  WHERE l.batch_key = s.k AND l.source = $1 AND l.stream = $2 AND (l.checksum = s.c OR (l.checksum IS NULL AND l.version = s.v))`;
