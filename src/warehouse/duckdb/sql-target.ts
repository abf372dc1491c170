import fs from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { SluiceError } from '../../core/errors.js';
import type { Relation, RelationKind, SqlTarget } from '../../transform/target.js';
import { quoteIdent, relationColumns, relationKind } from '../sql.js';
import { duckdb } from './library.js';

const CONCURRENCY = 4;

/** Counts come back as bigint: plain numbers while they are exact, text beyond. */
const plainRow = (row: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : String(v)) : v;
  return out;
};

/** The transform's view of a DuckDB file: its own instance, opened after the loader closed its own. */
export class DuckDbSqlTarget implements SqlTarget {
  readonly dialect = 'duckdb';
  readonly concurrency = CONCURRENCY;
  readonly #instance: DuckDBInstance;
  readonly #idle: DuckDBConnection[] = [];
  readonly #all: DuckDBConnection[] = [];

  private constructor(instance: DuckDBInstance) {
    this.#instance = instance;
  }

  static async open(file: string): Promise<DuckDbSqlTarget> {
    try {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      // Loaded when used: DuckDB's native library is the heaviest part of starting the CLI.
      const { DuckDBInstance: Instance } = await duckdb();
      return new DuckDbSqlTarget(await Instance.create(file));
    } catch (error) {
      const busy = /lock/i.test((error as Error).message);
      throw new SluiceError('warehouse_unreachable', `cannot open the DuckDB warehouse ${file}: ${(error as Error).message.split('\n')[0]}`, {
        hint: busy ? 'another process holds the DuckDB file: wait for it to finish (or stop it) and run again' : 'check warehouse.path',
        cause: error,
      });
    }
  }

  async #with<T>(work: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    let conn = this.#idle.pop();
    if (!conn) {
      conn = await this.#instance.connect();
      this.#all.push(conn);
    }
    try {
      return await work(conn);
    } finally {
      this.#idle.push(conn);
    }
  }

  run(sql: string): Promise<void> {
    return this.#with(async (conn) => {
      await conn.run(sql);
    });
  }

  all(sql: string): Promise<Array<Record<string, unknown>>> {
    return this.#with(async (conn) => (await conn.runAndReadAll(sql)).getRowObjectsJS().map(plainRow));
  }

  atomic(statements: readonly string[]): Promise<void> {
    return this.#with(async (conn) => {
      await conn.run('BEGIN TRANSACTION');
      try {
        for (const sql of statements) await conn.run(sql);
        await conn.run('COMMIT');
      } catch (error) {
        await conn.run('ROLLBACK').catch(() => {});
        throw error;
      }
    });
  }

  quote(identifier: string): string {
    return quoteIdent(identifier);
  }

  relation(r: Relation): string {
    return `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
  }

  safeCast(expr: string, type: string): string {
    return `TRY_CAST(${expr} AS ${type})`;
  }

  kindOf(r: Relation): Promise<RelationKind | undefined> {
    return relationKind((sql) => this.all(sql), r);
  }

  columns(r: Relation): Promise<string[]> {
    return relationColumns((sql) => this.all(sql), r);
  }

  // DuckDB binds views when they are read, so dropping the old relation never touches its dependents.
  swapStatements(built: Relation, builtKind: RelationKind, target: Relation, targetKind: RelationKind | undefined): string[] {
    return [
      ...(targetKind ? [`DROP ${targetKind === 'view' ? 'VIEW' : 'TABLE'} ${this.relation(target)}`] : []),
      `ALTER ${builtKind === 'view' ? 'VIEW' : 'TABLE'} ${this.relation(built)} RENAME TO ${quoteIdent(target.name)}`,
    ];
  }

  async close(): Promise<void> {
    for (const conn of this.#all.splice(0)) conn.closeSync();
    this.#idle.length = 0;
    this.#instance.closeSync();
  }
}
