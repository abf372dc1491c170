import sql from 'mssql';
import type { BulkColumn, TdsConnection, TdsExec } from './exec.js';
import type { MssqlTarget } from './target.js';

/** An open connection pool, seen as the loader and the models use it. */
export interface OpenPool extends TdsConnection {
  close(): Promise<void>;
}

/**
 * Opens a pool of `max` connections (one for loads: temp tables and transactions live on it) and
 * logs in once to prove the settings. No request times out: a load may wait an hour for the
 * table's lock, and a large merge takes what it takes.
 */
export async function openPool(t: MssqlTarget, o: { max: number; app: string; onError?: (error: Error) => void }): Promise<OpenPool> {
  const pool = new sql.ConnectionPool({
    server: t.host,
    port: t.port,
    database: t.database,
    user: t.user,
    password: t.password.reveal(),
    connectionTimeout: 15_000,
    requestTimeout: 0,
    pool: { max: o.max, min: 0, idleTimeoutMillis: 30_000 },
    options: { encrypt: t.encrypt, trustServerCertificate: t.trustServerCertificate, appName: o.app, enableArithAbort: true },
  });
  // A connection the server drops emits 'error': without a listener it would crash the process.
  pool.on('error', (error: Error) => o.onError?.(error));
  try {
    await pool.connect();
  } catch (error) {
    await pool.close().catch(() => {});
    throw error;
  }
  return { ...on(pool), transaction: (work) => inTransaction(pool, work), close: () => pool.close() };
}

async function inTransaction<T>(pool: sql.ConnectionPool, work: (tx: TdsExec) => Promise<T>): Promise<T> {
  const tx = new sql.Transaction(pool);
  await tx.begin();
  try {
    const out = await work(on(tx));
    await tx.commit();
    return out;
  } catch (error) {
    // Already rolled back by the server (XACT_ABORT) or gone with the connection: nothing to undo.
    await tx.rollback().catch(() => {});
    throw error;
  }
}

function on(parent: sql.ConnectionPool | sql.Transaction): TdsExec {
  return {
    // A plain batch, never sp_executesql: a temp table or a SET made inside sp_executesql ends with it.
    async query<T>(text: string): Promise<T[]> {
      const result = await new sql.Request(parent as sql.ConnectionPool).batch(text);
      const sets = (result.recordsets ?? []) as unknown as T[][];
      return sets[sets.length - 1] ?? [];
    },
    async bulk(table: string, columns: readonly BulkColumn[], rows: unknown[][]): Promise<void> {
      const t = new sql.Table(table);
      t.create = false;
      for (const c of columns) t.columns.add(c.name, driverType(c), { nullable: c.nullable });
      for (const row of rows) t.rows.add(...(row as Array<string | number | null>));
      await new sql.Request(parent as sql.ConnectionPool).bulk(t);
    },
  };
}

function driverType(c: BulkColumn): sql.ISqlType {
  if (c.type === 'int') return sql.Int();
  if (c.type === 'bigint') return sql.BigInt();
  return sql.NVarChar(c.length ?? sql.MAX);
}
