/** A relation the transform builds or reads: `schema.name`, unquoted. */
export interface Relation {
  schema: string;
  name: string;
}

export type RelationKind = 'table' | 'view';

/** The date parts the portable date macros take. */
export const DATE_PARTS = ['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second'] as const;
export type DatePart = (typeof DATE_PARTS)[number];

/**
 * The SQL behind the portable model macros (`json_text`, `date_trunc`, `dateadd`, `concat`,
 * `as_boolean`, `is_true`), as dbt's cross-database macros: a model written with them renders
 * for every warehouse, each dialect writing its own SQL. Arguments are SQL expressions.
 */
export interface ModelMacros {
  /** The text of the scalar at `path` (field names, outermost first) in the JSON `expr`; NULL when absent or JSON null. */
  jsonText(expr: string, path: readonly string[]): string;
  /** `expr` (a timestamp) truncated to the start of its `part`. */
  dateTrunc(part: DatePart, expr: string): string;
  /** `expr` (a timestamp) moved by `amount` (an integer, negative goes back) of `part`. */
  dateAdd(part: DatePart, amount: number, expr: string): string;
  /** Text expressions joined; NULL when any of them is NULL. */
  concat(exprs: readonly string[]): string;
  /** A boolean value (a column) from a condition. */
  asBoolean(condition: string): string;
  /** A condition from a boolean value (a column). */
  isTrue(expr: string): string;
}

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
   * created), or leaves them stale: the transform then rebuilds those views too.
   */
  readonly rebuildDropsViews: boolean;
  readonly macros: ModelMacros;
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
  /** The statement that creates a schema unless it exists. */
  createSchemaStatement(schema: string): string;
  /** The statements, run in turn, that create table `r` holding the rows of `query`. */
  createTableStatements(r: Relation, query: string): string[];
  /**
   * The statements, for `atomic`, that make `view` a view of `query` in place of what is there
   * (`existing`): readers see the old relation or the new one. `scratch` is a free name the
   * dialect may build the view under first.
   */
  viewStatements(view: Relation, query: string, existing: RelationKind | undefined, scratch: Relation): string[];
  /**
   * The statements that replace `target` (a table or view, or nothing yet) by the table `built`
   * under the target's name, for `atomic`: readers see the old relation or the new one, never neither.
   */
  swapStatements(built: Relation, builtKind: RelationKind, target: Relation, targetKind: RelationKind | undefined): string[];
  /**
   * The statements, for `atomic`, that merge table `from` into table `into` on `uniqueKey`: rows of
   * `into` whose key is in `from` are replaced by those of `from` (all of `from` is appended when
   * there is no key). `columns` are quoted. `from` is dropped.
   */
  mergeStatements(from: Relation, into: Relation, columns: readonly string[], uniqueKey: readonly string[]): string[];
  close(): Promise<void>;
}
