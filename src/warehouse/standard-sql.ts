import type { DatePart, ModelMacros, Relation, RelationKind, SqlTarget } from '../core/sql-target.js';
import { quoteIdent, quoteLiteral, relationColumns, relationKind } from './sql.js';

/** The macros DuckDB and PostgreSQL write alike: `->`/`->>` on JSON, `date_trunc`, interval arithmetic, `||`, real booleans. */
export const STANDARD_MACROS: ModelMacros = {
  jsonText(expr, path) {
    const steps = path.map(quoteLiteral);
    const last = steps.pop();
    return `${expr}${steps.map((s) => `->${s}`).join('')}->>${last}`;
  },
  dateTrunc: (part, expr) => `date_trunc(${quoteLiteral(part)}, ${expr})`,
  // Intervals have no quarters: three months each.
  dateAdd: (part: DatePart, amount, expr) => `(${expr}) + interval '${part === 'quarter' ? amount * 3 : amount} ${part === 'quarter' ? 'month' : part}'`,
  concat: (exprs) => exprs.join(' || '),
  asBoolean: (condition) => `(${condition})`,
  isTrue: (expr) => `(${expr})`,
};

/**
 * The half of a SqlTarget that DuckDB and PostgreSQL write alike; each subclass adds its
 * connections, its `safeCast` and how it swaps a relation in.
 */
export abstract class StandardSqlTarget implements SqlTarget {
  abstract readonly dialect: string;
  abstract readonly concurrency: number;
  abstract readonly rebuildDropsViews: boolean;
  readonly macros = STANDARD_MACROS;

  abstract run(sql: string): Promise<void>;
  abstract all(sql: string): Promise<Array<Record<string, unknown>>>;
  abstract atomic(statements: readonly string[]): Promise<void>;
  abstract safeCast(expr: string, type: string): string;
  abstract swapStatements(built: Relation, builtKind: RelationKind, target: Relation, targetKind: RelationKind | undefined): string[];
  abstract close(): Promise<void>;

  quote(identifier: string): string {
    return quoteIdent(identifier);
  }

  literal(value: string): string {
    return quoteLiteral(value);
  }

  sample(query: string, rows: number): string {
    return `SELECT * FROM (${query}) AS sampled LIMIT ${rows}`;
  }

  relation(r: Relation): string {
    return `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
  }

  kindOf(r: Relation): Promise<RelationKind | undefined> {
    return relationKind((sql) => this.all(sql), r);
  }

  columns(r: Relation): Promise<string[]> {
    return relationColumns((sql) => this.all(sql), r);
  }

  createSchemaStatement(schema: string): string {
    return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`;
  }

  createTableStatements(r: Relation, query: string): string[] {
    return [`CREATE TABLE ${this.relation(r)} AS\n${query}`];
  }

  /** The view is built under the scratch name (a broken model fails there), then swapped in. */
  viewStatements(view: Relation, query: string, existing: RelationKind | undefined, scratch: Relation): string[] {
    return [`CREATE VIEW ${this.relation(scratch)} AS\n${query}`, ...this.swapStatements(scratch, 'view', view, existing)];
  }

  /** Delete the rows whose key the new rows carry, then insert the new rows. */
  mergeStatements(from: Relation, into: Relation, columns: readonly string[], uniqueKey: readonly string[]): string[] {
    const match = uniqueKey.map((k) => `s.${quoteIdent(k)} = t.${quoteIdent(k)}`).join(' AND ');
    const cols = columns.join(', ');
    return [
      ...(uniqueKey.length > 0 ? [`DELETE FROM ${this.relation(into)} AS t WHERE EXISTS (SELECT 1 FROM ${this.relation(from)} AS s WHERE ${match})`] : []),
      `INSERT INTO ${this.relation(into)} (${cols}) SELECT ${cols} FROM ${this.relation(from)}`,
      `DROP TABLE ${this.relation(from)}`,
    ];
  }
}
