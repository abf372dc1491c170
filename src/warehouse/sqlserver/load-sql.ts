import type { BatchToLoad, TableSpec } from '../../core/warehouse.js';
import { REJECT } from '../reject-reasons.js';
import { BIN2, datetime2, jsonPath, KEY_CHARS, LOADS, nstr, qid, REJECTS, rawTable, slices } from './tsql.js';

/**
 * The statements of a load, in the order load-group.ts sends them. The group's lines are
 * bulk-loaded into `#sluice_lines`; `#sluice_keys` holds each line's key and reject reason,
 * `#sluice_stage` the last line of each good key. Temp tables belong to the connection: each is
 * dropped first, in case a failed load on this connection left it.
 */

/** The table's lock: loads of one table wait for each other, whichever machine runs them. */
export const lockResource = (t: TableSpec): string => `sluice:${rawTable(t)}`;
export const lockSql = (t: TableSpec, waitMs: number): string =>
  `DECLARE @r int; EXEC @r = sp_getapplock @Resource = ${nstr(lockResource(t))}, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = ${waitMs}; SELECT @r AS r`;

const keyCols = (t: TableSpec) => t.primaryKey.map(qid).join(', ');
const staged = (t: TableSpec) => t.primaryKey.map((_, i) => `k${i}`);

/** The raw table (DESIGN §7), created on first use; `data` must hold JSON. */
export function createTableSql(t: TableSpec): string {
  const keys = t.primaryKey.map((k) => `${qid(k)} NVARCHAR(${KEY_CHARS}) COLLATE ${BIN2} NOT NULL`).join(', ');
  return `IF OBJECT_ID(${nstr(rawTable(t))}, N'U') IS NULL CREATE TABLE ${rawTable(t)} (${keys}, [data] NVARCHAR(MAX) NOT NULL CHECK (ISJSON([data]) = 1), [_sluice_partition] DATETIME2(0) NULL, [_sluice_batch] NVARCHAR(1000) NOT NULL, [_sluice_loaded_at] DATETIMEOFFSET NOT NULL, PRIMARY KEY CLUSTERED (${keyCols(t)}))`;
}

export const recheckSql = (keys: readonly string[]): string[] =>
  slices(keys).map((part) => `SELECT [batch_key], [version], [checksum] FROM ${LOADS} WHERE [batch_key] IN (${part.map(nstr).join(', ')})`);

const drop = (name: string) => `DROP TABLE IF EXISTS ${name}`;

/** The group's temp tables: its batches, its lines, their keys and reasons, the rows to merge. */
export function stageSql(t: TableSpec): string[] {
  const ks = staged(t);
  return [
    drop('#sluice_batches'),
    drop('#sluice_lines'),
    drop('#sluice_keys'),
    drop('#sluice_stage'),
    `CREATE TABLE #sluice_batches (b INT NOT NULL PRIMARY KEY, batch_key NVARCHAR(450) COLLATE ${BIN2} NOT NULL, version NVARCHAR(1000) NULL, checksum NVARCHAR(128) NULL, size BIGINT NOT NULL, partition_at DATETIME2(0) NOT NULL)`,
    'CREATE TABLE #sluice_lines (b INT NOT NULL, n BIGINT NOT NULL, line NVARCHAR(MAX) NOT NULL, note NVARCHAR(400) NULL, PRIMARY KEY CLUSTERED (b, n))',
    `CREATE TABLE #sluice_keys (b INT NOT NULL, n BIGINT NOT NULL, reason NVARCHAR(400) NULL, ${ks.map((k) => `${k} NVARCHAR(MAX) COLLATE ${BIN2} NULL`).join(', ')}, PRIMARY KEY CLUSTERED (b, n))`,
    `CREATE TABLE #sluice_stage (${ks.map((k) => `${k} NVARCHAR(${KEY_CHARS}) COLLATE ${BIN2} NOT NULL`).join(', ')}, b INT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY CLUSTERED (${ks.join(', ')}))`,
  ];
}

export const LINES_TABLE = '#sluice_lines';

export const insertBatchesSql = (todo: readonly BatchToLoad[]): string[] =>
  slices(todo.map((b, i) => `(${i}, ${nstr(b.key)}, ${nstr(b.version)}, ${nstr(b.checksum)}, ${b.size}, ${datetime2(b.partitionMs)})`)).map(
    (rows) => `INSERT INTO #sluice_batches (b, batch_key, version, checksum, size, partition_at) VALUES ${rows.join(', ')}`,
  );

/**
 * Each line's key and, for a reject, its reason. JavaScript has marked what it saw while
 * streaming (not UTF-8, not starting with `{`); SQL Server judges the JSON (ISJSON) and reads the
 * keys, all of them in one parse (OPENJSON), only from lines that are JSON objects. A key must fit
 * the index (450 characters) and may not end with a space, which SQL Server ignores when comparing.
 */
