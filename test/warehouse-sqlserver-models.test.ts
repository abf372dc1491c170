import { describe, expect, it } from 'vitest';
import type { SqlTarget } from '../src/core/sql-target.js';
import { BUNDLED_DIR } from '../src/transform/bundled.js';
import { compileModel } from '../src/transform/materialize.js';
import { loadTransformProject } from '../src/transform/models.js';
import { parseTemplate, render } from '../src/transform/template.js';
import { DuckDbSqlTarget } from '../src/warehouse/duckdb/sql-target.js';
import {
  createSchemaSql,
  createTableSql,
  kindSql,
  mergeSql,
  relationSql,
  safeCastSql,
  swapSql,
  TSQL_MACROS,
  viewSql,
} from '../src/warehouse/sqlserver/model-sql.js';

/**
 * The T-SQL the transform sends to SQL Server, read for what matters (no server runs here; the
 * live suite builds the bundled models on one). The SQL of the models comes from the plug-in's
 * own functions, as SqlServerSqlTarget calls them.
 */
const tsql = { dialect: 'sqlserver', relation: relationSql, safeCast: safeCastSql, macros: TSQL_MACROS } as unknown as SqlTarget;
const duck: SqlTarget = new DuckDbSqlTarget(async () => {
  throw new Error('no connection: only SQL text is asked for');
});
const rel = (name: string) => ({ schema: 'analytics', name });

/** Every bundled model rendered for a target: incremental models both ways. */
function renderBundled(target: SqlTarget): Map<string, string> {
  const project = loadTransformProject(BUNDLED_DIR);
  const out = new Map<string, string>();
  for (const [name, model] of project.models) {
    out.set(name, compileModel(target, model, project.models, false));
    if (model.materialized === 'incremental') out.set(`${name} (incremental)`, compileModel(target, model, project.models, true));
  }
  return out;
}

describe('SQL Server models: the statements around them', () => {
  it('a table model: the query becomes a view, the table is selected into from it, the view dropped', () => {
    expect(createTableSql(rel("dim_x]'s__sluice_tmp"), 'with a as (select 1 as n) select n from a')).toEqual([
      "DROP VIEW IF EXISTS [analytics].[dim_x]]'s__sluice_tmp_q]",
      "CREATE VIEW [analytics].[dim_x]]'s__sluice_tmp_q] AS\nwith a as (select 1 as n) select n from a",
      "SELECT * INTO [analytics].[dim_x]]'s__sluice_tmp] FROM [analytics].[dim_x]]'s__sluice_tmp_q]",
      "DROP VIEW [analytics].[dim_x]]'s__sluice_tmp_q]",
    ]);
  });

  it('the built table takes the name with sp_rename (its arguments N-literals) after the old relation is dropped', () => {
    expect(swapSql(rel('m__sluice_tmp'), rel("it's"), 'view')).toEqual([
      "DROP VIEW [analytics].[it's]",
      "EXEC sp_rename N'[analytics].[m__sluice_tmp]', N'it''s', N'OBJECT'",
    ]);
    expect(swapSql(rel('m__sluice_tmp'), rel('m'), undefined)).toHaveLength(1);
  });

  it('a view is replaced where it stands (CREATE OR ALTER VIEW); a table in its place is dropped in the same transaction', () => {
    expect(viewSql(rel('v'), 'select 1 as n', 'view')).toEqual(['CREATE OR ALTER VIEW [analytics].[v] AS\nselect 1 as n']);
    expect(viewSql(rel('v'), 'select 1 as n', undefined)).toEqual(['CREATE OR ALTER VIEW [analytics].[v] AS\nselect 1 as n']);
    expect(viewSql(rel('v'), 'select 1 as n', 'table')).toEqual(['DROP TABLE [analytics].[v]', 'CREATE VIEW [analytics].[v] AS\nselect 1 as n']);
  });

  it('incremental: rows whose unique key the new rows carry are deleted, then the new rows inserted', () => {
    const [del, ins, drop] = mergeSql(rel('new'), rel('m'), ['[a]', '[b]'], ['a', 'b]']);
    expect(del).toBe('DELETE t FROM [analytics].[m] AS t WHERE EXISTS (SELECT 1 FROM [analytics].[new] AS s WHERE s.[a] = t.[a] AND s.[b]]] = t.[b]]])');
    expect(ins).toBe('INSERT INTO [analytics].[m] ([a], [b]) SELECT [a], [b] FROM [analytics].[new]');
    expect(drop).toBe('DROP TABLE [analytics].[new]');
    expect(mergeSql(rel('new'), rel('m'), ['[a]'], [])).toHaveLength(2);
  });

  it('schemas, kinds and casts in T-SQL', () => {
    expect(createSchemaSql("o'k")).toBe("IF SCHEMA_ID(N'o''k') IS NULL EXEC(N'CREATE SCHEMA [o''k]')");
    expect(kindSql(rel('m'))).toContain("OBJECT_ID(N'[analytics].[m]')");
    // `timestamp` is rowversion in T-SQL: it must never reach the server as a type.
    expect(safeCastSql('x', 'timestamp')).toBe('CAST(TRY_CAST(x AS DATETIMEOFFSET) AS DATETIME2)');
    expect(safeCastSql('x', 'bigint')).toBe('TRY_CAST(x AS BIGINT)');
    expect(safeCastSql('x', 'double')).toBe('TRY_CAST(x AS FLOAT)');
    expect(safeCastSql('x', 'text')).toBe('TRY_CAST(x AS NVARCHAR(MAX))');
    expect(safeCastSql('x', 'DECIMAL(10, 2)')).toBe('TRY_CAST(x AS DECIMAL(10, 2))');
  });
});

