import { rawTableName } from '../../core/tables.js';
import type { SameContent, TableSpec } from '../../core/warehouse.js';

/**
 * Snowflake SQL text. Names sluice chooses (schemas, tables, its own columns) are written
 * upper-case and quoted, which is how Snowflake stores unquoted names, so `raw.github_events` and
 * `data` work unquoted in any query; a name that is not plain (`$insert_id`) keeps its exact spelling.
 */
export const sfIdent = (name: string): string => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `"${name.toUpperCase()}"` : sfExact(name));

/**
 * A name exactly as the data spells it: key fields. Upper-casing them would make `id` and `ID`
 * one column, so two keys of a record could collide.
 */
export const sfExact = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** A string literal: Snowflake reads backslash escapes inside quotes. */
export const sfString = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/**
 * Each line of a batch is one record of one text column, exactly as it stands in the file.
 * `strict`: a line that is not valid UTF-8 is an error of its row (the load goes on without it);
 * else its bad bytes become U+FFFD.
 */
export const linesFormat = (o: { strict: boolean }): string =>
  `TYPE = CSV FIELD_DELIMITER = NONE RECORD_DELIMITER = '\\n' SKIP_HEADER = 0 FIELD_OPTIONALLY_ENCLOSED_BY = NONE ESCAPE = NONE ESCAPE_UNENCLOSED_FIELD = NONE SKIP_BLANK_LINES = FALSE EMPTY_FIELD_AS_NULL = FALSE TRIM_SPACE = FALSE ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE REPLACE_INVALID_CHARACTERS = ${o.strict ? 'FALSE' : 'TRUE'} ENCODING = 'UTF8' COMPRESSION = GZIP`;

/** The stage's default format, for people who query the stage by hand: it reads every line. */
export const LINES_FORMAT = linesFormat({ strict: false });

export const LOADS = '"SLUICE"."_LOADS"';
export const REJECTS = '"SLUICE"."_REJECTS"';
export const LOCKS = '"SLUICE"."_LOCKS"';
export const LINES = '"SLUICE"."_SLUICE_LINES"';
export const LENIENT_LINES = '"SLUICE"."_SLUICE_LINES_LENIENT"';

export const rawTable = (t: TableSpec): string => `"RAW".${sfIdent(rawTableName(t.source, t.stream))}`;
export const parsedTable = (t: TableSpec): string => `"SLUICE".${sfIdent(`_sluice_parsed_${rawTableName(t.source, t.stream)}`)}`;
export const keyCols = (t: TableSpec): string => t.primaryKey.map(sfExact).join(', ');
export const list = (values: readonly string[]): string => values.map(sfString).join(', ');

/**
 * Schemas and ledger tables (DESIGN §7), created on first use; DDL commits on its own in Snowflake.
 * A ledger from before checksums were kept gets the column.
 */
export const SETUP_SQL = [
  'CREATE SCHEMA IF NOT EXISTS "RAW"',
  'CREATE SCHEMA IF NOT EXISTS "SLUICE"',
  `CREATE TABLE IF NOT EXISTS ${LOADS} ("BATCH_KEY" VARCHAR NOT NULL PRIMARY KEY, "SOURCE" VARCHAR NOT NULL, "STREAM" VARCHAR NOT NULL, "VERSION" VARCHAR, "SIZE" NUMBER, "ROWS" NUMBER NOT NULL, "REJECTED" NUMBER NOT NULL, "RUN_ID" VARCHAR, "LOADED_AT" TIMESTAMP_TZ NOT NULL, "CHECKSUM" VARCHAR)`,
  `ALTER TABLE ${LOADS} ADD COLUMN IF NOT EXISTS "CHECKSUM" VARCHAR`,
  `CREATE TABLE IF NOT EXISTS ${REJECTS} ("BATCH_KEY" VARCHAR NOT NULL, "LINE_NUMBER" NUMBER NOT NULL, "REASON" VARCHAR NOT NULL, "LINE" VARCHAR, "RUN_ID" VARCHAR, "REJECTED_AT" TIMESTAMP_TZ NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS ${LOCKS} ("TABLE_NAME" VARCHAR NOT NULL PRIMARY KEY, "LOCKED_AT" TIMESTAMP_TZ)`,
];