export function classifySql(t: TableSpec): string {
  const ks = staged(t);
  const paths = t.primaryKey.map((k, i) => `k${i} NVARCHAR(MAX) ${nstr(jsonPath([k]))}`).join(', ');
  const missing = t.primaryKey.map((k, i) => `WHEN k.k${i} IS NULL THEN ${nstr(REJECT.missingKey(k))}`).join(' ');
  const bytes = ks.map((k) => `DATALENGTH(k.${k})`).join(' + ');
  const spaced = t.primaryKey.map((k, i) => `WHEN UNICODE(RIGHT(k.k${i}, 1)) = 32 THEN ${nstr(REJECT.keyEndsInSpace(k))}`).join(' ');
  return `INSERT INTO #sluice_keys (b, n, reason, ${ks.join(', ')})
SELECT l.b, l.n, CASE WHEN l.note IS NOT NULL THEN l.note WHEN j.ok = 0 THEN ${nstr(REJECT.notObject)} ${missing} WHEN ${bytes} > ${KEY_CHARS * 2} THEN ${nstr(REJECT.keyTooLong(t.primaryKey, KEY_CHARS))} ${spaced} END, ${ks.map((k) => `k.${k}`).join(', ')}
FROM #sluice_lines AS l
CROSS APPLY (SELECT CASE WHEN l.note IS NULL THEN ISJSON(l.line) END AS ok) AS j
OUTER APPLY OPENJSON(CASE WHEN j.ok = 1 THEN l.line END) WITH (${paths}) AS k`;
}

/** The last good line of each key: the latest batch of the group, then the latest line. */
export function stageRowsSql(t: TableSpec): string {
  const ks = staged(t);
  return `INSERT INTO #sluice_stage (${ks.join(', ')}, b, n)
SELECT ${ks.join(', ')}, b, n FROM (SELECT ${ks.join(', ')}, b, n, ROW_NUMBER() OVER (PARTITION BY ${ks.join(', ')} ORDER BY b DESC, n DESC) AS _last FROM #sluice_keys WHERE reason IS NULL) AS x WHERE _last = 1`;
}

const staging = 'FROM #sluice_stage AS s JOIN #sluice_lines AS l ON l.b = s.b AND l.n = s.n JOIN #sluice_batches AS t ON t.b = s.b';

/**
 * The group's rows into the table. UPDATE then INSERT, not MERGE: MERGE has a long record of
 * defects in SQL Server and needs HOLDLOCK to be safe anyway, while these two statements under
 * UPDLOCK + SERIALIZABLE (key-range locks on what they read) are plain to read and to tune. Loads
 * of a table already wait for each other on the applock; the range locks keep any other writer
 * from slipping a key in between. A `full` table is emptied first and takes the snapshot whole.
 */
export function mergeSql(t: TableSpec): string[] {
  const on = t.primaryKey.map((k, i) => `r.${qid(k)} = s.k${i}`).join(' AND ');
  const now = 'SYSDATETIMEOFFSET()';
  const insert = `INSERT INTO ${rawTable(t)} (${keyCols(t)}, [data], [_sluice_partition], [_sluice_batch], [_sluice_loaded_at])
SELECT ${staged(t)
    .map((k) => `s.${k}`)
    .join(', ')}, l.line, t.partition_at, t.batch_key, ${now} ${staging}`;
  if (t.mode === 'full') return [`DELETE FROM ${rawTable(t)}`, insert];
  return [
    `UPDATE r SET r.[data] = l.line, r.[_sluice_partition] = t.partition_at, r.[_sluice_batch] = t.batch_key, r.[_sluice_loaded_at] = ${now}
FROM ${rawTable(t)} AS r WITH (UPDLOCK, SERIALIZABLE) JOIN #sluice_stage AS s ON ${on} JOIN #sluice_lines AS l ON l.b = s.b AND l.n = s.n JOIN #sluice_batches AS t ON t.b = s.b`,
    `${insert}
WHERE NOT EXISTS (SELECT 1 FROM ${rawTable(t)} AS r WITH (UPDLOCK, SERIALIZABLE) WHERE ${on})`,
  ];
}

/** A batch loaded again replaces its rejects. */
export const rejectsSql = (runId: string): string[] => [
  `DELETE FROM ${REJECTS} WHERE [batch_key] IN (SELECT batch_key FROM #sluice_batches)`,
  `INSERT INTO ${REJECTS} ([batch_key], [line_number], [reason], [line], [run_id], [rejected_at])
SELECT t.batch_key, k.n, k.reason, l.line, ${nstr(runId)}, SYSDATETIMEOFFSET() FROM #sluice_keys AS k JOIN #sluice_lines AS l ON l.b = k.b AND l.n = k.n JOIN #sluice_batches AS t ON t.b = k.b WHERE k.reason IS NOT NULL`,
];

/** The ledger rows, replacing what the ledger held under the same keys; returns each batch's counts. */
export const ledgerSql = (t: TableSpec, runId: string): string[] => [
  `DELETE FROM ${LOADS} WHERE [batch_key] IN (SELECT batch_key FROM #sluice_batches)`,
  `INSERT INTO ${LOADS} ([batch_key], [source], [stream], [version], [checksum], [size], [rows], [rejected], [run_id], [loaded_at])
OUTPUT inserted.[batch_key] AS [batch_key], inserted.[rows] AS [rows], inserted.[rejected] AS [rejected]
SELECT t.batch_key, ${nstr(t.source)}, ${nstr(t.stream)}, t.version, t.checksum, t.size, COUNT(k.b) - COUNT(k.reason), COUNT(k.reason), ${nstr(runId)}, SYSDATETIMEOFFSET()
FROM #sluice_batches AS t LEFT JOIN #sluice_keys AS k ON k.b = t.b GROUP BY t.b, t.batch_key, t.version, t.checksum, t.size`,
];

export const cleanupSql = (): string[] => [drop('#sluice_stage'), drop('#sluice_keys'), drop('#sluice_lines'), drop('#sluice_batches')];
