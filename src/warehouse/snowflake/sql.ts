import type { BatchToLoad, TableSpec } from '../../core/warehouse.js';
import { REJECT } from '../pending.js';
import { rawTableName, timestampText } from '../sql.js';

/**
 * Snowflake SQL text. Plain names are written upper-case and quoted, which is how Snowflake
 * stores unquoted names, so `raw.github_events` and `data` work unquoted in any query; a name
 * that is not plain (`$insert_id`) keeps its exact spelling.
 */
export const sfIdent = (name: string): string => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `"${name.toUpperCase()}"` : `"${name.replace(/"/g, '""')}"`);

/** A string literal: Snowflake reads backslash escapes inside quotes. */
export const sfString = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** Each line of a batch is one record of one text column, exactly as it stands in the file. */
export const LINES_FORMAT =
  "TYPE = CSV FIELD_DELIMITER = NONE RECORD_DELIMITER = '\\n' SKIP_HEADER = 0 FIELD_OPTIONALLY_ENCLOSED_BY = NONE ESCAPE = NONE ESCAPE_UNENCLOSED_FIELD = NONE SKIP_BLANK_LINES = FALSE EMPTY_FIELD_AS_NULL = FALSE TRIM_SPACE = FALSE ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE REPLACE_INVALID_CHARACTERS = TRUE ENCODING = 'UTF8' COMPRESSION = GZIP";

export const LOADS = '"SLUICE"."_LOADS"';
export const REJECTS = '"SLUICE"."_REJECTS"';
export const LOCKS = '"SLUICE"."_LOCKS"';
const LINES = '"SLUICE"."_SLUICE_LINES"';

export const rawTable = (t: TableSpec): string => `"RAW".${sfIdent(rawTableName(t.source, t.stream))}`;
const parsedTable = (t: TableSpec): string => `"SLUICE".${sfIdent(`_sluice_parsed_${rawTableName(t.source, t.stream)}`)}`;
const keyCols = (t: TableSpec) => t.primaryKey.map(sfIdent).join(', ');
const list = (values: readonly string[]) => values.map(sfString).join(', ');

/** Schemas and ledger tables (DESIGN §7), created on first use; DDL commits on its own in Snowflake. */
export const SETUP_SQL = [
  'CREATE SCHEMA IF NOT EXISTS "RAW"',
  'CREATE SCHEMA IF NOT EXISTS "SLUICE"',
  `CREATE TABLE IF NOT EXISTS ${LOADS} ("BATCH_KEY" VARCHAR NOT NULL PRIMARY KEY, "SOURCE" VARCHAR NOT NULL, "STREAM" VARCHAR NOT NULL, "VERSION" VARCHAR, "SIZE" NUMBER, "ROWS" NUMBER NOT NULL, "REJECTED" NUMBER NOT NULL, "RUN_ID" VARCHAR, "LOADED_AT" TIMESTAMP_TZ NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS ${REJECTS} ("BATCH_KEY" VARCHAR NOT NULL, "LINE_NUMBER" NUMBER NOT NULL, "REASON" VARCHAR NOT NULL, "LINE" VARCHAR, "RUN_ID" VARCHAR, "REJECTED_AT" TIMESTAMP_TZ NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS ${LOCKS} ("TABLE_NAME" VARCHAR NOT NULL PRIMARY KEY, "LOCKED_AT" TIMESTAMP_TZ)`,
];

/** The raw table and this session's staging tables: run before the transaction, since DDL commits. */
export function tableSql(t: TableSpec): string[] {
  const keys = t.primaryKey.map((k) => `${sfIdent(k)} VARCHAR NOT NULL`).join(', ');
  const staged = t.primaryKey.map((_, i) => `"K${i}" VARCHAR`).join(', ');
  return [
    `CREATE TABLE IF NOT EXISTS ${rawTable(t)} (${keys}, "DATA" VARIANT, "_SLUICE_PARTITION" TIMESTAMP_NTZ, "_SLUICE_BATCH" VARCHAR, "_SLUICE_LOADED_AT" TIMESTAMP_TZ, PRIMARY KEY (${keyCols(t)}))`,
    `CREATE TEMPORARY TABLE IF NOT EXISTS ${LINES} ("LINE" VARCHAR, "FILE_NAME" VARCHAR, "LINE_NO" NUMBER)`,
    `CREATE TEMPORARY TABLE IF NOT EXISTS ${parsedTable(t)} ("BATCH_KEY" VARCHAR, "SEQ" NUMBER, "PARTITION_AT" TIMESTAMP_NTZ, "LINE_NO" NUMBER, "LINE" VARCHAR, "V" VARIANT, ${staged}, "REASON" VARCHAR)`,
  ];
}

