import { SluiceError } from '../../core/errors.js';
import type { BatchToLoad, LedgerEntry, LoadResult, SameContent, TableSpec, TableStats, Warehouse } from '../../core/warehouse.js';
import { describeGroup, pendingBatches } from '../ledger-rules.js';
import { SNOWFLAKE_CAPABILITIES } from './config.js';
import { connectSnowflake, type SnowflakeClient, type SnowflakeWarehouseConfig } from './connection.js';
import { applySql, type BatchCounts, clearSql, copySql, countsSql, lenientCopySql, parseSql, type StageRef } from './load-sql.js';
import { columnsSql, ledgerSql, lockSql, rawTable, recheckSql, recordVersionsSql, SETUP_SQL, sfExact, statsSql, tableSql } from './sql.js';

type Row = Record<string, unknown>;
const text = (v: unknown): string | undefined => (v == null ? undefined : String(v));

/**
 * Snowflake: `raw.<source>_<stream>` with a VARIANT `data`. Batches never pass through sluice:
 * Snowflake's engine reads them with `COPY INTO` from an external stage over the storage bucket,
 * then one `MERGE` on the key per group, with the ledger rows in the same transaction.
 */
export class SnowflakeWarehouse implements Warehouse {
  readonly type = 'snowflake';
  readonly capabilities = SNOWFLAKE_CAPABILITIES;
  readonly #client: SnowflakeClient;
  readonly #stage: StageRef;
  readonly #tables = new Set<string>();

  constructor(client: SnowflakeClient, stage: StageRef) {
    this.#client = client;
    this.#stage = stage;
  }

  static async open(config: SnowflakeWarehouseConfig, connect = connectSnowflake): Promise<SnowflakeWarehouse> {
    const client = await connect(config);
    const wh = new SnowflakeWarehouse(client, { schema: config.schema, stage: config.stage });
    try {
      for (const sql of SETUP_SQL) await client.execute(sql);
    } catch (error) {
      await client.close();
      throw wrap(error, 'preparing the RAW and SLUICE schemas');
    }
    return wh;
  }

  async ledger(source: string, stream: string): Promise<Map<string, LedgerEntry>> {
    const rows = await this.#client.execute(ledgerSql(source, stream));
    return new Map(
      rows.map((r) => [
        String(r.BATCH_KEY),
        { key: String(r.BATCH_KEY), version: String(r.VERSION ?? ''), size: Number(r.SIZE ?? 0), checksum: text(r.CHECKSUM) },
      ]),
    );
  }

  async recordVersions(source: string, stream: string, batches: readonly SameContent[]): Promise<void> {
    try {
      for (const sql of recordVersionsSql(source, stream, batches)) await this.#client.execute(sql);
    } catch (error) {
      throw wrap(error, 'recording the versions of unchanged batches in SLUICE._LOADS');
    }
  }

