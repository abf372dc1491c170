import type { BatchToLoad, TableSpec } from '../../core/warehouse.js';
import { REJECT } from '../reject-reasons.js';
import { timestampText } from '../sql.js';
import { keyCols, LENIENT_LINES, LINES, LOADS, linesFormat, list, parsedTable, REJECTS, rawTable, sfExact, sfIdent, sfString } from './sql.js';

export interface StageRef {
  /** The schema of the external stage (the `schema` setting). */
  schema: string;
  stage: string;
}

const fromStage = (where: StageRef) => `FROM (SELECT $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER FROM @${sfIdent(where.schema)}.${sfIdent(where.stage)})`;

/** The session's staging tables, emptied for a new group. */
export const clearSql = (t: TableSpec): string[] => [`DELETE FROM ${LINES}`, `DELETE FROM ${LENIENT_LINES}`, `DELETE FROM ${parsedTable(t)}`];

/**
 * Snowflake's engine reads the group's batches from the external stage over the storage bucket
 * (the keys are the stage paths), one row per line with its number. Lines must be valid UTF-8: a
 * line that is not is left out and counted in its file's `errors_seen` (ON_ERROR = CONTINUE), and
 * `lenientCopySql` reads that file again. The staging table is temporary, so Snowflake's own load
 * history never skips a file here: the ledger, checked under the lock, is what decides.
 */
export const copySql = (todo: readonly BatchToLoad[], where: StageRef): string =>
  `COPY INTO ${LINES} ("LINE", "FILE_NAME", "LINE_NO") ${fromStage(where)} FILES = (${list(todo.map((b) => b.key))}) FILE_FORMAT = (${linesFormat({ strict: true })}) FORCE = TRUE ON_ERROR = CONTINUE`;

/**
 * The files whose strict read left lines out, read again with bad bytes shown as U+FFFD: the lines
 * only this read has are the ones that are not valid UTF-8, and join the others marked so. Any
 * other error stops the group (ABORT_STATEMENT), so no line is ever dropped unseen.
 */
export const lenientCopySql = (keys: readonly string[], where: StageRef): string[] => [
  `COPY INTO ${LENIENT_LINES} ("LINE", "FILE_NAME", "LINE_NO") ${fromStage(where)} FILES = (${list(keys)}) FILE_FORMAT = (${linesFormat({ strict: false })}) FORCE = TRUE ON_ERROR = ABORT_STATEMENT`,
  `INSERT INTO ${LINES} ("LINE", "FILE_NAME", "LINE_NO", "NOT_UTF8") SELECT X."LINE", X."FILE_NAME", X."LINE_NO", TRUE FROM ${LENIENT_LINES} X WHERE NOT EXISTS (SELECT 1 FROM ${LINES} L WHERE L."FILE_NAME" = X."FILE_NAME" AND L."LINE_NO" = X."LINE_NO")`,
];

