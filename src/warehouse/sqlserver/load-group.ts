import { SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { BatchToLoad, LoadResult, TableSpec } from '../../core/warehouse.js';
import { localFile, pendingBatches } from '../ledger-rules.js';
import { bulkLines } from './bulk-lines.js';
import type { TdsConnection, TdsExec } from './exec.js';
import {
  classifySql,
  cleanupSql,
  createTableSql,
  insertBatchesSql,
  LINES_TABLE,
  ledgerSql,
  lockSql,
  mergeSql,
  recheckSql,
  rejectsSql,
  stageRowsSql,
  stageSql,
} from './load-sql.js';
import { rawTable } from './tsql.js';

const LOCK_WAIT_MS = 3_600_000;

/** sp_getapplock's answer: 0 granted, 1 granted after waiting, -1 timed out, -2 cancelled, -3 deadlock victim. */
const DEADLOCK_VICTIM = -3;

/**
 * Loads one group of batches in one transaction: the table's lock, the ledger re-read under it,
 * the rows, the rejects and the ledger rows commit together or not at all. XACT_ABORT makes any
 * error end the transaction on the server too, whatever happens to the connection.
 */
export function loadGroup(conn: TdsConnection, t: TableSpec, batches: readonly BatchToLoad[], runId: string, log: Logger): Promise<LoadResult[]> {
  return conn.transaction(async (tx) => {
    await tx.query('SET XACT_ABORT ON');
    await lock(tx, t, log);
    await tx.query(createTableSql(t));
    const loaded = new Map<string, { version: string; checksum: string | undefined }>();
    for (const sql of recheckSql(batches.map((b) => b.key))) {
      for (const r of await tx.query<{ batch_key: string; version: string | null; checksum: string | null }>(sql)) {
        loaded.set(r.batch_key, { version: r.version ?? '', checksum: r.checksum ?? undefined });
      }
    }
    const todo = pendingBatches(t.mode, batches, loaded);
    if (todo.length === 0) return batches.map(() => ({ rows: 0, rejected: 0, skipped: true }));

    for (const sql of [...stageSql(t), ...insertBatchesSql(todo)]) await tx.query(sql);
    await bulkLines(
      tx,
      LINES_TABLE,
      todo.map((b, i) => ({ b: i, key: b.key, file: localFile(b) })),
    );
    await tx.query(classifySql(t));
    await tx.query(stageRowsSql(t));
    for (const sql of [...mergeSql(t), ...rejectsSql(runId)]) await tx.query(sql);
    const [clear, insert] = ledgerSql(t, runId) as [string, string];
    await tx.query(clear);
    const counts = new Map<string, LoadResult>();
    for (const r of await tx.query<{ batch_key: string; rows: number | string; rejected: number | string }>(insert)) {
      counts.set(r.batch_key, { rows: Number(r.rows), rejected: Number(r.rejected) });
    }
    for (const sql of cleanupSql()) await tx.query(sql);
    return batches.map((b) => counts.get(b.key) ?? { rows: 0, rejected: 0, skipped: true });
  });
}

/** The table's applock for the transaction; another load of the table holds it: wait for it (it may load our batches), but not forever. */
async function lock(tx: TdsExec, t: TableSpec, log: Logger): Promise<void> {
  let [got] = await tx.query<{ r: number }>(lockSql(t, 0));
  if ((got?.r ?? -1) >= 0) return;
  log.info({ table: rawTable(t) }, 'load.lock.waiting');
  [got] = await tx.query<{ r: number }>(lockSql(t, LOCK_WAIT_MS));
  const r = got?.r ?? -1;
  if (r >= 0) return;
  if (r === DEADLOCK_VICTIM) throw Object.assign(new Error(`chosen as deadlock victim while waiting for the lock of ${rawTable(t)}`), { number: 1205 });
  throw new SluiceError('internal', `another load of ${rawTable(t)} has held its lock for an hour`, {
    hint: "look for a stuck load (sys.dm_exec_sessions where program_name = 'sluice'), stop it, and run load again",
    retryable: true,
  });
}
