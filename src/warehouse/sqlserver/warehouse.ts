import type { Logger } from '../../core/logger.js';
import type { SqlTarget } from '../../core/sql-target.js';
import type { BatchToLoad, LedgerDetail, LedgerEntry, LoadResult, SameContent, TableSpec, TableStats, Warehouse } from '../../core/warehouse.js';
import { describeGroup } from '../ledger-rules.js';
import { SQLSERVER_CAPABILITIES } from './config.js';
import { openPool } from './connection.js';
import { wrapError } from './errors.js';
import type { TdsConnection } from './exec.js';
import { ledgerDetailSql, ledgerSql, recordVersionsSql, SETUP_LOCK_SQL, SETUP_SQL, statsSql } from './ledger-sql.js';
import { loadGroup } from './load-group.js';
import { MssqlSession, type Opener } from './session.js';
import { SqlServerSqlTarget } from './sql-target.js';
import type { MssqlTarget } from './target.js';
import { rawTable } from './tsql.js';

/** The loader holds one connection: its transactions and temp tables live there. */
const openLoader: Opener = (t, onError) => openPool(t, { max: 1, app: 'sluice', onError });

interface LedgerRow {
  batch_key: string;
  version: string | null;
  size: number | string | null;
  checksum: string | null;
}

/**
 * SQL Server: `raw.<source>_<stream>` with `data NVARCHAR(MAX)` holding JSON. Batches stream from
 * their gzip files through TDS bulk load into a temp table, then one UPDATE and one INSERT per
 * group merge them on the key, with the ledger and rejects in the same transaction.
 */
export class SqlServerWarehouse implements Warehouse {
  readonly type = 'sqlserver';
  readonly capabilities = SQLSERVER_CAPABILITIES;
  readonly #session: MssqlSession;
  readonly #targets = new Set<SqlTarget>();
  readonly #log: Logger;

  private constructor(session: MssqlSession, log: Logger) {
    this.#session = session;
    this.#log = log;
  }

  static async open(target: MssqlTarget, log: Logger, open: Opener = openLoader): Promise<SqlServerWarehouse> {
    const session = new MssqlSession(target, log, open);
    await session.connect();
    try {
      await session.run('setup', setup);
    } catch (error) {
      await session.close();
      throw wrapError(error, 'preparing the sluice and raw schemas');
    }
    return new SqlServerWarehouse(session, log);
  }

  async ledger(source: string, stream: string): Promise<Map<string, LedgerEntry>> {
    const rows = await this.#read('reading the ledger', ledgerSql(source, stream));
    return new Map(rows.map((r) => [r.batch_key, entry(r)]));
  }

  async ledgerDetail(source: string, stream: string): Promise<Map<string, LedgerDetail>> {
    type Detail = LedgerRow & { rows: number | string; rejected: number | string; run_id: string | null; loaded_at: Date | null };
    const rows = (await this.#read('reading the ledger', ledgerDetailSql(source, stream))) as Detail[];
    return new Map(
      rows.map((r) => [
        r.batch_key,
        {
          ...entry(r),
          rows: Number(r.rows),
          rejected: Number(r.rejected),
          runId: r.run_id ?? undefined,
          loadedAt: r.loaded_at ? new Date(r.loaded_at).toISOString() : undefined,
        },
      ]),
    );
  }

  async recordVersions(source: string, stream: string, batches: readonly SameContent[]): Promise<void> {
    if (batches.length === 0) return;
    try {
      await this.#session.run('recording batch versions', async (c) => {
        for (const sql of recordVersionsSql(source, stream, batches)) await c.query(sql);
      });
    } catch (error) {
      throw wrapError(error, 'recording the versions of unchanged batches in sluice._loads');
    }
  }

  async load(t: TableSpec, batches: readonly BatchToLoad[], runId: string): Promise<LoadResult[]> {
    if (batches.length === 0) return [];
    try {
      return await this.#session.run('a load', (c) => loadGroup(c, t, batches, runId, this.#log));
    } catch (error) {
      const group = describeGroup(batches);
      throw wrapError(error, `loading ${group.name} into ${rawTable(t)}`, group.context);
    }
  }

  async stats(t: TableSpec): Promise<TableStats> {
    const [s] = await this.#session.run('reading stats', (c) =>
      c.query<{ rows: number | string; batches: number | string; rejected: number | string; last: Date | null }>(statsSql(t)),
    );
    return {
      rows: Number(s?.rows ?? 0),
      batches: Number(s?.batches ?? 0),
      rejected: Number(s?.rejected ?? 0),
      lastLoadedAt: s?.last ? new Date(s.last).toISOString() : undefined,
    };
  }

  /** Models build over a small pool of connections to the same server, as the same user. */
  async sqlTarget(): Promise<SqlTarget> {
    const target = await SqlServerSqlTarget.open(this.#session.target, (closed) => this.#targets.delete(closed));
    this.#targets.add(target);
    return target;
  }

  async close(): Promise<void> {
    for (const target of [...this.#targets]) await target.close();
    await this.#session.close();
  }

  #read(what: string, sql: string): Promise<LedgerRow[]> {
    return this.#session.run(what, (c) => c.query<LedgerRow>(sql));
  }
}

const entry = (r: LedgerRow): LedgerEntry => ({ key: r.batch_key, version: r.version ?? '', size: Number(r.size ?? 0), checksum: r.checksum ?? undefined });

/** Schemas, ledger and rejects, created on first use, under a lock so two first runs do not race. */
async function setup(c: TdsConnection): Promise<void> {
  await c.transaction(async (tx) => {
    await tx.query('SET XACT_ABORT ON');
    await tx.query(SETUP_LOCK_SQL);
    for (const sql of SETUP_SQL) await tx.query(sql);
  });
}
