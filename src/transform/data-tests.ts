import type { Relation, SqlTarget } from '../core/sql-target.js';
import { parseRelationTarget } from './graph.js';
import { modelRelation, sourceRelation } from './materialize.js';
import { type ColumnTest, DEFAULT_SCHEMA, type Model } from './models.js';

export interface TestResult {
  /** The model, or `source:<source>.<table>`. */
  model: string;
  column: string;
  test: string;
  severity: 'error' | 'warn';
  /** `warn`: a failing test of severity warn; `error`: the test's own SQL failed. */
  status: 'pass' | 'fail' | 'warn' | 'error';
  failures: number;
  /** Up to five failing rows. */
  sample: Array<Record<string, unknown>>;
  message?: string;
  at: string;
}

const SAMPLE = 5;

const relationOf = (models: ReadonlyMap<string, Model>, name: string): Relation => {
  const m = models.get(name);
  return m ? modelRelation(m) : { schema: DEFAULT_SCHEMA, name };
};

export const testSubject = (t: ColumnTest): string => t.model ?? `source:${t.source?.source}.${t.source?.table}`;

/** The query that returns the rows breaking the test: none means it passes (dbt's convention). */
export function testQuery(target: SqlTarget, t: ColumnTest, models: ReadonlyMap<string, Model>): string {
  const rel = target.relation(t.model ? relationOf(models, t.model) : sourceRelation(t.source!.source, t.source!.table));
  const col = target.quote(t.column);
  switch (t.kind) {
    case 'not_null':
      return `SELECT * FROM ${rel} WHERE ${col} IS NULL`;
    case 'unique':
      return `SELECT ${col}, count(*) AS n_records FROM ${rel} WHERE ${col} IS NOT NULL GROUP BY ${col} HAVING count(*) > 1`;
    case 'accepted_values': {
      const values = (t.values ?? []).map((v) => target.literal(String(v))).join(', ');
      const outside = values ? `${target.safeCast(col, 'text')} NOT IN (${values})` : '1 = 1';
      return `SELECT ${col}, count(*) AS n_records FROM ${rel} WHERE ${col} IS NOT NULL AND ${outside} GROUP BY ${col}`;
    }
    case 'relationships': {
      const to = parseRelationTarget(t.to!, t.at);
      const parent = target.relation(to.model ? relationOf(models, to.model) : sourceRelation(to.source!.source, to.source!.table));
      const field = target.quote(t.field!);
      return `SELECT c.${col} FROM ${rel} AS c LEFT JOIN ${parent} AS p ON c.${col} = p.${field} WHERE c.${col} IS NOT NULL AND p.${field} IS NULL`;
    }
  }
}

export async function runTest(target: SqlTarget, t: ColumnTest, models: ReadonlyMap<string, Model>): Promise<TestResult> {
  const base = { model: testSubject(t), column: t.column, test: t.kind, severity: t.severity, at: t.at };
  try {
    const q = testQuery(target, t, models);
    const [counted] = await target.all(`SELECT count(*) AS n FROM (${q}) AS failing`);
    const failures = Number(counted?.n ?? 0);
    const sample = failures > 0 ? (await target.all(target.sample(q, SAMPLE))).map(plain) : [];
    const status = failures === 0 ? 'pass' : t.severity === 'warn' ? 'warn' : 'fail';
    return { ...base, status, failures, sample };
  } catch (error) {
    return { ...base, status: 'error', failures: 0, sample: [], message: (error as Error).message.split('\n')[0] };
  }
}

/** Rows as JSON-safe values (bigint and dates from the drivers become numbers and text). */
function plain(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    out[k] = typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : v;
  }
  return out;
}
