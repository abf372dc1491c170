import type { LedgerDetail } from '../../core/warehouse.js';
import type { PgSession } from './connection.js';

interface Row {
  batch_key: string;
  version: string | null;
  size: string | null;
  checksum: string | null;
  rows: string;
  rejected: string;
  run_id: string | null;
  loaded_at: Date | null;
}

/** `Warehouse.ledgerDetail` for PostgreSQL: every ledger row of a stream with its counts. */
export async function readPgLedgerDetail(session: PgSession, source: string, stream: string): Promise<Map<string, LedgerDetail>> {
  const result = await session.run('reading the ledger', (c) =>
    c.query<Row>('SELECT batch_key, version, size, checksum, rows, rejected, run_id, loaded_at FROM sluice._loads WHERE source = $1 AND stream = $2', [
      source,
      stream,
    ]),
  );
  return new Map(
    result.rows.map((r) => [
      r.batch_key,
      {
        key: r.batch_key,
        version: r.version ?? '',
        size: Number(r.size ?? 0),
        checksum: r.checksum ?? undefined,
        rows: Number(r.rows),
        rejected: Number(r.rejected),
        runId: r.run_id ?? undefined,
        loadedAt: r.loaded_at ? r.loaded_at.toISOString() : undefined,
      },
    ]),
  );
}
