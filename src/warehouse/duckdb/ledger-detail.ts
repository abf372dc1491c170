import type { DuckDBConnection } from '@duckdb/node-api';
import type { LedgerDetail } from '../../core/warehouse.js';
import { quoteLiteral as ql } from '../sql.js';

/** `Warehouse.ledgerDetail` for DuckDB: every ledger row of a stream with its counts. */
export async function readDuckLedgerDetail(conn: DuckDBConnection, source: string, stream: string): Promise<Map<string, LedgerDetail>> {
  const reader = await conn.runAndReadAll(
    `SELECT batch_key, version, size, rows, rejected, run_id, CAST(loaded_at AS VARCHAR)
       FROM sluice._loads WHERE source = ${ql(source)} AND stream = ${ql(stream)}`,
  );
  const out = new Map<string, LedgerDetail>();
  for (const [key, version, size, rows, rejected, runId, loadedAt] of reader.getRows()) {
    out.set(String(key), {
      key: String(key),
      version: String(version ?? ''),
      size: Number(size ?? 0),
      rows: Number(rows ?? 0),
      rejected: Number(rejected ?? 0),
      runId: runId == null ? undefined : String(runId),
      loadedAt: loadedAt == null ? undefined : String(loadedAt),
    });
  }
  return out;
}
