import { DATE_PARTS, type DatePart, type ModelMacros } from '../core/sql-target.js';

/**
 * The macros a model calls where dialects differ, as dbt's cross-database macros: each renders
 * the SQL of the warehouse the model builds on (`SqlTarget.macros`). Arguments are SQL expressions
 * as strings, as in dbt: `{{ json_text('data', 'actor.login') }}`, `{{ date_trunc('hour', 'created_at') }}`.
 * A wrong argument fails the render, which names the model and line.
 */
export function portableMacros(m: ModelMacros) {
  return {
    /** The text at a dotted path in a JSON column: `json_text('data', 'repo.name')`. */
    json_text: (expr: unknown, path: unknown) => m.jsonText(sql(expr, 'json_text'), jsonPath(path)),
    date_trunc: (part: unknown, expr: unknown) => m.dateTrunc(datePart(part, 'date_trunc'), sql(expr, 'date_trunc')),
    /** dbt's argument order: `dateadd('hour', -6, 'max(activity_hour)')`. */
    dateadd: (part: unknown, amount: unknown, expr: unknown) => m.dateAdd(datePart(part, 'dateadd'), integer(amount), sql(expr, 'dateadd')),
    /** `concat(['a', "'-'", 'b'])`, or the expressions as arguments. */
    concat: (...exprs: unknown[]) => m.concat((exprs.length === 1 && Array.isArray(exprs[0]) ? exprs[0] : exprs).map((e) => sql(e, 'concat'))),
    as_boolean: (condition: unknown) => m.asBoolean(sql(condition, 'as_boolean')),
    is_true: (expr: unknown) => m.isTrue(sql(expr, 'is_true')),
  };
}

function sql(value: unknown, macro: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`${macro}() takes SQL expressions as quoted strings, e.g. 'created_at'`);
  return value;
}

function jsonPath(value: unknown): string[] {
  const path = typeof value === 'string' ? value.split('.') : [];
  if (path.length === 0 || path.some((p) => p === '')) throw new Error(`json_text() takes a dotted path of field names, e.g. 'actor.login'`);
  return path;
}

function datePart(value: unknown, macro: string): DatePart {
  const part = String(value).toLowerCase();
  if (!(DATE_PARTS as readonly string[]).includes(part)) throw new Error(`${macro}() takes a date part: ${DATE_PARTS.join(', ')}`);
  return part as DatePart;
}

function integer(value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`dateadd() takes a whole number of date parts, e.g. -6`);
  return n;
}
