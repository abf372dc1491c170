import type { SameContent, TableSpec } from '../../core/warehouse.js';
import { BIN2, LOADS, nstr, REJECTS, rawTable, slices } from './tsql.js';

/** Opening: one at a time (a lock), so two first runs do not both create the schemas. */
export const SETUP_LOCK_SQL =
  "DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'sluice:setup', @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 60000; SELECT @r AS r";

/** Schemas, the ledger and the rejects (DESIGN §7), created on first use. CREATE SCHEMA must be a batch of its own. */
export const SETUP_SQL = [
  "IF SCHEMA_ID(N'raw') IS NULL EXEC(N'CREATE SCHEMA [raw]')",
  "IF SCHEMA_ID(N'sluice') IS NULL EXEC(N'CREATE SCHEMA [sluice]')",
  `IF OBJECT_ID(N'${LOADS}', N'U') IS NULL CREATE TABLE ${LOADS} ([batch_key] NVARCHAR(450) COLLATE ${BIN2} NOT NULL PRIMARY KEY, [source] NVARCHAR(128) NOT NULL, [stream] NVARCHAR(128) NOT NULL, [version] NVARCHAR(1000) NULL, [size] BIGINT NULL, [rows] BIGINT NOT NULL, [rejected] BIGINT NOT NULL, [run_id] NVARCHAR(100) NULL, [loaded_at] DATETIMEOFFSET NOT NULL, [checksum] NVARCHAR(128) NULL, INDEX [_loads_stream] ([source], [stream]))`,
  `IF OBJECT_ID(N'${REJECTS}', N'U') IS NULL CREATE TABLE ${REJECTS} ([batch_key] NVARCHAR(450) COLLATE ${BIN2} NOT NULL, [line_number] BIGINT NOT NULL, [reason] NVARCHAR(400) NOT NULL, [line] NVARCHAR(MAX) NULL, [run_id] NVARCHAR(100) NULL, [rejected_at] DATETIMEOFFSET NOT NULL, INDEX [_rejects_batch] CLUSTERED ([batch_key], [line_number]))`,
];

const ofStream = (source: string, stream: string) => `[source] = ${nstr(source)} AND [stream] = ${nstr(stream)}`;

export const ledgerSql = (source: string, stream: string): string =>
  `SELECT [batch_key], [version], [size], [checksum] FROM ${LOADS} WHERE ${ofStream(source, stream)}`;

export const ledgerDetailSql = (source: string, stream: string): string =>
  `SELECT [batch_key], [version], [size], [checksum], [rows], [rejected], [run_id], [loaded_at] FROM ${LOADS} WHERE ${ofStream(source, stream)}`;

/** `Warehouse.recordVersions`: a guarded update of version or checksum, nothing else. */
export function recordVersionsSql(source: string, stream: string, batches: readonly SameContent[]): string[] {
  return slices(batches).map((part) => {
    const values = part.map((b) => `(${nstr(b.key)}, ${nstr(b.version)}, ${nstr(b.checksum)})`).join(', ');
    return `UPDATE l SET l.[version] = s.v, l.[checksum] = s.c FROM ${LOADS} AS l JOIN (VALUES ${values}) AS s (k, v, c) ON l.[batch_key] = s.k WHERE l.[source] = ${nstr(source)} AND l.[stream] = ${nstr(stream)} AND (l.[checksum] = s.c OR (l.[checksum] IS NULL AND l.[version] = s.v))`;
  });
}

/** The raw table's row count (0 when it does not exist yet) and the stream's ledger totals, in one batch. */
export function statsSql(t: TableSpec): string {
  const table = rawTable(t);
  return `DECLARE @rows BIGINT = 0; IF OBJECT_ID(${nstr(table)}, N'U') IS NOT NULL SELECT @rows = COUNT_BIG(*) FROM ${table};
SELECT @rows AS [rows], COUNT_BIG(*) AS [batches], COALESCE(SUM([rejected]), 0) AS [rejected], MAX([loaded_at]) AS [last] FROM ${LOADS} WHERE ${ofStream(t.source, t.stream)}`;
}