/** Every non-blank line of the group parsed once, judged, and given its key. */
export function parseSql(t: TableSpec, todo: readonly BatchToLoad[]): string {
  const batches = todo.map((b, i) => `(${sfString(b.key)}, ${i}, ${sfString(timestampText(b.partitionMs))})`).join(', ');
  const keys = t.primaryKey
    .map((k, i) => `IFF(IS_OBJECT(V) AND NOT IS_NULL_VALUE(GET(V, ${sfString(k)})), GET(V, ${sfString(k)})::VARCHAR, NULL) AS "K${i}"`)
    .join(', ');
  const reason = `CASE WHEN "NOT_UTF8" THEN ${sfString(REJECT.notUtf8)} WHEN V IS NULL OR NOT IS_OBJECT(V) THEN ${sfString(REJECT.notObject)} ${t.primaryKey
    .map((k, i) => `WHEN "K${i}" IS NULL THEN ${sfString(REJECT.missingKey(k))}`)
    .join(' ')} END`;
  const staged = t.primaryKey.map((_, i) => `"K${i}"`).join(', ');
  return `INSERT INTO ${parsedTable(t)} ("BATCH_KEY", "SEQ", "PARTITION_AT", "LINE_NO", "LINE", "V", ${staged}, "REASON") SELECT "BATCH_KEY", "SEQ", "PARTITION_AT", "LINE_NO", "LINE", V, ${staged}, ${reason} FROM (SELECT B."BATCH_KEY", B."SEQ", B."PARTITION_AT", L."LINE_NO", L."LINE", L."NOT_UTF8", TRY_PARSE_JSON(L."LINE") AS V, ${keys} FROM ${LINES} L JOIN (SELECT COLUMN1 AS "BATCH_KEY", COLUMN2 AS "SEQ", COLUMN3::TIMESTAMP_NTZ AS "PARTITION_AT" FROM VALUES ${batches}) B ON L."FILE_NAME" = B."BATCH_KEY" OR ENDSWITH(L."FILE_NAME", '/' || B."BATCH_KEY") WHERE L."LINE" IS NOT NULL AND TRIM(L."LINE", ' \\t\\r') <> '')`;
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
 * merged on the key (the last line of a key in the group wins), ledger rows written with the
 * checksum of each batch.
 */
export function applySql(t: TableSpec, todo: readonly BatchToLoad[], counts: ReadonlyMap<string, BatchCounts>, runId: string): string[] {
  const cols = keyCols(t);
  const staged = t.primaryKey.map((_, i) => `"K${i}"`).join(', ');
  const on = t.primaryKey.map((k, i) => `T.${sfExact(k)} = S."K${i}"`).join(' AND ');
  const rows = todo
    .map((b) => {
      const c = counts.get(b.key) ?? { rows: 0, rejected: 0 };
      return `(${sfString(b.key)}, ${sfString(b.version)}, ${b.size}, ${c.rows}, ${c.rejected}, ${sfString(b.checksum)})`;
    })
    .join(', ');
  const now = 'CURRENT_TIMESTAMP()';
  return [
    ...(t.mode === 'full' ? [`DELETE FROM ${rawTable(t)}`] : []),
    `DELETE FROM ${REJECTS} WHERE "BATCH_KEY" IN (${list(todo.map((b) => b.key))})`,
    `INSERT INTO ${REJECTS} ("BATCH_KEY", "LINE_NUMBER", "REASON", "LINE", "RUN_ID", "REJECTED_AT") SELECT "BATCH_KEY", "LINE_NO", "REASON", "LINE", ${sfString(runId)}, ${now} FROM ${parsedTable(t)} WHERE "REASON" IS NOT NULL`,
    `MERGE INTO ${rawTable(t)} T USING (SELECT ${staged}, "V", "PARTITION_AT", "BATCH_KEY" FROM ${parsedTable(t)} WHERE "REASON" IS NULL QUALIFY ROW_NUMBER() OVER (PARTITION BY ${staged} ORDER BY "SEQ" DESC, "LINE_NO" DESC) = 1) S ON ${on} WHEN MATCHED THEN UPDATE SET "DATA" = S."V", "_SLUICE_PARTITION" = S."PARTITION_AT", "_SLUICE_BATCH" = S."BATCH_KEY", "_SLUICE_LOADED_AT" = ${now} WHEN NOT MATCHED THEN INSERT (${cols}, "DATA", "_SLUICE_PARTITION", "_SLUICE_BATCH", "_SLUICE_LOADED_AT") VALUES (${t.primaryKey.map((_, i) => `S."K${i}"`).join(', ')}, S."V", S."PARTITION_AT", S."BATCH_KEY", ${now})`,
    `MERGE INTO ${LOADS} T USING (SELECT COLUMN1 AS "BATCH_KEY", COLUMN2 AS "VERSION", COLUMN3 AS "SIZE", COLUMN4 AS "LOADED", COLUMN5 AS "REJECTED", COLUMN6 AS "CHECKSUM" FROM VALUES ${rows}) S ON T."BATCH_KEY" = S."BATCH_KEY" WHEN MATCHED THEN UPDATE SET "SOURCE" = ${sfString(t.source)}, "STREAM" = ${sfString(t.stream)}, "VERSION" = S."VERSION", "CHECKSUM" = S."CHECKSUM", "SIZE" = S."SIZE", "ROWS" = S."LOADED", "REJECTED" = S."REJECTED", "RUN_ID" = ${sfString(runId)}, "LOADED_AT" = ${now} WHEN NOT MATCHED THEN INSERT ("BATCH_KEY", "SOURCE", "STREAM", "VERSION", "CHECKSUM", "SIZE", "ROWS", "REJECTED", "RUN_ID", "LOADED_AT") VALUES (S."BATCH_KEY", ${sfString(t.source)}, ${sfString(t.stream)}, S."VERSION", S."CHECKSUM", S."SIZE", S."LOADED", S."REJECTED", ${sfString(runId)}, ${now})`,
  ];
}
