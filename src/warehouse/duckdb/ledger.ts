import type { DuckDBConnection } from '@duckdb/node-api';
import type { LedgerDetail, LedgerEntry, SameContent } from '../../core/warehouse.js';
import { quoteLiteral as ql } from '../sql.js';

/** The ledger's columns as DuckDB creates them; `checksum` is added to a ledger from before it was kept. */
export const LEDGER_SETUP = [
  `CREATE TABLE IF NOT EXISTS sluice._loads (
     batch_key VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, stream VARCHAR NOT NULL, version VARCHAR,
     size BIGINT, rows BIGINT NOT NULL, rejected BIGINT NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL, checksum VARCHAR)`,
  'ALTER TABLE sluice._loads ADD COLUMN IF NOT EXISTS checksum VARCHAR',
];

const text = (v: unknown): string | undefined => (v == null ? undefined : String(v));
const entry = (key: unknown, version: unknown, size: unknown, checksum: unknown): LedgerEntry => ({
  key: String(key),
  version: String(version ?? ''),
  size: Number(size ?? 0),
  checksum: text(checksum),
});

/** `Warehouse.ledger` for DuckDB. */
export async function readDuckLedger(conn: DuckDBConnection, source: string, stream: string): Promise<Map<string, LedgerEntry>> {
  const reader = await conn.runAndReadAll(
    `SELECT batch_key, version, size, checksum FROM sluice._loads WHERE source = ${ql(source)} AND stream = ${ql(stream)}`,
  );
  return new Map(reader.getRows().map(([key, version, size, checksum]) => [String(key), entry(key, version, size, checksum)]));
}

/** The ledger rows of some batches, read inside the load's transaction. */
export async function readDuckLedgerOf(conn: DuckDBConnection, keys: readonly string[]): Promise<Map<string, LedgerEntry>> {
  const reader = await conn.runAndReadAll(`SELECT batch_key, version, size, checksum FROM sluice._loads WHERE batch_key IN (${keys.map(ql).join(', ')})`);
  return new Map(reader.getRows().map(([key, version, size, checksum]) => [String(key), entry(key, version, size, checksum)]));
}

/** `Warehouse.ledgerDetail` for DuckDB: every ledger row of a stream with its counts. */
export async function readDuckLedgerDetail(conn: DuckDBConnection, source: string, stream: string): Promise<Map<string, LedgerDetail>> {
  const reader = await conn.runAndReadAll(
    `SELECT batch_key, version, size, checksum, rows, rejected, run_id, CAST(loaded_at AS VARCHAR)
       FROM sluice._loads WHERE source = ${ql(source)} AND stream = ${ql(stream)}`,
  );
  const out = new Map<string, LedgerDetail>();
  for (const [key, version, size, checksum, rows, rejected, runId, loadedAt] of reader.getRows()) {
    out.set(String(key), {
      ...entry(key, version, size, checksum),
      rows: Number(rows ?? 0),
      rejected: Number(rejected ?? 0),
      runId: text(runId),
      loadedAt: text(loadedAt),
    });
  }
  return out;
}

const PER_STATEMENT = 1000;

/** `Warehouse.recordVersions` for DuckDB: a guarded update of version or checksum, nothing else. */
export async function recordDuckVersions(conn: DuckDBConnection, source: string, stream: string, batches: readonly SameContent[]): Promise<void> {
  for (let i = 0; i < batches.length; i += PER_STATEMENT) {
    const values = batches
      .slice(i, i + PER_STATEMENT)
      .map((b) => `(${ql(b.key)}, ${ql(b.version)}, ${ql(b.checksum)})`)
      .join(', ');
    await conn.run(
      `UPDATE sluice._loads AS l SET version = s.version, checksum = s.checksum
         FROM (VALUES ${values}) AS s(batch_key, version, checksum)
         WHERE l.batch_key = s.batch_key AND l.source = ${ql(source)} AND l.stream = ${ql(stream)}
           AND (l.checksum = s.checksum OR (l.checksum IS NULL AND l.version = s.version))`,
    );
  }
}
