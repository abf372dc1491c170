import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { SqlTarget } from '../src/core/sql-target.js';
import { runTransform } from '../src/transform/engine.js';
import { loadTransformProject } from '../src/transform/models.js';
import { type PgServer, startPostgres, stopPostgres } from './support/postgres.js';
import { describeDialects, loadRaw, openTarget, writeModels } from './support/transform.js';
import { tempDir } from './support/workspace.js';

const ITEMS = [
  { id: '1', name: 'apple', price: 3, category: 'fruit' },
  { id: '2', name: 'pear', price: 4, category: 'fruit' },
  { id: '3', name: 'leek', price: 2, category: 'vegetable' },
];

const BASE: Record<string, string> = {
  'staging/stg_items.sql': `{{ config(materialized='view') }}
select id, data->>'name' as name, cast(data->>'price' as integer) as price, data->>'category' as category
from {{ source('shop', 'items') }}`,
  'marts/categories.sql': `{{ config(materialized='table') }}
select distinct category from {{ ref('stg_items') }}`,
  'marts/item_counts.sql': `{{ config(materialized='table') }}
select category, count(*) as items from {{ ref('stg_items') }} group by category`,
  'marts/report.sql': `{{ config(materialized='table') }}
select c.category, coalesce(n.items, 0) as items
from {{ ref('categories') }} c left join {{ ref('item_counts') }} n on n.category = c.category`,
};

const rows = (t: SqlTarget, sql: string) =>
  t.all(sql).then((r) => r.map((x) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]))));