/** The raw table and this session's staging tables: run before the transaction, since DDL commits. */
export function tableSql(t: TableSpec): string[] {
  const keys = t.primaryKey.map((k) => `${sfExact(k)} VARCHAR NOT NULL`).join(', ');
  const staged = t.primaryKey.map((_, i) => `"K${i}" VARCHAR`).join(', ');
  return [
    `CREATE TABLE IF NOT EXISTS ${rawTable(t)} (${keys}, "DATA" VARIANT, "_SLUICE_PARTITION" TIMESTAMP_NTZ, "_SLUICE_BATCH" VARCHAR, "_SLUICE_LOADED_AT" TIMESTAMP_TZ, PRIMARY KEY (${keyCols(t)}))`,
    `CREATE TEMPORARY TABLE IF NOT EXISTS ${LINES} ("LINE" VARCHAR, "FILE_NAME" VARCHAR, "LINE_NO" NUMBER, "NOT_UTF8" BOOLEAN)`,
    `CREATE TEMPORARY TABLE IF NOT EXISTS ${LENIENT_LINES} ("LINE" VARCHAR, "FILE_NAME" VARCHAR, "LINE_NO" NUMBER)`,
    `CREATE TEMPORARY TABLE IF NOT EXISTS ${parsedTable(t)} ("BATCH_KEY" VARCHAR, "SEQ" NUMBER, "PARTITION_AT" TIMESTAMP_NTZ, "LINE_NO" NUMBER, "LINE" VARCHAR, "V" VARIANT, ${staged}, "REASON" VARCHAR)`,
  ];
}

/** The raw table's column names as stored, to find key columns a table created with other names lacks. */
export function columnsSql(t: TableSpec): string {
  const name = sfIdent(rawTableName(t.source, t.stream)).slice(1, -1).replace(/""/g, '"');
  return `SELECT "COLUMN_NAME" FROM INFORMATION_SCHEMA.COLUMNS WHERE "TABLE_SCHEMA" = 'RAW' AND "TABLE_NAME" = ${sfString(name)}`;
}

/** Loads of one table wait for each other: a MERGE holds the lock row's table until commit. */
export const lockSql = (t: TableSpec): string =>
  `MERGE INTO ${LOCKS} T USING (SELECT ${sfString(rawTable(t))} AS "TABLE_NAME") S ON T."TABLE_NAME" = S."TABLE_NAME" WHEN MATCHED THEN UPDATE SET "LOCKED_AT" = CURRENT_TIMESTAMP() WHEN NOT MATCHED THEN INSERT ("TABLE_NAME", "LOCKED_AT") VALUES (S."TABLE_NAME", CURRENT_TIMESTAMP())`;

export const recheckSql = (keys: readonly string[]): string => `SELECT "BATCH_KEY", "VERSION", "CHECKSUM" FROM ${LOADS} WHERE "BATCH_KEY" IN (${list(keys)})`;

export const ledgerSql = (source: string, stream: string): string =>
  `SELECT "BATCH_KEY", "VERSION", "SIZE", "CHECKSUM" FROM ${LOADS} WHERE "SOURCE" = ${sfString(source)} AND "STREAM" = ${sfString(stream)}`;

/** `Warehouse.recordVersions`: a guarded update of version or checksum, nothing else; one statement per chunk. */
export function recordVersionsSql(source: string, stream: string, batches: readonly SameContent[], perStatement = 1000): string[] {
  const out: string[] = [];
  for (let i = 0; i < batches.length; i += perStatement) {
    const values = batches
      .slice(i, i + perStatement)
      .map((b) => `(${sfString(b.key)}, ${sfString(b.version)}, ${sfString(b.checksum)})`)
      .join(', ');
    out.push(
      `UPDATE ${LOADS} L SET "VERSION" = S."VERSION", "CHECKSUM" = S."CHECKSUM" FROM (SELECT COLUMN1 AS "BATCH_KEY", COLUMN2 AS "VERSION", COLUMN3 AS "CHECKSUM" FROM VALUES ${values}) S WHERE L."BATCH_KEY" = S."BATCH_KEY" AND L."SOURCE" = ${sfString(source)} AND L."STREAM" = ${sfString(stream)} AND (L."CHECKSUM" = S."CHECKSUM" OR (L."CHECKSUM" IS NULL AND L."VERSION" = S."VERSION"))`,
    );
  }
  return out;
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