/** Loads of one table wait for each other: a MERGE holds the lock row's table until commit. */
export const lockSql = (t: TableSpec): string =>
  `MERGE INTO ${LOCKS} T USING (SELECT ${sfString(rawTable(t))} AS "TABLE_NAME") S ON T."TABLE_NAME" = S."TABLE_NAME" WHEN MATCHED THEN UPDATE SET "LOCKED_AT" = CURRENT_TIMESTAMP() WHEN NOT MATCHED THEN INSERT ("TABLE_NAME", "LOCKED_AT") VALUES (S."TABLE_NAME", CURRENT_TIMESTAMP())`;

export const recheckSql = (keys: readonly string[]): string => `SELECT "BATCH_KEY", "VERSION" FROM ${LOADS} WHERE "BATCH_KEY" IN (${list(keys)})`;

export const ledgerSql = (source: string, stream: string): string =>
  `SELECT "BATCH_KEY", "VERSION", "SIZE" FROM ${LOADS} WHERE "SOURCE" = ${sfString(source)} AND "STREAM" = ${sfString(stream)}`;

export interface StageRef {
  /** The schema of the external stage (the `schema` setting). */
  schema: string;
  stage: string;
}

/**
 * Reads the group's batches into the staging tables: Snowflake's engine fetches them from the
 * external stage over the storage bucket (the keys are the stage paths), and every non-blank line
 * is parsed once, judged, and given its key. The staging table is temporary, so Snowflake's own
 * load history never skips a file here: the ledger, checked under the lock, is what decides.
 */
export function stageSql(t: TableSpec, todo: readonly BatchToLoad[], where: StageRef): string[] {
  const batches = todo.map((b, i) => `(${sfString(b.key)}, ${i}, ${sfString(timestampText(b.partitionMs))})`).join(', ');
  const keys = t.primaryKey
    .map((k, i) => `IFF(IS_OBJECT(V) AND NOT IS_NULL_VALUE(GET(V, ${sfString(k)})), GET(V, ${sfString(k)})::VARCHAR, NULL) AS "K${i}"`)
    .join(', ');
  const reason = `CASE WHEN V IS NULL OR NOT IS_OBJECT(V) THEN ${sfString(REJECT.notObject)} ${t.primaryKey
    .map((k, i) => `WHEN "K${i}" IS NULL THEN ${sfString(REJECT.missingKey(k))}`)
    .join(' ')} END`;
  const staged = t.primaryKey.map((_, i) => `"K${i}"`).join(', ');
  return [
    `DELETE FROM ${LINES}`,
    `DELETE FROM ${parsedTable(t)}`,
    `COPY INTO ${LINES} ("LINE", "FILE_NAME", "LINE_NO") FROM (SELECT $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER FROM @${sfIdent(where.schema)}.${sfIdent(where.stage)}) FILES = (${list(todo.map((b) => b.key))}) FILE_FORMAT = (${LINES_FORMAT}) FORCE = TRUE ON_ERROR = ABORT_STATEMENT`,
    `INSERT INTO ${parsedTable(t)} ("BATCH_KEY", "SEQ", "PARTITION_AT", "LINE_NO", "LINE", "V", ${staged}, "REASON") SELECT "BATCH_KEY", "SEQ", "PARTITION_AT", "LINE_NO", "LINE", V, ${staged}, ${reason} FROM (SELECT B."BATCH_KEY", B."SEQ", B."PARTITION_AT", L."LINE_NO", L."LINE", TRY_PARSE_JSON(L."LINE") AS V, ${keys} FROM ${LINES} L JOIN (SELECT COLUMN1 AS "BATCH_KEY", COLUMN2 AS "SEQ", COLUMN3::TIMESTAMP_NTZ AS "PARTITION_AT" FROM VALUES ${batches}) B ON L."FILE_NAME" = B."BATCH_KEY" OR ENDSWITH(L."FILE_NAME", '/' || B."BATCH_KEY") WHERE L."LINE" IS NOT NULL AND TRIM(L."LINE", ' \\t\\r') <> '')`,
  ];
}

/** Per batch: lines merged and lines rejected. */
export const countsSql = (t: TableSpec): string =>
  `SELECT "BATCH_KEY", COUNT_IF("REASON" IS NULL) AS "LOADED", COUNT_IF("REASON" IS NOT NULL) AS "REJECTED" FROM ${parsedTable(t)} GROUP BY "BATCH_KEY"`;

export interface BatchCounts {
  rows: number;
  rejected: number;
}