describeDialects('transform on %s', (dialect) => {
  let pg: PgServer | undefined;
  let n = 0;
  beforeAll(async () => {
    if (dialect === 'postgres') pg = await startPostgres();
  }, 120_000);
  afterAll(() => stopPostgres(pg));

  /** A fresh warehouse holding raw.shop_items, and a models folder. */
  async function fresh(models: Record<string, string>) {
    const dir = tempDir(`transform-${dialect}`);
    const where = dialect === 'duckdb' ? path.join(dir, 'warehouse.duckdb') : await pg!.database(`t${++n}`);
    const target = await openTarget(dialect, where);
    await loadRaw(target, 'shop_items', 'id', ITEMS);
    const modelsDir = path.join(dir, 'models');
    writeModels(modelsDir, models);
    return { target, modelsDir, load: () => loadTransformProject(modelsDir) };
  }

  test('builds models in dependency order, parents before children', async () => {
    const { target, load } = await fresh(BASE);
    try {
      const result = await runTransform(target, load());
      expect(result.exit_code).toBe(0);
      const order = result.models.map((m) => m.model);
      expect(order.indexOf('stg_items')).toBeLessThan(order.indexOf('categories'));
      expect(order.indexOf('categories')).toBeLessThan(order.indexOf('report'));
      expect(order.indexOf('item_counts')).toBeLessThan(order.indexOf('report'));
      expect(result.models.every((m) => m.status === 'built')).toBe(true);
      expect(await rows(target, 'SELECT category, items FROM analytics.report ORDER BY category')).toEqual([
        { category: 'fruit', items: 2 },
        { category: 'vegetable', items: 1 },
      ]);
      expect(await target.kindOf({ schema: 'analytics', name: 'stg_items' })).toBe('view');
    } finally {
      await target.close();
    }
  });

  test('--select m+ builds the model and its descendants, +m the model and its ancestors', async () => {
    const { target, load } = await fresh(BASE);
    try {
      const down = await runTransform(target, load(), { select: ['stg_items'] });
      expect(down.models.map((m) => m.model)).toEqual(['stg_items']);
      const withChildren = await runTransform(target, load(), { select: ['categories+'] });
      expect(withChildren.models.map((m) => m.model).sort()).toEqual(['categories', 'report']);
      // report also reads item_counts, which was never built: its build fails, and says so.
      expect(withChildren.models.find((m) => m.model === 'report')?.status).toBe('failed');
      const withParents = await runTransform(target, load(), { select: ['+item_counts'] });
      expect(withParents.models.map((m) => m.model)).toEqual(['stg_items', 'item_counts']);
      await expect(runTransform(target, load(), { select: ['nope+'] })).rejects.toThrow(/no model named nope/);
    } finally {
      await target.close();
    }
  });

  test('incremental models merge new and changed rows on the unique key across runs', async () => {
    const { target, load } = await fresh({
      ...BASE,
      'marts/items_latest.sql': `{{ config(materialized='incremental', unique_key='id') }}
select id, name, price from {{ ref('stg_items') }}
{% if is_incremental() %}where price >= (select max(price) from {{ this }}){% endif %}`,
    });
    try {
      const first = await runTransform(target, load(), { select: ['+items_latest'] });
      expect(first.models.find((m) => m.model === 'items_latest')).toMatchObject({ status: 'built', mode: 'full', rows: 3 });
      // A new item and a changed one, both at or above the high-water mark (4).
      await target.run(
        `UPDATE raw.shop_items SET data = CAST('{"id":"2","name":"pear","price":5,"category":"fruit"}' AS ${dialect === 'duckdb' ? 'JSON' : 'JSONB'}) WHERE id = '2'`,
      );
      await loadRaw(target, 'shop_items', 'id', [{ id: '4', name: 'kiwi', price: 6, category: 'fruit' }]);
      const second = await runTransform(target, load(), { select: ['+items_latest'] });
      expect(second.models.find((m) => m.model === 'items_latest')).toMatchObject({ status: 'built', mode: 'incremental', merged: 2, rows: 4 });
      expect(await rows(target, 'SELECT id, price FROM analytics.items_latest ORDER BY id')).toEqual([
        { id: '1', price: 3 },
        { id: '2', price: 5 },
        { id: '3', price: 2 },
        { id: '4', price: 6 },
      ]);
      const refreshed = await runTransform(target, load(), { select: ['items_latest'], fullRefresh: true });
      expect(refreshed.models[0]).toMatchObject({ mode: 'full', rows: 4 });
    } finally {
      await target.close();
    }
  });

  const SCHEMA = (values: string, relationTo: string) => `version: 2
models:
  - name: stg_items
    columns:
      - name: id
        data_tests: [unique, not_null]
      - name: category
        data_tests:
          - accepted_values:
              values: [${values}]
          - relationships:
              to: ref('${relationTo}')
              field: category
`;

  test('unique, not_null, accepted_values and relationships pass on good data', async () => {
    const { target, load } = await fresh({ ...BASE, 'staging/schema.yml': SCHEMA('fruit, vegetable', 'categories') });
    try {
      const result = await runTransform(target, load());
      expect(result.tests.map((t) => [t.test, t.status])).toEqual([
        ['unique', 'pass'],
        ['not_null', 'pass'],
        ['accepted_values', 'pass'],
        ['relationships', 'pass'],
      ]);
      expect(result.exit_code).toBe(0);
    } finally {
      await target.close();
    }
  });

  test('each test type fails with the model, column and failing rows; warn does not fail the run', async () => {
    const { target, load, modelsDir } = await fresh({ ...BASE, 'staging/schema.yml': SCHEMA('fruit', 'only_fruit') });
    try {
      writeModels(modelsDir, {
        ...BASE,
        // A duplicate id and a null one, a category outside the list, and one its parent lacks.
        'staging/stg_items.sql': `select id, category from (
          select cast(data->>'id' as varchar) as id, data->>'category' as category from {{ source('shop', 'items') }}
          union all select '1', 'fruit' union all select null, 'fruit') s`,
        'marts/only_fruit.sql': `{{ config(materialized='table') }} select 'fruit' as category`,
        'staging/schema.yml': SCHEMA('fruit', 'only_fruit'),
      });
      const result = await runTransform(target, load(), { select: ['stg_items', 'only_fruit'] });
      expect(result.exit_code).toBe(1);
      const by = Object.fromEntries(result.tests.map((t) => [t.test, t]));
      expect(by.unique).toMatchObject({ model: 'stg_items', column: 'id', status: 'fail', failures: 1 });
      expect(by.unique?.sample).toEqual([{ id: '1', n_records: 2 }]);
      expect(by.not_null).toMatchObject({ column: 'id', status: 'fail', failures: 1 });
      expect(by.accepted_values).toMatchObject({ column: 'category', status: 'fail', failures: 1, sample: [{ category: 'vegetable', n_records: 1 }] });
      expect(by.relationships).toMatchObject({ column: 'category', status: 'fail', failures: 1, sample: [{ category: 'vegetable' }] });
      expect(by.unique?.at).toMatch(/^models\/staging\/schema\.yml:\d+$/);

      writeModels(modelsDir, {
        ...BASE,
        'staging/schema.yml': `version: 2
models:
  - name: stg_items
    columns:
      - name: category
        data_tests:
          - accepted_values:
              values: [fruit]
              config: { severity: warn }
`,
      });
      const warned = await runTransform(target, load(), { select: ['stg_items'] });
      expect(warned.tests[0]).toMatchObject({ status: 'warn', failures: 1 });
      expect(warned.exit_code).toBe(0);
    } finally {
      await target.close();
    }
  });

  test('a broken model leaves the previous relation intact and skips its descendants', async () => {
    const { target, load, modelsDir } = await fresh(BASE);
    try {
      expect((await runTransform(target, load())).exit_code).toBe(0);
      writeModels(modelsDir, { ...BASE, 'marts/categories.sql': `{{ config(materialized='table') }}\nselect no_such_column from {{ ref('stg_items') }}` });
      const result = await runTransform(target, load());
      expect(result.exit_code).toBe(1);
      expect(result.models.find((m) => m.model === 'categories')).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(/models\/marts\/categories\.sql/),
      });
      expect(result.models.find((m) => m.model === 'report')).toMatchObject({ status: 'skipped' });
      expect(result.models.find((m) => m.model === 'item_counts')).toMatchObject({ status: 'built' });
      expect(await rows(target, 'SELECT category FROM analytics.categories ORDER BY category')).toEqual([{ category: 'fruit' }, { category: 'vegetable' }]);
      expect(await rows(target, 'SELECT count(*) AS n FROM analytics.report')).toEqual([{ n: 2 }]);
      expect(await target.kindOf({ schema: 'analytics', name: 'categories__sluice_tmp' })).toBeUndefined();
    } finally {
      await target.close();
    }
  });
});
