import { type Logger, silentLogger } from '../core/logger.js';
import type { SqlTarget } from '../core/sql-target.js';
import { runTest, type TestResult } from './data-tests.js';
import { buildGraph, reach, selectModels } from './graph.js';
import { buildModel } from './materialize.js';
import type { Materialized, TransformProject } from './models.js';

export interface ModelResult {
  model: string;
  materialized: Materialized;
  status: 'built' | 'failed' | 'skipped';
  mode?: 'full' | 'incremental';
  rows?: number;
  merged?: number;
  ms: number;
  error?: string;
}

export interface TransformResult {
  models: ModelResult[];
  tests: TestResult[];
  /** 1 when a model failed or a test of severity error failed. */
  exit_code: 0 | 1;
}

export interface TransformOptions {
  select?: readonly string[];
  /** Rebuild incremental models whole. */
  fullRefresh?: boolean;
  log?: Logger;
}

/**
 * Builds the selected models in dependency order, as many at once as the target allows, then
 * runs the tests of what was built. A failed model skips its descendants; the rest go on.
 */
export async function runTransform(target: SqlTarget, project: TransformProject, o: TransformOptions = {}): Promise<TransformResult> {
  const log = o.log ?? silentLogger;
  const graph = buildGraph(project);
  const chosen = selectModels(graph, o.select ?? []);
  if (target.rebuildDropsViews) {
    // Rebuilding a relation there drops the views over it (see swapStatements): rebuild those views too.
    for (const name of [...chosen]) {
      for (const child of reach(name, graph.children)) if (project.models.get(child)?.materialized === 'view') chosen.add(child);
    }
  }
  const order = graph.order.filter((n) => chosen.has(n));
  for (const schema of new Set(order.map((n) => project.models.get(n)!.schema))) {
    await target.run(target.createSchemaStatement(schema));
  }

  const results = new Map<string, ModelResult>();
  const pending = new Set(order);
  const running = new Map<string, Promise<void>>();
  const build = async (name: string) => {
    const model = project.models.get(name)!;
    const started = Date.now();
    try {
      const outcome = await buildModel(target, model, project.models, o.fullRefresh ?? false);
      results.set(name, { model: name, materialized: model.materialized, status: 'built', ...outcome, ms: Date.now() - started });
      log.info({ model: name, ...outcome, ms: Date.now() - started }, 'transform.model.built');
    } catch (error) {
      const message = `${model.file}: ${(error as Error).message.split('\n')[0]}`;
      results.set(name, { model: name, materialized: model.materialized, status: 'failed', ms: Date.now() - started, error: message });
      log.error({ model: name, error: message }, 'transform.model.failed');
    }
  };
  while (pending.size > 0 || running.size > 0) {
    for (const name of [...pending]) {
      if (running.size >= target.concurrency) break;
      const parents = [...(graph.parents.get(name) ?? [])].filter((p) => chosen.has(p));
      const broken = parents.find((p) => results.get(p) && results.get(p)?.status !== 'built');
      if (broken) {
        pending.delete(name);
        const model = project.models.get(name)!;
        results.set(name, { model: name, materialized: model.materialized, status: 'skipped', ms: 0, error: `skipped: ${broken} did not build` });
        continue;
      }
      if (parents.every((p) => results.has(p))) {
        pending.delete(name);
        running.set(
          name,
          build(name).finally(() => running.delete(name)),
        );
      }
    }
    if (running.size > 0) await Promise.race(running.values());
  }

  const built = new Set(order.filter((n) => results.get(n)?.status === 'built'));
  const everything = (o.select ?? []).join('').trim() === '';
  const readsSource = (s: string, t: string) => [...built].some((n) => project.models.get(n)?.parsed.sources.some((x) => x.source === s && x.table === t));
  const tests = project.tests.filter((t) => (t.model ? built.has(t.model) : everything || readsSource(t.source!.source, t.source!.table)));
  const testResults: TestResult[] = [];
  for (const t of tests) testResults.push(await runTest(target, t, project.models));

  const modelResults = order.map((n) => results.get(n)!);
  const failed = modelResults.some((m) => m.status !== 'built') || testResults.some((t) => t.status === 'fail' || t.status === 'error');
  return { models: modelResults, tests: testResults, exit_code: failed ? 1 : 0 };
}
