import fs from 'node:fs';
import path from 'node:path';
import { toSluiceError } from '../core/errors.js';
import { runTransform, type TransformResult } from '../transform/engine.js';
import { exportMetrics, type MetricsDocument } from '../transform/export.js';
import { loadTransformProject } from '../transform/models.js';
import type { Project } from './project.js';
import { appendRunRecord, newRunId, type RunRecord } from './run-record.js';

export interface TransformStepOptions {
  select?: readonly string[];
  fullRefresh?: boolean;
  /** Writes the marts' metrics document there (JSON). */
  exportFile?: string;
  runId?: string;
}

export interface TransformStepResult extends TransformResult {
  metrics?: MetricsDocument;
}

/** Builds and tests the project's models in its warehouse, over the warehouse's own connection. */
export async function transformStep(project: Project, o: TransformStepOptions = {}): Promise<TransformStepResult> {
  const models = loadTransformProject(project.config.modelsDir);
  const target = await project.sqlTarget();
  try {
    const log = project.log.child({ step: 'transform', ...(o.runId ? { run_id: o.runId } : {}) });
    const result = await runTransform(target, models, { select: o.select, fullRefresh: o.fullRefresh, log });
    if (!o.exportFile) return result;
    const metrics = await exportMetrics(target, models);
    const file = path.resolve(o.exportFile);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.writeFile(`${file}.tmp`, `${JSON.stringify(metrics, null, 2)}\n`);
    await fs.promises.rename(`${file}.tmp`, file);
    return { ...result, metrics };
  } finally {
    await target.close();
  }
}

/** `sluice transform`: the step, kept in the run history as a run of its own. */
export async function transformCommand(project: Project, o: TransformStepOptions = {}): Promise<{ record: RunRecord; result: TransformStepResult }> {
  const runId = o.runId ?? newRunId();
  const started = new Date();
  let result: TransformStepResult | undefined;
  let failure: unknown;
  const errors: RunRecord['errors'] = [];
  try {
    result = await transformStep(project, { ...o, runId });
  } catch (error) {
    // A bad models folder or an unreachable warehouse: recorded, then reported by the caller.
    failure = error;
    const e = toSluiceError(error);
    errors.push({ code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) });
  }
  const finished = new Date();
  const exit: 0 | 1 | 2 = result ? result.exit_code : toSluiceError(failure).fatal ? 2 : 1;
  const built = result?.models.some((m) => m.status === 'built') ?? false;
  const record: RunRecord = {
    run_id: runId,
    command: 'transform',
    sources: [],
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    duration_ms: finished.getTime() - started.getTime(),
    status: exit === 0 ? 'ok' : built ? 'partial' : 'failed',
    exit_code: exit,
    streams: [],
    errors,
    ...(result ? { transform: { models: result.models, tests: result.tests } } : {}),
  };
  await appendRunRecord(project.config.stateDir, record);
  if (failure !== undefined) throw failure;
  return { record, result: result! };
}
