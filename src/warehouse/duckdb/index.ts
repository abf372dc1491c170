import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { z } from 'zod';
import { SluiceError } from '../../core/errors.js';
import type { BatchToLoad, LedgerEntry, LoadResult, TableSpec, TableStats, Warehouse } from '../../core/warehouse.js';
import type { WarehousePlugin } from '../../plugin.js';
import { quoteIdent as qi, quoteLiteral as ql, rawTableName, timestampText } from '../sql.js';
import { readDuckLedgerDetail } from './ledger-detail.js';
import { type BatchSource, batchLoadSql, NOTES } from './load-sql.js';
import { type Note, sanitizeBatch } from './sanitize.js';

const SETUP = [
  'CREATE SCHEMA IF NOT EXISTS raw',
  'CREATE SCHEMA IF NOT EXISTS sluice',
  `CREATE TABLE IF NOT EXISTS sluice._loads (
     batch_key VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, stream VARCHAR NOT NULL, version VARCHAR,
     size BIGINT, rows BIGINT NOT NULL, rejected BIGINT NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS sluice._rejects (
     batch_key VARCHAR NOT NULL, line_number BIGINT NOT NULL, reason VARCHAR NOT NULL, line VARCHAR,
     run_id VARCHAR, rejected_at TIMESTAMPTZ NOT NULL)`,
];

/** The embedded default warehouse: one DuckDB file, read by DuckDB's own CSV/JSON readers. */
export class DuckDbWarehouse implements Warehouse {
  readonly type = 'duckdb';
  readonly #instance: DuckDBInstance;
  readonly #conn: DuckDBConnection;
  readonly #tables = new Set<string>();

  private constructor(instance: DuckDBInstance, conn: DuckDBConnection) {
    this.#instance = instance;
    this.#conn = conn;
  }

  static async open(file: string): Promise<DuckDbWarehouse> {
    let instance: DuckDBInstance;
    try {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      // Loaded here, not at the top: a project on another warehouse never pays for DuckDB's start.
      const { DuckDBInstance } = await import('@duckdb/node-api');
      // DuckDB's own memory default (80% of RAM): a tighter cap makes big merges fail, since the
      // primary-key index must fit in memory. SLUICE_DUCKDB_MEMORY sets a cap where RAM is shared.
      const memory = process.env.SLUICE_DUCKDB_MEMORY;
      instance = await DuckDBInstance.create(file, { threads: '1', ...(memory ? { memory_limit: memory } : {}) });
    } catch (error) {
      const busy = /lock/i.test((error as Error).message);
      throw new SluiceError('warehouse_unreachable', `cannot open the DuckDB warehouse ${file}: ${(error as Error).message.split('\n')[0]}`, {
        hint: busy ? 'another process holds the DuckDB file: wait for it to finish (or stop it) and run again' : 'check warehouse.path',
        cause: error,
      });
    }
    const conn = await instance.connect();
    const wh = new DuckDbWarehouse(instance, conn);
    for (const sql of SETUP) await conn.run(sql);
    return wh;
  }

