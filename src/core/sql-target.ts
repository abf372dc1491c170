/** A relation the transform builds or reads: `schema.name`, unquoted. */
export interface Relation {
  schema: string;
  name: string;
}

export type RelationKind = 'table' | 'view';

/**
 * What `transform` needs from a warehouse: plain SQL plus the few operations whose SQL differs
 * between dialects. A warehouse plug-in implements it in its own folder (`Warehouse.sqlTarget`);
 * every method may be called concurrently (models build in parallel), `atomic` runs its
 * statements on one connection.
 */
export interface SqlTarget {
  /** The warehouse type, as models see it: `{{ target.type }}`. */
  readonly dialect: string;
  /** Models built at once; 1 when the warehouse cannot build in parallel. */
  readonly concurrency: number;
  /**
   * Rebuilding a relation drops the views that read it (PostgreSQL binds views when they are
   * created): the transform then rebuilds those views too.
   */
  readonly rebuildDropsViews: boolean;
  run(sql: string): Promise<void>;
  all(sql: string): Promise<Array<Record<string, unknown>>>;
  /** Runs the statements in one transaction: all of them or none. */
  atomic(statements: readonly string[]): Promise<void>;
  quote(identifier: string): string;
  /** A string literal: `'it''s'`. */
  literal(value: string): string;
  /** A query that returns at most `rows` rows of `query`. */
  sample(query: string, rows: number): string;
  /** `"schema"."name"`. */
  relation(r: Relation): string;
  /** A SQL expression that is `expr` cast to `type`, or NULL where the cast fails. */
  safeCast(expr: string, type: string): string;
  kindOf(r: Relation): Promise<RelationKind | undefined>;
  columns(r: Relation): Promise<string[]>;
  /**
   * The statements that replace `target` (a table or view, or nothing yet) by `built` under the
   * target's name, for `atomic`: readers see the old relation or the new one, never neither.
   */
  swapStatements(built: Relation, builtKind: RelationKind, target: Relation, targetKind: RelationKind | undefined): string[];
  close(): Promise<void>;
}