/**
 * The writes of the transaction: a `full` table is emptied first (a swap would be DDL, and DDL
 * commits, so the snapshot and its ledger rows could not commit together), rejects replaced, rows
 * merged on the key (the last line of a key in the group wins), ledger rows written.
 */
export function applySql(t: TableSpec, todo: readonly BatchToLoad[], counts: ReadonlyMap<string, BatchCounts>, runId: string): string[] {
  const cols = keyCols(t);
  const staged = t.primaryKey.map((_, i) => `"K${i}"`).join(', ');
  const on = t.primaryKey.map((k, i) => `T.${sfIdent(k)} = S."K${i}"`).join(' AND ');
  const rows = todo
    .map((b) => {
      const c = counts.get(b.key) ?? { rows: 0, rejected: 0 };
      return `(${sfString(b.key)}, ${sfString(b.version)}, ${b.size}, ${c.rows}, ${c.rejected})`;
    })
    .join(', ');
  const now = 'CURRENT_TIMESTAMP()';
  return [
    ...(t.mode === 'full' ? [`DELETE FROM ${rawTable(t)}`] : []),
    `DELETE FROM ${REJECTS} WHERE "BATCH_KEY" IN (${list(todo.map((b) => b.key))})`,
    `INSERT INTO ${REJECTS} ("BATCH_KEY", "LINE_NUMBER", "REASON", "LINE", "RUN_ID", "REJECTED_AT") SELECT "BATCH_KEY", "LINE_NO", "REASON", "LINE", ${sfString(runId)}, ${now} FROM ${parsedTable(t)} WHERE "REASON" IS NOT NULL`,
    `MERGE INTO ${rawTable(t)} T USING (SELECT ${staged}, "V", "PARTITION_AT", "BATCH_KEY" FROM ${parsedTable(t)} WHERE "REASON" IS NULL QUALIFY ROW_NUMBER() OVER (PARTITION BY ${staged} ORDER BY "SEQ" DESC, "LINE_NO" DESC) = 1) S ON ${on} WHEN MATCHED THEN UPDATE SET "DATA" = S."V", "_SLUICE_PARTITION" = S."PARTITION_AT", "_SLUICE_BATCH" = S."BATCH_KEY", "_SLUICE_LOADED_AT" = ${now} WHEN NOT MATCHED THEN INSERT (${cols}, "DATA", "_SLUICE_PARTITION", "_SLUICE_BATCH", "_SLUICE_LOADED_AT") VALUES (${t.primaryKey.map((_, i) => `S."K${i}"`).join(', ')}, S."V", S."PARTITION_AT", S."BATCH_KEY", ${now})`,
    `MERGE INTO ${LOADS} T USING (SELECT COLUMN1 AS "BATCH_KEY", COLUMN2 AS "VERSION", COLUMN3 AS "SIZE", COLUMN4 AS "LOADED", COLUMN5 AS "REJECTED" FROM VALUES ${rows}) S ON T."BATCH_KEY" = S."BATCH_KEY" WHEN MATCHED THEN UPDATE SET "SOURCE" = ${sfString(t.source)}, "STREAM" = ${sfString(t.stream)}, "VERSION" = S."VERSION", "SIZE" = S."SIZE", "ROWS" = S."LOADED", "REJECTED" = S."REJECTED", "RUN_ID" = ${sfString(runId)}, "LOADED_AT" = ${now} WHEN NOT MATCHED THEN INSERT ("BATCH_KEY", "SOURCE", "STREAM", "VERSION", "SIZE", "ROWS", "REJECTED", "RUN_ID", "LOADED_AT") VALUES (S."BATCH_KEY", ${sfString(t.source)}, ${sfString(t.stream)}, S."VERSION", S."SIZE", S."LOADED", S."REJECTED", ${sfString(runId)}, ${now})`,
  ];
}

/** Whether the raw table exists, its row count, and the stream's ledger totals. */
export function statsSql(t: TableSpec): { exists: string; rows: string; ledger: string } {
  const name = sfIdent(rawTableName(t.source, t.stream)).slice(1, -1).replace(/""/g, '"');
  return {
    exists: `SELECT COUNT(*) AS "N" FROM INFORMATION_SCHEMA.TABLES WHERE "TABLE_SCHEMA" = 'RAW' AND "TABLE_NAME" = ${sfString(name)}`,
    rows: `SELECT COUNT(*) AS "N" FROM ${rawTable(t)}`,
    ledger: `SELECT COUNT(*) AS "BATCHES", COALESCE(SUM("REJECTED"), 0) AS "REJECTED", MAX("LOADED_AT") AS "LAST" FROM ${LOADS} WHERE "SOURCE" = ${sfString(t.source)} AND "STREAM" = ${sfString(t.stream)}`,
  };
}
