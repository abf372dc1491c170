import fs from 'node:fs';
import { isSluiceError, type SluiceError, toSluiceError } from '../core/errors.js';
import type { Source } from '../core/source.js';
import { fetchStream } from './fetch.js';
import { loadStream } from './load.js';
import { acquireLock } from './lock.js';
import { noProgress, type ProgressReporter } from './progress.js';
import type { Project } from './project.js';
import { appendRunRecord, emptyReport, newRunId, type RunRecord, type StreamReport } from './run-record.js';
import { cleanupLeftovers, syncStream } from './sync.js';

export type Step = 'fetch' | 'sync' | 'load' | 'transform';

export interface RunOptions {
  command: string;
  steps: readonly Step[];
  sources?: readonly string[];
  limit?: number;
  /** Window streams: `--start` / `--end` (epoch ms, inclusive hours). */
  range?: { startMs?: number; endMs?: number };
  runId?: string;
  signal?: AbortSignal;
  /** Told what each step does as it goes (the terminal's live lines, `serve`'s dashboard). */
  progress?: ProgressReporter;
}

/**
 * Runs the steps for each selected source and stream and keeps a run record. A failing unit is
 * reported and the rest committed (exit 1); an error that stops a source before it can work
 * (credentials, storage, warehouse) makes the run exit 2 (DESIGN §4). A source that another run
 * holds is refused and left untouched (exit 1); a run refused for every source keeps no record.
 */
export async function runPipeline(project: Project, o: RunOptions): Promise<RunRecord> {
  const runId = o.runId ?? newRunId();
  const started = new Date();
  const signal = o.signal ?? new AbortController().signal;
  const selected = project.select(o.sources ?? []);
  const log = project.log.child({ run_id: runId });
  const scoped = project.withLog(log);
  const streams: StreamReport[] = [];
  const fatal: SluiceError[] = [];
  const progress = o.progress ?? noProgress;
  log.info({ command: o.command, sources: selected.map((s) => s.name) }, 'run.started');
  progress.report({ type: 'run.started', runId, command: o.command, sources: selected.map((s) => s.name) });

  // A source another run holds is left alone: not read, not swept, not loaded (DESIGN §6).
  const refused: SluiceError[] = [];
  let swept = !(o.steps.includes('fetch') || o.steps.includes('sync'));
  try {
    for (const resolved of selected) {
      let release: () => Promise<void>;
      try {
        release = await acquireLock(project.config.stateDir, resolved.name, runId);
      } catch (error) {
        const e = toSluiceError(error, { source: resolved.name });
        if (e.code !== 'locked') throw e;
        refused.push(e);
        log.warn({ source: resolved.name, code: e.code, error: e.message }, 'run.source.refused');
        continue;
      }
      let source: Source | undefined;
      try {
        const opened = await resolved.create(log.child({ source: resolved.name }));
        source = opened;
        if (!swept) {
          swept = true;
          await cleanupLeftovers(scoped);
        }
        for (const spec of opened.streams()) {
          const report = emptyReport(opened.name, spec.name);
          streams.push(report);
          const at = { source: opened.name, stream: spec.name };
          progress.report({ type: 'stream.started', ...at });
          // Each step runs even when an earlier one failed: what was landed or stored before is
          // still synced and loaded. Only errors that stop the source (credentials…) end it.
          const step = async (name: Step, work: () => Promise<void>) => {
            if (!o.steps.includes(name)) return;
            const started = performance.now();
            try {
              await work();
            } catch (error) {
              const e = toSluiceError(error, { source: opened.name, stream: spec.name });
              if (e.fatal) throw e;
              report.errors.push({ unit: `${name} ${opened.name}/${spec.name}`, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) });
              log.error({ source: opened.name, stream: spec.name, step: name, code: e.code, error: e.message }, 'run.step.failed');
            } finally {
              report.timings = { ...report.timings, [`${name}_ms`]: Math.round(performance.now() - started) };
            }
          };
          await step('fetch', () => fetchStream(scoped, opened, spec.name, report, { runId, limit: o.limit, range: o.range, signal, progress }));
          await step('sync', () => syncStream(scoped, opened.name, spec.name, report, signal, progress));
          await step('load', () => loadStream(scoped, opened.name, spec, report, runId, progress));
          progress.report({ type: 'stream.finished', ...at, report });
        }
      } catch (error) {
        const e = toSluiceError(error, { source: resolved.name });
        if (!isSluiceError(error) || !e.fatal) {
          const report = streams.at(-1);
          if (report && report.source === resolved.name)
            report.errors.push({ unit: resolved.name, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) });
          else fatal.push(e);
        } else {
          fatal.push(e);
        }
        log.error({ source: resolved.name, code: e.code, error: e.message }, 'run.source.failed');
        if (e.code === 'storage_unreachable' || e.code === 'warehouse_unreachable') break;
      } finally {
        await release();
        await source?.close();
      }
    }
  } catch (error) {
    fatal.push(toSluiceError(error));
  }

  // Models are built after every load, when the project has a models folder.
  let transform: RunRecord['transform'];
  let transformFailed = false;
  const allRefused = selected.length > 0 && refused.length === selected.length;
  if (o.steps.includes('transform') && !allRefused && !fatal.some((e) => e.fatal) && fs.existsSync(project.config.modelsDir)) {
    try {
      // The model engine (and its template library) loads only for a project with models.
      const { transformStep } = await import('./transform.js');
      const t = await transformStep(project, { runId });
      transform = { models: t.models, tests: t.tests };
      transformFailed = t.exit_code !== 0;
    } catch (error) {
      const e = toSluiceError(error, { step: 'transform' });
      if (e.fatal) fatal.push(e);
      else {
        transformFailed = true;
        fatal.push(e);
      }
      log.error({ code: e.code, error: e.message }, 'run.transform.failed');
    }
  }

  const failedUnits = transformFailed || refused.length > 0 || streams.some((s) => s.errors.length > 0) || fatal.some((e) => !e.fatal);
  const exit: 0 | 1 | 2 = fatal.some((e) => e.fatal) ? 2 : failedUnits ? 1 : 0;
  const finished = new Date();
  const record: RunRecord = {
    run_id: runId,
    command: o.command,
    sources: selected.map((s) => s.name),
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    duration_ms: finished.getTime() - started.getTime(),
    status: exit === 0 ? 'ok' : exit === 1 ? 'partial' : 'failed',
    exit_code: exit,
    streams,
    errors: [...refused, ...fatal].map((e) => ({ code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) })),
    ...(transform ? { transform } : {}),
  };
  // A run refused for every source did nothing: the history keeps the runs that did the work.
  if (!allRefused) await appendRunRecord(project.config.stateDir, record);
  log.info({ status: record.status, ms: record.duration_ms, ...(refused.length ? { refused: refused.length } : {}) }, 'run.finished');
  progress.report({ type: 'run.finished', runId, status: record.status });
  return record;
}
