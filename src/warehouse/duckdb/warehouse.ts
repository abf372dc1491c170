import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { SluiceError } from '../../core/errors.js';
import { makeTempDir } from '../../core/fs/temp-files.js';
import { collectGarbage, releaseNativeMemory } from '../../core/memory.js';
import type { SqlTarget } from '../../core/sql-target.js';
import { rawTableName } from '../../core/tables.js';
import type { BatchToLoad, LedgerEntry, LoadResult, SameContent, TableSpec, TableStats, Warehouse } from '../../core/warehouse.js';
import { describeGroup, localFile } from '../ledger-rules.js';
import { quoteIdent as qi, quoteLiteral as ql } from '../sql.js';
import { DEFAULT_LOAD_MEMORY_LIMIT, DUCKDB_CAPABILITIES, sizeInBytes } from './config.js';
import { LEDGER_SETUP, readDuckLedger, readDuckLedgerDetail, recordDuckVersions } from './ledger.js';
import { duckdb } from './library.js';
import { isOutOfMemory, isUnreadable, loadGroup } from './load-group.js';
import { type BatchSource, lineReader, SCRATCH } from './load-sql.js';
import { type Note, sanitizeBatch } from './sanitize.js';
import { readDuckSchema, readDuckSchemaChanges, readDuckTimeFields, SCHEMA_SETUP } from './schema-sql.js';
import { DuckDbSqlTarget } from './sql-target.js';

const SETUP = [
  'CREATE SCHEMA IF NOT EXISTS raw',
  'CREATE SCHEMA IF NOT EXISTS sluice',
  ...LEDGER_SETUP,
  `CREATE TABLE IF NOT EXISTS sluice._rejects (
     batch_key VARCHAR NOT NULL, line_number BIGINT NOT NULL, reason VARCHAR NOT NULL, line VARCHAR,
     run_id VARCHAR, rejected_at TIMESTAMPTZ NOT NULL)`,
  ...SCHEMA_SETUP,
];

const ROW_GROUP_SIZE = 8192;

/** Passes a group is staged in when a vector of its rows does not fit under the cap, narrower each time (see `sliceOf`). */
const NARROWER = [1, 8, 64];

interface WorkSettings {
  memoryLimit: string;
  modelSettings: { memoryLimit: string; threads: number };
}

/** The embedded default warehouse: one DuckDB file, read by DuckDB's own CSV/JSON readers. */
export class DuckDbWarehouse implements Warehouse {
  readonly type = 'duckdb';
  readonly capabilities = DUCKDB_CAPABILITIES;
  readonly #instance: DuckDBInstance;
  readonly #conn: DuckDBConnection;
  /** Reads the stage for the schema check while `#conn` writes it to the table (see load-group.ts). */
  readonly #side: DuckDBConnection;
  readonly #tables = new Set<string>();
  readonly #targets = new Set<DuckDbSqlTarget>();
  /** The table the last load wrote: a load of another one follows a fetch, whose garbage goes first. */
  #lastTable: string | undefined;
  /** Per table, the passes its last group needed (rows dense with values): the next group starts there. */
  readonly #slices = new Map<string, number>();

  /** Where cleaned copies of unreadable batches go (see sanitize.ts). */
  readonly #tempDir: string;

  /** The load's cap, and what models get instead while a SQL target is open. */
  readonly #settings: WorkSettings;

  private constructor(instance: DuckDBInstance, conn: DuckDBConnection, side: DuckDBConnection, tempDir: string, settings: WorkSettings) {
    this.#instance = instance;
    this.#conn = conn;
    this.#side = side;
    this.#tempDir = tempDir;
    this.#settings = settings;
  }

