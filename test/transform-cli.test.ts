import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadRaw, openTarget, readGithubFixture } from './support/transform.js';
import { runCli, tempDir } from './support/workspace.js';

describe('sluice transform', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('transform-cli');
    const init = await runCli(['init'], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    const target = await openTarget('duckdb', path.join(dir, 'warehouse.duckdb'));
    await loadRaw(target, 'github_events', 'id', readGithubFixture() as unknown as Array<Record<string, unknown>>);
    await target.close();
  }, 60_000);

  test('init writes the bundled GitHub models; transform builds them, prints the tests and records the run', async () => {
    expect(fs.existsSync(path.join(dir, 'models', 'staging', 'stg_github__events.sql'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'models', 'marts', '_github__marts.yml'))).toBe(true);
    const run = await runCli(['transform', '--export', 'out/metrics.json'], { cwd: dir });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^model\s+materialized\s+status\s+rows/m);
    expect(run.stdout).toMatch(/^dim_github__repos\s+table\s+built\s+1\b/m);
    expect(run.stdout).toMatch(/^model\s+column\s+test\s+result\s+failing rows/m);
    expect(run.stdout).toMatch(/5\/5 models built/);
    const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'metrics.json'), 'utf8'));
    expect(metrics.top_repos).toEqual([{ repo: 'duckdb/duckdb', events: 100 }]);
    expect(metrics.event_types).toHaveLength(8);
    expect(metrics.top_contributors.length).toBeGreaterThan(0);
    const history = fs
      .readFileSync(path.join(dir, '.sluice', 'runs.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const last = history.at(-1);
    expect(last).toMatchObject({ command: 'transform', status: 'ok', exit_code: 0 });
    expect(last.transform.models).toHaveLength(5);
    expect(last.transform.tests.length).toBeGreaterThan(5);
  });

  test('--json prints one document; --select builds part of the graph', async () => {
    const run = await runCli(['--json', 'transform', '--select', '+dim_github__repos'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.models.map((m: { model: string }) => m.model)).toEqual(['stg_github__events', 'dim_github__repos']);
    expect(doc.exit_code).toBe(0);
  });

  test('a failing test exits 1 naming the model, column, test and sample rows', async () => {
    const yml = path.join(dir, 'models', 'marts', 'extra.yml');
    fs.writeFileSync(
      yml,
      'version: 2\nmodels:\n  - name: fct_github__event_counts\n    columns:\n      - name: type\n        data_tests:\n          - accepted_values:\n              values: [PushEvent]\n',
    );
    try {
      const run = await runCli(['transform', '--select', '+fct_github__event_counts'], { cwd: dir });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/FAILED: accepted_values on fct_github__event_counts\.type \(models\/marts\/extra\.yml:7\): \d+ failing rows/);
      expect(run.stdout).toMatch(/^\s+type\s+n_records$/m);
      // Sample rows: any failing type (which of them come first is up to the warehouse).
      expect(run.stdout).toMatch(/^\s+(?!PushEvent\b)[A-Za-z]+Event\s+\d+$/m);
    } finally {
      fs.rmSync(yml);
    }
  });

  test('a cycle stops the run before anything is built (exit 2), naming the file and line', async () => {
    const dir2 = tempDir('transform-cli-cycle');
    fs.mkdirSync(path.join(dir2, 'models'));
    fs.writeFileSync(path.join(dir2, 'sluice.yaml'), 'sources: []\n');
    fs.writeFileSync(path.join(dir2, 'models', 'a.sql'), "select * from {{ ref('b') }}\n");
    fs.writeFileSync(path.join(dir2, 'models', 'b.sql'), "-- b reads a\nselect * from {{ ref('a') }}\n");
    const run = await runCli(['transform'], { cwd: dir2 });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/models\/[ab]\.sql:\d: models depend on each other in a cycle: (a → b → a|b → a → b)/);
  });
});