  async load(t: TableSpec, batches: readonly BatchToLoad[], runId: string): Promise<LoadResult[]> {
    if (batches.length === 0) return [];
    const run = (sql: string) => this.#client.execute(sql);
    try {
      if (!this.#tables.has(rawTable(t))) {
        for (const sql of tableSql(t)) await run(sql); // DDL: before the transaction, which it would commit
        checkKeyColumns(t, await run(columnsSql(t)));
        this.#tables.add(rawTable(t));
      }
      await run('BEGIN');
      try {
        await run(lockSql(t));
        const loaded = await run(recheckSql(batches.map((b) => b.key)));
        const ledger = new Map(loaded.map((r) => [String(r.BATCH_KEY), { version: String(r.VERSION ?? ''), checksum: text(r.CHECKSUM) }]));
        const todo = pendingBatches(t.mode, batches, ledger);
        const counts = new Map<string, BatchCounts>();
        if (todo.length > 0) {
          for (const sql of clearSql(t)) await run(sql);
          const report = await run(copySql(todo, this.#stage));
          checkCopied(todo, report);
          const unclean = withSkippedLines(todo, report);
          if (unclean.length > 0) for (const sql of lenientCopySql(unclean, this.#stage)) await run(sql);
          await run(parseSql(t, todo));
          for (const r of await run(countsSql(t))) counts.set(String(r.BATCH_KEY), { rows: Number(r.LOADED), rejected: Number(r.REJECTED) });
          for (const sql of applySql(t, todo, counts, runId)) await run(sql);
        }
        await run('COMMIT');
        const done = new Set(todo.map((b) => b.key));
        return batches.map((b) => (done.has(b.key) ? (counts.get(b.key) ?? { rows: 0, rejected: 0 }) : { rows: 0, rejected: 0, skipped: true }));
      } catch (error) {
        await run('ROLLBACK').catch(() => {});
        throw error;
      }
    } catch (error) {
      const group = describeGroup(batches);
      throw wrap(error, `loading ${group.name} into ${rawTable(t)}`, group.context);
    }
  }

  async stats(t: TableSpec): Promise<TableStats> {
    const sql = statsSql(t);
    const exists = Number((await this.#client.execute(sql.exists))[0]?.N ?? 0) > 0;
    const rows = exists ? Number((await this.#client.execute(sql.rows))[0]?.N ?? 0) : 0;
    const [l] = await this.#client.execute(sql.ledger);
    const last = l?.LAST;
    return {
      rows,
      batches: Number(l?.BATCHES ?? 0),
      rejected: Number(l?.REJECTED ?? 0),
      lastLoadedAt: last instanceof Date ? last.toISOString() : last == null ? undefined : String(last),
    };
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

/** The report row COPY gave for a batch, matched by its stage path. */
const reportOf = (b: BatchToLoad, report: readonly Row[]) =>
  report.find((r) => {
    const f = String(r.file ?? r.FILE ?? '');
    return f === b.key || f.endsWith(`/${b.key}`);
  });

/**
 * COPY reports each file it read. A batch missing from the report was not read (a stage over
 * another prefix, a file not yet there): fail rather than ledger it without its rows. An empty
 * gzip (an hour without data, 20 bytes) may be left out of the report.
 */
function checkCopied(todo: readonly BatchToLoad[], report: readonly Row[]): void {
  const missing = todo.filter((b) => b.size > 20 && !reportOf(b, report));
  if (missing.length > 0) {
    throw new SluiceError('data', `Snowflake's COPY did not read ${missing.length} batch${missing.length === 1 ? '' : 'es'}, e.g. ${missing[0]!.key}`, {
      hint: 'the stage must point at the storage prefix: run `sluice setup snowflake` and compare the stage URL with storage.bucket and storage.prefix',
      context: { batches: missing.slice(0, 5).map((b) => b.key) },
    });
  }
}

/** The batches whose strict read left lines out: they have lines that are not valid UTF-8 (or worse). */
function withSkippedLines(todo: readonly BatchToLoad[], report: readonly Row[]): string[] {
  return todo
    .filter((b) => {
      const r = reportOf(b, report);
      if (!r) return false;
      const status = String(r.status ?? r.STATUS ?? 'LOADED').toUpperCase();
      return Number(r.errors_seen ?? r.ERRORS_SEEN ?? 0) > 0 || status !== 'LOADED';
    })
    .map((b) => b.key);
}

/**
 * Key columns are named exactly as the key fields. A raw table created when they were upper-cased
 * has other names: say how to rename them, rather than fail on every statement.
 */
function checkKeyColumns(t: TableSpec, columns: readonly Row[]): void {
  const have = new Set(columns.map((r) => String(r.COLUMN_NAME ?? r.column_name)));
  const lacking = t.primaryKey.filter((k) => !have.has(k));
  if (lacking.length === 0) return;
  const renames = lacking.map((k) => `ALTER TABLE ${rawTable(t)} RENAME COLUMN ${sfExact(k.toUpperCase())} TO ${sfExact(k)};`).join(' ');
  throw new SluiceError('data', `${rawTable(t)} has no key column named exactly ${lacking.map(sfExact).join(', ')}`, {
    hint: `key columns keep the key's exact spelling; rename the old ones: ${renames}`,
    context: { table: rawTable(t) },
  });
}

function wrap(error: unknown, doing: string, context: Record<string, unknown> = {}): SluiceError {
  if (error instanceof SluiceError) {
    Object.assign(error.context, { ...context, ...error.context });
    return error;
  }
  return new SluiceError('internal', `${doing} failed: ${(error as Error).message?.split('\n')[0] ?? String(error)}`, {
    retryable: true,
    context,
    cause: error,
  });
}