  /** `tempDir`: a folder swept of a killed run's leftovers (the state dir's `tmp`); default the system's. */
  static async open(file: string, o: { memoryLimit?: string; tempDir?: string } = {}): Promise<DuckDbWarehouse> {
    const memoryLimit = o.memoryLimit ?? DEFAULT_LOAD_MEMORY_LIMIT;
    // What the run left behind (a fetch's dead buffers) goes before DuckDB takes its share.
    collectGarbage();
    let instance: DuckDBInstance;
    let conn: DuckDBConnection;
    let side: DuckDBConnection;
    try {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      const { DuckDBInstance } = await duckdb();
      // One thread keeps each file's lines in order while they are numbered. The memory cap holds
      // because nothing the load builds must stay in memory (no index over the raw tables).
      // What outgrows the cap (a full snapshot's stage: hundreds of MB) spills beside the warehouse
      // file, as DuckDB does for a file database; an in-memory one would use `.tmp` in whatever
      // folder sluice was started from, which may not be writable.
      instance = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: memoryLimit, temp_directory: `${file}.tmp` });
      conn = await instance.connect();
      await releaseMemory(conn); // what the process freed before the load, e.g. a fetch's buffers
      // Small row groups are written out as they fill, instead of a whole group of wide JSON rows
      // (about 120,000 by default) waiting in memory.
      await conn.run(`ATTACH ${ql(file)} AS warehouse (ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`);
      await conn.run('USE warehouse');
      await conn.run(`ATTACH ':memory:' AS ${SCRATCH}`);
      side = await instance.connect();
      await side.run('USE warehouse');
    } catch (error) {
      const busy = /lock/i.test((error as Error).message);
      throw new SluiceError('warehouse_unreachable', `cannot open the DuckDB warehouse ${file}: ${(error as Error).message.split('\n')[0]}`, {
        hint: busy ? 'another process holds the DuckDB file: wait for it to finish (or stop it) and run again' : 'check warehouse.path',
        cause: error,
      });
    }
    const modelSettings = { memoryLimit: o.memoryLimit ?? `${Math.floor((os.totalmem() * 0.8) / 2 ** 20)}MB`, threads: os.availableParallelism() };
    const wh = new DuckDbWarehouse(instance, conn, side, o.tempDir ?? os.tmpdir(), { memoryLimit, modelSettings });
    for (const sql of SETUP) await conn.run(sql);
    return wh;
  }

  async #ensureTable(t: TableSpec): Promise<string> {
    const name = `raw.${qi(rawTableName(t.source, t.stream))}`;
    if (this.#tables.has(name)) return name;
    // The key is unique because every load merges on it; no PRIMARY KEY constraint, whose index
    // DuckDB must hold in memory whole (it grows with the table and defeats the memory cap).
    const keys = t.primaryKey.map((k) => `${qi(k)} VARCHAR NOT NULL`).join(', ');
    await this.#conn.run(
      `CREATE TABLE IF NOT EXISTS ${name} (${keys}, data JSON, _sluice_partition TIMESTAMP, _sluice_batch VARCHAR, _sluice_loaded_at TIMESTAMPTZ)`,
    );
    this.#tables.add(name);
    return name;
  }

  ledger(source: string, stream: string): Promise<Map<string, LedgerEntry>> {
    return readDuckLedger(this.#conn, source, stream);
  }

  recordVersions(source: string, stream: string, batches: readonly SameContent[]): Promise<void> {
    return recordDuckVersions(this.#conn, source, stream, batches);
  }

  async load(t: TableSpec, batches: readonly BatchToLoad[], runId: string): Promise<LoadResult[]> {
    await this.#restoring;
    const table = await this.#ensureTable(t);
    if (this.#lastTable !== undefined && this.#lastTable !== table) collectGarbage();
    this.#lastTable = table;
    const cleaned = new Map<string, { source: BatchSource; notes: Note[] }>();
    let tmp: string | undefined;
    let slices = this.#slices.get(table) ?? 1;
    let raised: string | undefined;
    try {
      // A batch DuckDB cannot read line by line (bad UTF-8, a CR) fails the transaction: find it,
      // clean a copy of it and try the group again. Each batch is cleaned at most once.
      for (;;) {
        let attempt: LoadResult[] | { unreadable: Error };
        try {
          attempt = await loadGroup({ conn: this.#conn, side: this.#side }, table, t, batches, runId, cleaned, slices);
        } catch (error) {
          // Rows dense with values (long arrays of numbers) can need more than the cap while they
          // are parsed: stage them in narrow passes, then, if a single row still needs more, with
          // a larger cap for this group alone (the load says so).
          if (!isOutOfMemory(error)) throw error;
          const narrower = NARROWER.find((n) => n > slices);
          if (narrower) {
            slices = narrower;
            this.#slices.set(table, slices);
          } else if (!raised) raised = await this.#raiseCap();
          else throw outOfMemory(batches, raised, error);
          continue;
        }
        if (!('unreadable' in attempt)) return raised ? attempt.map((r) => (r.skipped ? r : { ...r, memoryRaisedTo: raised })) : attempt;
        const culprits = await this.#unreadable(batches.filter((b) => !cleaned.has(b.key)));
        if (culprits.length === 0) throw attempt.unreadable;
        for (const batch of culprits) {
          tmp ??= await makeTempDir(this.#tempDir, 'duckdb');
          const file = path.join(tmp, `${cleaned.size}.jsonl`);
          const notes = await sanitizeBatch(batch.key, localFile(batch), file);
          cleaned.set(batch.key, { source: { file, compression: 'none', notes: notes.length > 0 }, notes });
        }
      }
    } catch (error) {
      if (error instanceof SluiceError) throw error;
      const group = describeGroup(batches);
      throw new SluiceError('internal', `loading ${group.name} into DuckDB failed: ${(error as Error).message.split('\n')[0]}`, {
        retryable: true,
        context: group.context,
        cause: error,
      });
    } finally {
      if (raised) await this.#conn.run(`SET memory_limit = ${ql(this.#settings.memoryLimit)}`);
      if (tmp) await fs.promises.rm(tmp, { recursive: true, force: true });
    }
  }

  /** The cap one group may use when its rows need more than the load's: 4× it, at least 1GB, at most DuckDB's default (80 % of the memory). */
  async #raiseCap(): Promise<string> {
    const cap = sizeInBytes(this.#settings.memoryLimit) ?? 0;
    const raised = `${Math.floor(Math.min(Math.max(4 * cap, 2 ** 30), os.totalmem() * 0.8) / 2 ** 20)}MiB`;
    await this.#conn.run(`SET memory_limit = ${ql(raised)}`);
    return raised;
  }

  /** The batches DuckDB's line reader refuses, each read alone. */
  async #unreadable(batches: readonly BatchToLoad[]): Promise<BatchToLoad[]> {
    const out: BatchToLoad[] = [];
    for (const b of batches) {
      try {
        await this.#conn.run(`SELECT count(*) FROM ${lineReader({ file: localFile(b), compression: 'gzip' })}`);
      } catch (error) {
        if (isUnreadable(error)) out.push(b);
      }
    }
    return out;
  }

  /** Per-batch counts for `status`'s reconciliation. */
  ledgerDetail(source: string, stream: string) {
    return readDuckLedgerDetail(this.#conn, source, stream);
  }

  schema(source: string, stream: string) {
    return readDuckSchema(this.#conn, source, stream);
  }

  schemaChanges(source: string, stream: string, limit?: number) {
    return readDuckSchemaChanges(this.#conn, source, stream, limit);
  }

  async timeFields(t: TableSpec, names: readonly string[]) {
    const exists = await this.#conn.runAndReadAll(
      `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = ${ql(rawTableName(t.source, t.stream))}`,
    );
    if (Number(exists.getRows()[0]?.[0] ?? 0) === 0) return new Map();
    return readDuckTimeFields(this.#conn, `raw.${qi(rawTableName(t.source, t.stream))}`, names);
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

  /**
   * Models build over this instance, on connections of their own, with the memory and threads of
   * model work (see config.ts) until the last target closes; loads and models never overlap.
   */
  async sqlTarget(): Promise<SqlTarget> {
    if (this.#targets.size === 0) await this.#apply(this.#settings.modelSettings);
    const connect = async () => {
      const conn = await this.#instance.connect();
      await conn.run('USE warehouse');
      return conn;
    };
    const target = new DuckDbSqlTarget(connect, (closed) => {
      this.#targets.delete(closed);
      if (this.#targets.size === 0) this.#restoring = this.#apply({ memoryLimit: this.#settings.memoryLimit, threads: 1 }).catch(() => {});
    });
    this.#targets.add(target);
    return target;
  }

  /** Settings going back to the load's: the next load waits for them. */
  #restoring: Promise<void> | undefined;

  async #apply(s: { memoryLimit: string; threads: number }): Promise<void> {
    await this.#conn.run(`SET memory_limit = ${ql(s.memoryLimit)}`);
    await this.#conn.run(`SET threads = ${s.threads}`);
  }

  async close(): Promise<void> {
    for (const target of [...this.#targets]) await target.close();
    await this.#restoring;
    this.#side.closeSync();
    this.#conn.closeSync();
    this.#instance.closeSync();
  }
}

/** The group needed more than the raised cap too: only a larger `memory_limit` (raised 4× in turn) can load it. */
function outOfMemory(batches: readonly BatchToLoad[], raised: string, cause: unknown): SluiceError {
  const group = describeGroup(batches);
  return new SluiceError('internal', `loading ${group.name} into DuckDB needs more memory than ${raised}: ${(cause as Error).message.split('\n')[0]}`, {
    hint: `a row of it holds more values than DuckDB can parse in ${raised} (about 16 bytes each); set warehouse.memory_limit to ${raised} or more and run again`,
    context: group.context,
    cause,
  });
}

/** Relaunches DuckDB's worker threads, which flushes its allocator and trims the C heap (see core/memory.ts). */
function releaseMemory(conn: DuckDBConnection): Promise<void> {
  return releaseNativeMemory(async () => {
    await conn.run('SET threads = 2');
    await conn.run('SET threads = 1');
  });
}
