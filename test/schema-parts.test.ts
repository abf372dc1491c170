import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { formatPath, parsePath } from '../src/core/schema.js';
import type { Warehouse } from '../src/core/warehouse.js';
import { emptyReport, type RunRecord } from '../src/pipeline/run-record.js';
import { assertContract } from '../src/pipeline/schema.js';
import { ServeMetrics } from '../src/serve/metrics.js';
import { githubSource } from '../src/sources/github/index.js';
import { scaffoldModel } from '../src/transform/scaffold.js';
import { openSource } from './support/rest.js';

describe('field paths (DESIGN §9)', () => {
  it('are written with dots between segments, odd names quoted, and read back exactly', () => {
    const cases: Array<[string[], string]> = [
      [['meta', 'plan'], 'meta.plan'],
      [['a.b', 'c'], '"a.b".c'],
      [['say "hi"'], '"say ""hi"""'],
      [[''], '""'],
      [['first name', 'x-1_y'], '"first name".x-1_y'],
      [['é'], '"é"'],
    ];
    for (const [segments, text] of cases) {
      expect(formatPath(segments)).toBe(text);
      expect(parsePath(text)).toEqual(segments);
    }
  });
});

describe('schema contracts in the config', () => {
  const rest = (over: Record<string, unknown>, stream: Record<string, unknown> = {}) =>
    openSource({
      name: 'crm',
      type: 'rest',
      base_url: 'https://api.example.com',
      streams: [{ name: 'accounts', path: '/a', primary_key: 'id', ...stream }],
      ...over,
    }).streams()[0]?.schema;

  it('default to evolve, depth 3, tracked', () => {
    expect(rest({})).toEqual({ newFields: 'evolve', typeChanges: 'evolve', maxDepth: 3, track: true });
  });

  it('a REST stream takes the source’s keys, then its own', () => {
    expect(rest({ schema: { new_fields: 'freeze', max_depth: 2 } }, { schema: { type_changes: 'freeze', max_depth: 5 } })).toEqual({
      newFields: 'freeze',
      typeChanges: 'freeze',
      maxDepth: 5,
      track: true,
    });
  });

  it('GitHub and Amplitude have one stream: the source’s schema is its', () => {
    const config = githubSource.configSchema.parse({ name: 'gh', type: 'github', repos: ['a/b'], schema: { type_changes: 'freeze' } });
    const source = githubSource.create(config, { log: silentLogger, at: 'sources[0]', tempDir: os.tmpdir(), configDir: os.tmpdir() });
    expect((source as { streams(): Array<{ schema?: unknown }> }).streams()[0]?.schema).toMatchObject({ typeChanges: 'freeze', newFields: 'evolve' });
  });

  it('a frozen contract on a warehouse that keeps no schema stops the load with a hint', () => {
    const snowflake = { type: 'snowflake' } as Warehouse;
    const spec = (newFields: 'evolve' | 'freeze') => ({
      name: 'accounts',
      mode: 'cursor' as const,
      primaryKey: ['id'],
      schema: { newFields, typeChanges: 'evolve' as const, maxDepth: 3, track: true },
    });
    expect(() => assertContract(snowflake, 'crm', spec('freeze'))).toThrow(/schema contract freeze, but the snowflake warehouse does not track schemas/);
    expect(() => assertContract(snowflake, 'crm', spec('evolve'))).not.toThrow();
  });
});

describe('serve metrics', () => {
  it('count schema changes by source, stream and kind', () => {
    const m = new ServeMetrics(['crm']);
    const report = { ...emptyReport('crm', 'accounts'), schema_changes: { new_field: 2, type_change: 1 } };
    const record = { status: 'ok', duration_ms: 1, finished_at: new Date().toISOString(), streams: [report] } as unknown as RunRecord;
    m.finished('crm', record);
    m.finished('crm', record);
    const text = m.render();
    expect(text).toMatch(/^# TYPE sluice_schema_changes_total counter$/m);
    expect(text).toMatch(/^sluice_schema_changes_total\{source="crm",stream="accounts",kind="new_field"\} 4$/m);
    expect(text).toMatch(/^sluice_schema_changes_total\{source="crm",stream="accounts",kind="type_change"\} 2$/m);
  });
});

describe('models scaffold', () => {
  const made = scaffoldModel({
    source: 'calls',
    stream: 'scores',
    keys: ['_parent_id', 'criterion'],
    command: 'sluice models scaffold calls scores',
    fields: [
      { name: '_parent_id', types: ['integer'], share: 1 },
      { name: 'criterion', types: ['string'], share: 1 },
      { name: 'userId', types: ['string', 'null'], share: 0.5 },
      { name: 'order', types: ['integer', 'number'], share: 1 },
      { name: 'mixed', types: ['number', 'string'], share: 1 },
      { name: 'at', types: ['string'], share: 1, time: { iso: true, offsets: true } },
      { name: '$weird', types: ['boolean'], share: 1 },
    ],
  });

  it('a composite key becomes one tested column; each part is not null', () => {
    expect(made.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      '_sluice_key text',
      '_parent_id bigint',
      'criterion text',
      '_weird boolean',
      'at timestamptz',
      'mixed text',
      'order double precision',
      'user_id text',
    ]);
    expect(made.yml).toMatch(/- name: _sluice_key\n\s+description: .*\n\s+data_tests: \[unique, not_null\]/);
    expect(made.yml).toMatch(/- name: _parent_id\n\s+description: .*\n\s+data_tests: \[not_null\]/);
    expect(made.sql).toMatch(/partition by "_parent_id", "criterion" order by _sluice_loaded_at desc/);
  });

  it('quotes reserved names, keeps mixed types as text, and reads a key DuckDB would take for a path', () => {
    expect(made.sql).toMatch(/ as "order",/);
    expect(made.sql).toMatch(/data->>'mixed' as mixed, {2}-- number, string in 100% of rows: mixed types, kept as text/);
    expect(made.sql).toContain(
      `{% if target.type == 'duckdb' %}{{ dbt.safe_cast("data->>'$.\\"$weird\\"'", 'boolean') }}{% else %}{{ dbt.safe_cast("data->>'$weird'", 'boolean') }}{% endif %} as _weird,`,
    );
    expect(made.sql).toMatch(/\{\{ dbt\.safe_cast\("data->>'at'", 'timestamptz'\) \}\} as at,/);
  });
});
