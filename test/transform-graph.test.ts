import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { buildGraph, selectModels } from '../src/transform/graph.js';
import { loadTransformProject } from '../src/transform/models.js';
import { writeModels } from './support/transform.js';
import { tempDir } from './support/workspace.js';

function project(files: Record<string, string>) {
  const dir = path.join(tempDir('transform-graph'), 'models');
  writeModels(dir, files);
  return loadTransformProject(dir);
}

const errorOf = (work: () => unknown): ConfigError => {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a config error');
};

describe('the model graph', () => {
  const files = {
    'a.sql': "select * from {{ source('github', 'events') }}",
    'b.sql': "select * from {{ ref('a') }}",
    'c.sql': "select * from {{ ref('a') }}",
    'd.sql': "select * from {{ ref('b') }} join {{ ref('c') }} using (id)",
  };

  test('orders parents before children and reads config from the template', () => {
    const p = project({ ...files, 'e.sql': "{{ config(materialized='incremental', unique_key=['x', 'y'], schema='marts') }}\nselect 1" });
    const graph = buildGraph(p);
    expect(graph.order).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(p.models.get('e')).toMatchObject({ materialized: 'incremental', uniqueKey: ['x', 'y'], schema: 'marts' });
    expect(p.models.get('a')?.parsed.sources).toEqual([{ source: 'github', table: 'events', line: 1 }]);
  });

  test('selects m, m+, +m and +m+', () => {
    const graph = buildGraph(project(files));
    expect([...selectModels(graph, ['b'])]).toEqual(['b']);
    expect([...selectModels(graph, ['b+'])].sort()).toEqual(['b', 'd']);
    expect([...selectModels(graph, ['+d'])].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect([...selectModels(graph, ['+b+'])].sort()).toEqual(['a', 'b', 'd']);
    expect([...selectModels(graph, ['b,c'])].sort()).toEqual(['b', 'c']);
    expect([...selectModels(graph, [])].length).toBe(4);
    expect(errorOf(() => selectModels(graph, ['x+'])).message).toMatch(/no model named x/);
  });

  test('an unknown ref is a config error naming the file and line', () => {
    const e = errorOf(() => buildGraph(project({ ...files, 'staging/e.sql': "select 1\nfrom {{ ref('b') }}\njoin {{ ref('stg_nope') }} using (id)" })));
    expect(e.message).toMatch(/^models\/staging\/e\.sql:3: ref\('stg_nope'\) names no model/);
  });

  test('a cycle is a config error naming the file, line and the models in it', () => {
    const e = errorOf(() =>
      buildGraph(project({ 'x.sql': "select * from {{ ref('z') }}", 'y.sql': "select * from {{ ref('x') }}", 'z.sql': "\n\nselect * from {{ ref('y') }}" })),
    );
    expect(e.message).toMatch(/^models\/(x|y|z)\.sql:\d+: models depend on each other in a cycle: /);
    expect(e.message).toMatch(/x → z → y → x|z → y → x → z|y → x → z → y/);
    expect(errorOf(() => buildGraph(project({ 'self.sql': "\nselect * from {{ ref('self') }}" }))).message).toMatch(/^models\/self\.sql:2: .*self → self/);
  });

  test('template syntax errors, non-literal refs and unknown tests are config errors with the line', () => {
    expect(errorOf(() => project({ 'bad.sql': 'select 1\n{% if x %}\nselect 2' })).message).toMatch(/^models\/bad\.sql/);
    expect(errorOf(() => project({ 'dyn.sql': 'select 1\nfrom {{ ref(name) }}' })).message).toMatch(/^models\/dyn\.sql:2: ref\(\) takes quoted names/);
    const yml = 'version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        tests: [unique, positive]\n';
    expect(errorOf(() => project({ ...files, 'schema.yml': yml })).message).toMatch(/^models\/schema\.yml:6: unknown test "positive"/);
    const rel = "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        tests:\n          - relationships: { to: ref('nope'), field: id }\n";
    expect(errorOf(() => buildGraph(project({ ...files, 'schema.yml': rel }))).message).toMatch(/^models\/schema\.yml:7: .*nope/);
  });
});
