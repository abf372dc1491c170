import type { DatePart, ModelMacros } from '../core/sql-target.js';
import { quoteIdent, quoteLiteral } from './sql.js';

/**
 * The parts of a SqlTarget that DuckDB and PostgreSQL write alike: `->`/`->>` on JSON,
 * `date_trunc`, interval arithmetic, `||`, real booleans, `CREATE … AS`.
 */
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

export const standardCreateSchema = (schema: string): string => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`;

export const standardCreateTable = (relation: string, query: string): string[] => [`CREATE TABLE ${relation} AS\n${query}`];

/** The view is built under the scratch name (a broken model fails there), then swapped in. */
export const standardView = (scratch: string, query: string, swap: string[]): string[] => [`CREATE VIEW ${scratch} AS\n${query}`, ...swap];

/** Delete the rows whose key the new rows carry, then insert the new rows. */
export function standardMerge(from: string, into: string, columns: readonly string[], uniqueKey: readonly string[]): string[] {
  const match = uniqueKey.map((k) => `s.${quoteIdent(k)} = t.${quoteIdent(k)}`).join(' AND ');
  const cols = columns.join(', ');
  return [
    ...(uniqueKey.length > 0 ? [`DELETE FROM ${into} AS t WHERE EXISTS (SELECT 1 FROM ${from} AS s WHERE ${match})`] : []),
    `INSERT INTO ${into} (${cols}) SELECT ${cols} FROM ${from}`,
    `DROP TABLE ${from}`,
  ];
}