describe('the portable macros', () => {
  const one = (text: string, target: SqlTarget) =>
    render('m.sql', parseTemplate('m.sql', text), {
      ref: (n) => n,
      source: (s, t) => `${s}.${t}`,
      isIncremental: false,
      self: 'self',
      dialect: target.dialect,
      safeCast: (e, t) => target.safeCast(e, t),
      macros: target.macros,
    });

  it('pick the dialect: JSON text, date truncation, date arithmetic, concatenation, booleans', () => {
    const text =
      "{{ json_text('data', 'actor.login') }} | {{ date_trunc('hour', 'c') }} | {{ dateadd('hour', -6, 'max(h)') }} | {{ concat(['a', \"'-'\", 'b']) }} | {{ as_boolean(\"x = 'true'\") }} | {{ is_true('f') }}";
    expect(one(text, duck).split(' | ')).toEqual([
      "data->'actor'->>'login'",
      "date_trunc('hour', c)",
      "(max(h)) + interval '-6 hour'",
      "a || '-' || b",
      "(x = 'true')",
      '(f)',
    ]);
    expect(one(text, tsql).split(' | ')).toEqual([
      `JSON_VALUE(data, N'$."actor"."login"')`,
      'DATEADD(hour, DATEDIFF(hour, CAST(CAST(c AS DATE) AS DATETIME2), c), CAST(CAST(c AS DATE) AS DATETIME2))',
      'DATEADD(hour, -6, max(h))',
      "(CAST(a AS NVARCHAR(MAX)) + CAST('-' AS NVARCHAR(MAX)) + CAST(b AS NVARCHAR(MAX)))",
      "CAST(CASE WHEN x = 'true' THEN 1 WHEN NOT (x = 'true') THEN 0 END AS BIT)",
      '(f) = 1',
    ]);
    expect(one("{{ dbt.date_trunc('month', 'c') }}", tsql)).toBe(
      "DATEADD(month, DATEDIFF(month, CAST('2000-01-01' AS DATETIME2), c), CAST('2000-01-01' AS DATETIME2))",
    );
  });

  it('a wrong argument fails the render, naming the model', () => {
    expect(() => one("select 1\n{{ date_trunc('fortnight', 'c') }}", tsql)).toThrow(/^m\.sql:\d+: date_trunc\(\) takes a date part/);
    expect(() => one("{{ json_text('data', 'a..b') }}", tsql)).toThrow(/json_text\(\) takes a dotted path/);
    expect(() => one("{{ dateadd('day', 'x', 'c') }}", tsql)).toThrow(/whole number/);
  });
});

describe('the bundled models render for SQL Server', () => {
  const sqlserver = renderBundled(tsql);
  const duckdb = renderBundled(duck);

  it('every bundled model, with none of the other dialects’ syntax', () => {
    expect([...sqlserver.keys()].sort()).toEqual([...duckdb.keys()].sort());
    for (const [name, text] of sqlserver) {
      expect(text, name).not.toMatch(/->>|->|\bfilter\s*\(|\bdate_trunc\(|\binterval\b|\|\||\blimit\b|::/i);
      expect(text, name).not.toMatch(/"analytics"|"raw"/);
    }
  });

  it('staging reads JSON with JSON_VALUE and typed casts; pr_merged is a BIT', () => {
    const github = sqlserver.get('stg_github__events') ?? '';
    expect(github).toContain(`JSON_VALUE(data, N'$."actor"."login"') as actor_login`);
    expect(github).toContain(`CAST(TRY_CAST(JSON_VALUE(data, N'$."created_at"') AS DATETIMEOFFSET) AS DATETIME2) as created_at`);
    expect(github).toContain(`CAST(CASE WHEN coalesce(JSON_VALUE(data, N'$."payload"."pull_request"."merged"'), 'false') = 'true' THEN 1`);
    expect(github).toContain('from [raw].[github_events]');
    const amplitude = sqlserver.get('stg_amplitude__events') ?? '';
    expect(amplitude).toContain(`TRY_CAST(JSON_VALUE(data, N'$."session_id"') AS BIGINT)`);
  });

  it('marts count with CASE, truncate hours with DATEADD, and go back 6 hours on an incremental run', () => {
    expect(sqlserver.get('dim_github__repos')).toContain(
      "count(case when type = 'PullRequestEvent' and action = 'closed' and (pr_merged) = 1 then 1 end) as prs_merged",
    );
    const hourly = sqlserver.get('fct_github__hourly_activity (incremental)') ?? '';
    expect(hourly).toContain('DATEADD(hour, DATEDIFF(hour, CAST(CAST(created_at AS DATE) AS DATETIME2), created_at)');
    expect(hourly).toContain('where created_at >= (select DATEADD(hour, -6, max(activity_hour)) from [analytics].[fct_github__hourly_activity])');
    expect(sqlserver.get('int_amplitude__sessions')).toContain(
      "CAST(device_id AS NVARCHAR(MAX)) + CAST('-' AS NVARCHAR(MAX)) + CAST(cast(session_id as varchar) AS NVARCHAR(MAX))",
    );
  });

  it('on DuckDB and PostgreSQL the macros write what the models said before', () => {
    expect(duckdb.get('stg_github__events')).toContain("data->'payload'->'pull_request'->>'merged'");
    expect(duckdb.get('fct_github__hourly_activity (incremental)')).toContain("(select (max(activity_hour)) + interval '-6 hour' from");
    expect(duckdb.get('int_amplitude__sessions')).toContain("device_id || '-' || cast(session_id as varchar) as session_key");
  });
});