  async #ensureTable(t: TableSpec): Promise<string> {
    const name = `raw.${qi(rawTableName(t.source, t.stream))}`;
    if (this.#tables.has(name)) return name;
    const keys = t.primaryKey.map((k) => `${qi(k)} VARCHAR NOT NULL`).join(', ');
    await this.#conn.run(
      `CREATE TABLE IF NOT EXISTS ${name} (${keys}, data JSON, _sluice_partition TIMESTAMP, _sluice_batch VARCHAR, _sluice_loaded_at TIMESTAMPTZ, PRIMARY KEY (${t.primaryKey.map(qi).join(', ')}))`,
    );
    this.#tables.add(name);
    return name;
  }

  async ledger(source: string, stream: string): Promise<Map<string, LedgerEntry>> {
    const reader = await this.#conn.runAndReadAll(`SELECT batch_key, version, size FROM sluice._loads WHERE source = ${ql(source)} AND stream = ${ql(stream)}`);
    const out = new Map<string, LedgerEntry>();
    for (const [key, version, size] of reader.getRows()) {
      out.set(String(key), { key: String(key), version: String(version ?? ''), size: Number(size ?? 0) });
    }
    return out;
  }

  async load(t: TableSpec, batches: readonly BatchToLoad[], runId: string): Promise<LoadResult[]> {
    const table = await this.#ensureTable(t);
    const cleaned = new Map<string, { source: BatchSource; notes: Note[] }>();
    let tmp: string | undefined;
    try {
      // A batch DuckDB cannot read line by line (bad UTF-8, a CR) fails the transaction: clean a
      // copy of it and try the group again. Each batch is cleaned at most once.
      for (;;) {
        const attempt = await this.#loadOnce(table, t, batches, runId, cleaned);
        if (!('unreadable' in attempt)) return attempt;
        const batch = attempt.unreadable;
        tmp ??= await fs.promises.mkdtemp(path.join(os.tmpdir(), 'sluice-duckdb-'));
        const file = path.join(tmp, `${cleaned.size}.jsonl`);
        const notes = await sanitizeBatch(batch.key, batch.file, file);
        cleaned.set(batch.key, { source: { file, compression: 'none', notes: notes.length > 0 }, notes });
      }
    } catch (error) {
      if (error instanceof SluiceError) throw error;
      const keys = batches.map((b) => b.key);
      throw new SluiceError(
        'internal',
        `loading ${keys.length === 1 ? keys[0] : `${keys.length} batches`} into DuckDB failed: ${(error as Error).message.split('\n')[0]}`,
        { retryable: true, context: { batches: keys.slice(0, 5) }, cause: error },
      );
    } finally {
      if (tmp) await fs.promises.rm(tmp, { recursive: true, force: true });
    }
  }

  async #loadOnce(
    table: string,
    t: TableSpec,
    batches: readonly BatchToLoad[],
    runId: string,
    cleaned: ReadonlyMap<string, { source: BatchSource; notes: Note[] }>,
  ): Promise<LoadResult[] | { unreadable: BatchToLoad }> {
    const results: LoadResult[] = [];
    await this.#conn.run('BEGIN TRANSACTION');
    try {
      if (t.mode === 'full') await this.#conn.run(`DELETE FROM ${table}`);
      for (const batch of batches) {
        const clean = cleaned.get(batch.key);
        const source = clean?.source ?? { file: batch.file, compression: 'gzip', notes: false };
        if (clean?.source.notes) await this.#writeNotes(clean.notes);
        const sql = batchLoadSql({ table, spec: t, batch, source, runId, partition: timestampText(batch.partitionMs) });
        try {
          for (const statement of sql.before) await this.#conn.run(statement);
        } catch (error) {
          if (!clean && /Invalid Input Error|CSV Error|unicode/i.test((error as Error).message)) {
            await this.#conn.run('ROLLBACK').catch(() => {});
            return { unreadable: batch };
          }
          throw error;
        }
        const counts = await this.#conn.runAndReadAll(sql.counts);
        const [rows, rejected] = (counts.getRows()[0] ?? [0, 0]).map(Number) as [number, number];
        for (const statement of sql.apply(rows, rejected)) await this.#conn.run(statement);
        results.push({ rows, rejected });
      }
      await this.#conn.run('COMMIT');
      return results;
    } catch (error) {
      await this.#conn.run('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  async #writeNotes(notes: readonly Note[]): Promise<void> {
    await this.#conn.run(`CREATE OR REPLACE TEMP TABLE ${NOTES} (line_no BIGINT, reason VARCHAR, line VARCHAR)`);
    for (const n of notes) await this.#conn.run(`INSERT INTO ${NOTES} VALUES ($1, $2, $3)`, [n.lineNo, n.reason, n.line]);
  }

  /** Per-batch counts for `status`'s reconciliation. */
  ledgerDetail(source: string, stream: string) {
    return readDuckLedgerDetail(this.#conn, source, stream);
  }

  async stats(t: TableSpec): Promise<TableStats> {
    const table = `raw.${qi(rawTableName(t.source, t.stream))}`;
    const exists = await this.#conn.runAndReadAll(
      `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = ${ql(rawTableName(t.source, t.stream))}`,
    );
    const rows =
      Number(exists.getRows()[0]?.[0] ?? 0) > 0 ? Number((await this.#conn.runAndReadAll(`SELECT count(*) FROM ${table}`)).getRows()[0]?.[0] ?? 0) : 0;
    const ledger = await this.#conn.runAndReadAll(
      `SELECT count(*), coalesce(sum(rejected), 0), CAST(max(loaded_at) AS VARCHAR) FROM sluice._loads WHERE source = ${ql(t.source)} AND stream = ${ql(t.stream)}`,
    );
    const [batches, rejected, last] = ledger.getRows()[0] ?? [0, 0, null];
    return { rows, batches: Number(batches), rejected: Number(rejected), lastLoadedAt: last == null ? undefined : String(last) };
  }

  async close(): Promise<void> {
    this.#conn.closeSync();
    this.#instance.closeSync();
  }
}

export const duckdbWarehouseSchema = z.strictObject({ type: z.literal('duckdb'), path: z.string().min(1) });

export const duckdbWarehouse: WarehousePlugin<z.infer<typeof duckdbWarehouseSchema>> = {
  type: 'duckdb',
  configSchema: duckdbWarehouseSchema,
  create: (config) => DuckDbWarehouse.open(config.path),
};
