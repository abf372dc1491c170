import type { Relation, RelationKind, SqlTarget } from '../../core/sql-target.js';
import { type OpenPool, openPool } from './connection.js';
import { connectError } from './errors.js';
import { columnsSql, createSchemaSql, createTableSql, kindSql, mergeSql, relationSql, safeCastSql, swapSql, TSQL_MACROS, viewSql } from './model-sql.js';
import type { MssqlTarget } from './target.js';
import { nstr, qid } from './tsql.js';

const CONCURRENCY = 4;

/** The transform's view of SQL Server: a small pool over the warehouse's database, for models built in parallel. */
export class SqlServerSqlTarget implements SqlTarget {
  readonly dialect = 'sqlserver';
  readonly concurrency = CONCURRENCY;
  readonly macros = TSQL_MACROS;
  // A view keeps the column list it had when it was created: rebuild the views over a rebuilt relation.
  readonly rebuildDropsViews = true;
  readonly #pool: OpenPool;
  readonly #onClose: (target: SqlServerSqlTarget) => void;

  private constructor(pool: OpenPool, onClose: (target: SqlServerSqlTarget) => void) {
    this.#pool = pool;
    this.#onClose = onClose;
  }

  /** `onClose`: told when the target closes. */
  static async open(target: MssqlTarget, onClose: (target: SqlServerSqlTarget) => void = () => {}): Promise<SqlServerSqlTarget> {
    try {
      return new SqlServerSqlTarget(await openPool(target, { max: CONCURRENCY, app: 'sluice-transform' }), onClose);
    } catch (error) {
      throw connectError(error, target);
    }
  }

  async run(sql: string): Promise<void> {
    await this.#pool.query(sql);
  }

  all(sql: string): Promise<Array<Record<string, unknown>>> {
    return this.#pool.query(sql);
  }

  atomic(statements: readonly string[]): Promise<void> {
    return this.#pool.transaction(async (tx) => {
      await tx.query('SET XACT_ABORT ON');
      for (const sql of statements) await tx.query(sql);
    });
  }

  quote(identifier: string): string {
    return qid(identifier);
  }

  literal(value: string): string {
    return nstr(value);
  }

  sample(query: string, rows: number): string {
    return `SELECT TOP (${rows}) * FROM (${query}) AS sampled`;
  }

  relation(r: Relation): string {
    return relationSql(r);
  }

  safeCast(expr: string, type: string): string {
    return safeCastSql(expr, type);
  }

  async kindOf(r: Relation): Promise<RelationKind | undefined> {
    const [row] = await this.all(kindSql(r));
    return row ? (row.kind as RelationKind) : undefined;
  }

  async columns(r: Relation): Promise<string[]> {
    return (await this.all(columnsSql(r))).map((row) => String(row.name));
  }

  createSchemaStatement(schema: string): string {
    return createSchemaSql(schema);
  }

  createTableStatements(r: Relation, query: string): string[] {
    return createTableSql(r, query);
  }

  viewStatements(view: Relation, query: string, existing: RelationKind | undefined): string[] {
    return viewSql(view, query, existing);
  }

  swapStatements(built: Relation, _builtKind: RelationKind, target: Relation, targetKind: RelationKind | undefined): string[] {
    return swapSql(built, target, targetKind);
  }

  mergeStatements(from: Relation, into: Relation, columns: readonly string[], uniqueKey: readonly string[]): string[] {
    return mergeSql(from, into, columns, uniqueKey);
  }

  async close(): Promise<void> {
    this.#onClose(this);
    await this.#pool.close();
  }
}
