import type { Relation, SqlTarget } from '../core/sql-target.js';
import { rawTableName } from '../core/tables.js';
import type { Model } from './models.js';
import { render } from './template.js';

export interface BuildOutcome {
  /** `full`: built whole and swapped in; `incremental`: new rows merged into the existing table. */
  mode: 'full' | 'incremental';
  /** Rows of the table after the build (views: undefined). */
  rows?: number;
  /** Incremental builds: rows the run merged in. */
  merged?: number;
}

export const modelRelation = (m: Pick<Model, 'schema' | 'name'>): Relation => ({ schema: m.schema, name: m.name });
export const sourceRelation = (source: string, table: string): Relation => ({ schema: 'raw', name: rawTableName(source, table) });

/** The scratch name a model is built under before it takes its place. */
const scratch = (r: Relation): Relation => ({ schema: r.schema, name: `${r.name.slice(0, 48)}__sluice_tmp` });

async function dropIfExists(target: SqlTarget, r: Relation): Promise<void> {
  const kind = await target.kindOf(r);
  if (kind) await target.run(`DROP ${kind === 'view' ? 'VIEW' : 'TABLE'} ${target.relation(r)}`);
}

/** The model's SQL, with refs and sources resolved to relations of this warehouse. */
export function compileModel(target: SqlTarget, model: Model, models: ReadonlyMap<string, Model>, isIncremental: boolean): string {
  return render(model.file, model.parsed, {
    ref: (name) => {
      const parent = models.get(name);
      return target.relation(parent ? modelRelation(parent) : { schema: model.schema, name });
    },
    source: (s, t) => target.relation(sourceRelation(s, t)),
    isIncremental,
    self: target.relation(modelRelation(model)),
    dialect: target.dialect,
    safeCast: (expr, type) => target.safeCast(expr, type),
    macros: target.macros,
  });
}

/**
 * Builds one model atomically: a table is created under a scratch name (so a broken model fails
 * there), then swapped in, or for an incremental run merged in, in one transaction; a view is
 * replaced in one transaction. Until then the previous relation stays as it was.
 */
export async function buildModel(target: SqlTarget, model: Model, models: ReadonlyMap<string, Model>, fullRefresh: boolean): Promise<BuildOutcome> {
  const rel = modelRelation(model);
  const tmp = scratch(rel);
  const existing = await target.kindOf(rel);
  const incremental = model.materialized === 'incremental' && existing === 'table' && !fullRefresh;
  const sql = compileModel(target, model, models, incremental);
  await dropIfExists(target, tmp);
  try {
    if (model.materialized === 'view') {
      await target.atomic(target.viewStatements(rel, sql, existing, tmp));
      return { mode: 'full' };
    }
    for (const statement of target.createTableStatements(tmp, sql)) await target.run(statement);
    if (!incremental) {
      await target.atomic(target.swapStatements(tmp, 'table', rel, existing));
      return { mode: 'full', rows: await count(target, rel) };
    }
    const merged = await count(target, tmp);
    const cols = (await target.columns(tmp)).map((c) => target.quote(c));
    await target.atomic(target.mergeStatements(tmp, rel, cols, model.uniqueKey));
    return { mode: 'incremental', rows: await count(target, rel), merged };
  } catch (error) {
    await dropIfExists(target, tmp).catch(() => {});
    throw error;
  }
}

async function count(target: SqlTarget, r: Relation): Promise<number> {
  const rows = await target.all(`SELECT count(*) AS n FROM ${target.relation(r)}`);
  return Number(rows[0]?.n ?? 0);
}
