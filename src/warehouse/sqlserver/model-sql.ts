import type { DatePart, ModelMacros, Relation, RelationKind } from '../../core/sql-target.js';
import { jsonPath, nstr, qid } from './tsql.js';

/** T-SQL for the models: what SqlServerSqlTarget writes, kept apart from its connections. */
export const relationSql = (r: Relation): string => `${qid(r.schema)}.${qid(r.name)}`;

/** Model types as the models write them (PostgreSQL/DuckDB names) → T-SQL; `timestamp` is rowversion there. */
const TYPES: Record<string, string> = {
  date: 'DATE',
  bigint: 'BIGINT',
  int8: 'BIGINT',
  integer: 'INT',
  int: 'INT',
  int4: 'INT',
  double: 'FLOAT',
  'double precision': 'FLOAT',
  float8: 'FLOAT',
  float: 'FLOAT',
  numeric: 'DECIMAL(38, 10)',
  decimal: 'DECIMAL(38, 10)',
  boolean: 'BIT',
  bool: 'BIT',
  text: 'NVARCHAR(MAX)',
  varchar: 'NVARCHAR(MAX)',
  string: 'NVARCHAR(MAX)',
  timestamptz: 'DATETIMEOFFSET',
  'timestamp with time zone': 'DATETIMEOFFSET',
};

/**
 * TRY_CAST: NULL where the cast fails. A timestamp goes through DATETIMEOFFSET, which reads ISO
 * 8601 with `Z` or an offset as well as `YYYY-MM-DD hh:mm:ss`, then keeps the clock time as
 * PostgreSQL's `timestamp` does.
 */
export function safeCastSql(expr: string, type: string): string {
  const key = type.trim().toLowerCase();
  if (key === 'timestamp' || key === 'datetime2' || key === 'timestamp without time zone') return `CAST(TRY_CAST(${expr} AS DATETIMEOFFSET) AS DATETIME2)`;
  return `TRY_CAST(${expr} AS ${TYPES[key] ?? type})`;
}

const EPOCH = "CAST('2000-01-01' AS DATETIME2)";
/** 2000-01-03 was a Monday: weeks start on Mondays, as in PostgreSQL and DuckDB. */
const MONDAY = "CAST('2000-01-03' AS DATETIME2)";
const dayOf = (expr: string) => `CAST(CAST(${expr} AS DATE) AS DATETIME2)`;

/**
 * The portable macros in T-SQL, for SQL Server 2017 and later (DATETRUNC came only in 2022).
 * Counting hours, minutes and seconds from the start of the value's own day keeps DATEDIFF
 * within its int range.
 */
export const TSQL_MACROS: ModelMacros = {
  // JSON_VALUE reads scalars (at most 4,000 characters); objects and arrays give NULL.
  jsonText: (expr, path) => `JSON_VALUE(${expr}, ${nstr(jsonPath(path))})`,
  dateTrunc(part: DatePart, expr) {
    if (part === 'week') return `DATEADD(day, CAST(FLOOR(DATEDIFF(day, ${MONDAY}, ${expr}) / 7.0) AS INT) * 7, ${MONDAY})`;
    if (part === 'hour' || part === 'minute' || part === 'second') return `DATEADD(${part}, DATEDIFF(${part}, ${dayOf(expr)}, ${expr}), ${dayOf(expr)})`;
    return `DATEADD(${part}, DATEDIFF(${part}, ${EPOCH}, ${expr}), ${EPOCH})`;
  },
  dateAdd: (part, amount, expr) => `DATEADD(${part}, ${amount}, ${expr})`,
  // `+` keeps NULL NULL, as `||` does; CONCAT() would read it as ''.
  concat: (exprs) => `(${exprs.map((e) => `CAST(${e} AS NVARCHAR(MAX))`).join(' + ')})`,
  asBoolean: (condition) => `CAST(CASE WHEN ${condition} THEN 1 WHEN NOT (${condition}) THEN 0 END AS BIT)`,
  isTrue: (expr) => `(${expr}) = 1`,
};

export const createSchemaSql = (schema: string): string => `IF SCHEMA_ID(${nstr(schema)}) IS NULL EXEC(${nstr(`CREATE SCHEMA ${qid(schema)}`)})`;

/**
 * T-SQL has no CREATE TABLE … AS, and SELECT … INTO cannot follow a query's own WITH: the query
 * becomes a view, the table is selected into from it, and the view is dropped (a view a killed
 * build left is dropped first).
 */
export function createTableSql(r: Relation, query: string): string[] {
  const source = relationSql({ schema: r.schema, name: `${r.name}_q` });
  return [`DROP VIEW IF EXISTS ${source}`, `CREATE VIEW ${source} AS\n${query}`, `SELECT * INTO ${relationSql(r)} FROM ${source}`, `DROP VIEW ${source}`];
}

/**
 * A view is replaced where it stands with CREATE OR ALTER VIEW: renaming a view (sp_rename)
 * would leave its old name in its stored definition. A table in its place is dropped first.
 */
export const viewSql = (view: Relation, query: string, existing: RelationKind | undefined): string[] =>
  existing === 'table'
    ? [`DROP TABLE ${relationSql(view)}`, `CREATE VIEW ${relationSql(view)} AS\n${query}`]
    : [`CREATE OR ALTER VIEW ${relationSql(view)} AS\n${query}`];

/** The built table takes the target's name: the old relation is dropped and the new one renamed, in one transaction. */
export function swapSql(built: Relation, target: Relation, targetKind: RelationKind | undefined): string[] {
  return [
    ...(targetKind ? [`DROP ${targetKind === 'view' ? 'VIEW' : 'TABLE'} ${relationSql(target)}`] : []),
    `EXEC sp_rename ${nstr(relationSql(built))}, ${nstr(target.name)}, N'OBJECT'`,
  ];
}

export function mergeSql(from: Relation, into: Relation, columns: readonly string[], uniqueKey: readonly string[]): string[] {
  const match = uniqueKey.map((k) => `s.${qid(k)} = t.${qid(k)}`).join(' AND ');
  const cols = columns.join(', ');
  return [
    ...(uniqueKey.length > 0 ? [`DELETE t FROM ${relationSql(into)} AS t WHERE EXISTS (SELECT 1 FROM ${relationSql(from)} AS s WHERE ${match})`] : []),
    `INSERT INTO ${relationSql(into)} (${cols}) SELECT ${cols} FROM ${relationSql(from)}`,
    `DROP TABLE ${relationSql(from)}`,
  ];
}

export const kindSql = (r: Relation): string =>
  `SELECT CASE RTRIM([type]) WHEN 'V' THEN 'view' ELSE 'table' END AS kind FROM sys.objects WHERE object_id = OBJECT_ID(${nstr(relationSql(r))}) AND RTRIM([type]) IN ('U', 'V')`;

export const columnsSql = (r: Relation): string => `SELECT [name] FROM sys.columns WHERE object_id = OBJECT_ID(${nstr(relationSql(r))}) ORDER BY column_id`;
