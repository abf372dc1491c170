import type { DuckDBConnection } from '@duckdb/node-api';
import type { Relation, RelationKind } from '../../core/sql-target.js';
import { quoteIdent } from '../sql.js';
import { StandardSqlTarget } from '../standard-sql.js';

const CONCURRENCY = 4;

/** Counts come back as bigint: plain numbers while they are exact, text beyond. */
const plainRow = (row: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : String(v)) : v;
  return out;
};

/**
 * The transform's view of the DuckDB warehouse: connections of the loader's own instance (its
 * memory cap and spill folder), each on the attached warehouse file, so models build in parallel
 * and nothing opens the file a second time.
 */
export class DuckDbSqlTarget extends StandardSqlTarget {
  readonly dialect = 'duckdb';
  readonly concurrency = CONCURRENCY;
  // DuckDB binds views when they are read, so rebuilding a relation never touches its dependents.
  readonly rebuildDropsViews = false;
  readonly #connect: () => Promise<DuckDBConnection>;
  readonly #onClose: (target: DuckDbSqlTarget) => void;
  readonly #idle: DuckDBConnection[] = [];
  readonly #all: DuckDBConnection[] = [];

  /** `connect`: a new connection whose default catalog is the warehouse; `onClose`: told when the target closes. */
  constructor(connect: () => Promise<DuckDBConnection>, onClose: (target: DuckDbSqlTarget) => void = () => {}) {
    super();
    this.#connect = connect;
    this.#onClose = onClose;
  }

  async #with<T>(work: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    let conn = this.#idle.pop();
    if (!conn) {
      conn = await this.#connect();
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

  safeCast(expr: string, type: string): string {
    return `TRY_CAST(${expr} AS ${type})`;
  }

  swapStatements(built: Relation, builtKind: RelationKind, target: Relation, targetKind: RelationKind | undefined): string[] {
    return [
      ...(targetKind ? [`DROP ${targetKind === 'view' ? 'VIEW' : 'TABLE'} ${this.relation(target)}`] : []),
      `ALTER ${builtKind === 'view' ? 'VIEW' : 'TABLE'} ${this.relation(built)} RENAME TO ${quoteIdent(target.name)}`,
    ];
  }

  async close(): Promise<void> {
    for (const conn of this.#all.splice(0)) conn.closeSync();
    this.#idle.length = 0;
    this.#onClose(this);
  }
}
