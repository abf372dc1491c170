import { Cron } from 'croner';
import { ConfigError } from '../core/errors.js';
import type { ProgressReporter } from '../pipeline/progress.js';
import type { Project } from '../pipeline/project.js';
import { runPipeline, type Step } from '../pipeline/run.js';
import type { RunRecord } from '../pipeline/run-record.js';
import { ServeMetrics } from './metrics.js';

export interface ScheduledSource {
  name: string;
  schedule: string;
  /** Build the models after the load (`schedule_transform`, default true), as `sluice run` does. */
  transform: boolean;
}

/** The steps of a scheduled run of the source: those of `sluice run`, unless it opts out of the transform. */
export const scheduledSteps = (s: ScheduledSource): Step[] => (s.transform ? ['fetch', 'sync', 'load', 'transform'] : ['fetch', 'sync', 'load']);

/**
 * One scheduled run of a source. The warehouse is closed before it returns, so that between runs
 * `serve` holds no connection: `sluice status` or `sluice transform` from another shell can open
 * it (a DuckDB file has one writer).
 */
export async function runScheduled(project: Project, source: ScheduledSource, signal?: AbortSignal, progress?: ProgressReporter): Promise<RunRecord> {
  try {
    return await runPipeline(project, {
      command: 'serve',
      steps: scheduledSteps(source),
      sources: [source.name],
      ...(signal ? { signal } : {}),
      ...(progress ? { progress } : {}),
    });
  } finally {
    await project.close();
  }
}

/** The sources that have a `schedule:`, checked as cron expressions (seconds allowed) up front. */
export function scheduledSources(project: Project): ScheduledSource[] {
  const out: ScheduledSource[] = [];
  project.config.sources.forEach((entry, i) => {
    const { schedule, schedule_transform } = entry as { schedule?: unknown; schedule_transform?: unknown };
    if (typeof schedule !== 'string' || !schedule.trim()) return;
    try {
      new Cron(schedule, { paused: true, timezone: 'UTC' }).stop();
    } catch (error) {
      throw new ConfigError(`sources[${i}].schedule: "${schedule}" is not a cron expression: ${(error as Error).message}`, {
        hint: 'use five fields (minute hour day month weekday) or six with seconds first, e.g. "0 * * * *" for every hour',
      });
    }
    out.push({ name: entry.name, schedule, transform: schedule_transform !== false });
  });
  if (out.length === 0) {
    throw new ConfigError('no source has a schedule: nothing to serve', { hint: 'add e.g. `schedule: "5 * * * *"` to a source in the config' });
  }
  return out;
}

export interface SchedulerOptions {
  /** After each run, still holding the scheduler's turn: no run starts until it returns, and the metrics count the run after it. */
  onRun?: (source: string, record: RunRecord) => void | Promise<void>;
  progress?: ProgressReporter;
}

/**
 * Runs each scheduled source on its cron in one process. A tick is skipped while the source's
 * previous run is in flight (the lock file also keeps other processes out). Runs of different
 * sources go one after another (DuckDB has one writer), each opening the warehouse and closing it;
 * anything else that opens the warehouse in this process takes its turn with `whenIdle`.
 */
export class Scheduler {
  readonly metrics: ServeMetrics;
  readonly #project: Project;
  readonly #sources: ScheduledSource[];
  readonly #jobs: Cron[] = [];
  readonly #pending = new Set<string>();
  readonly #abort = new AbortController();
  #chain: Promise<void> = Promise.resolve();
  #stopping = false;
  readonly #options: SchedulerOptions;

  constructor(project: Project, sources: ScheduledSource[], options: SchedulerOptions = {}) {
    this.#project = project.forSchedule();
    this.#sources = sources;
    this.#options = options;
    this.metrics = new ServeMetrics(sources.map((s) => s.name));
  }

  start(): void {
    for (const s of this.#sources) {
      this.#jobs.push(new Cron(s.schedule, { timezone: 'UTC' }, () => this.#tick(s.name)));
      this.#project.log.info({ source: s.name, schedule: s.schedule, next: this.#jobs.at(-1)?.nextRun()?.toISOString() }, 'serve.scheduled');
    }
  }

  /** Sources with a run queued or in flight. */
  busy(): string[] {
    return [...this.#pending];
  }

  #tick(name: string): void {
    if (this.#stopping) return;
    if (this.#pending.has(name)) {
      this.metrics.skipped(name);
      this.#project.log.debug({ source: name }, 'serve.tick.skipped');
      return;
    }
    this.#pending.add(name);
    this.#chain = this.#chain.then(() => this.#runOnce(name));
  }

  async #runOnce(name: string): Promise<void> {
    const source = this.#sources.find((s) => s.name === name);
    try {
      if (this.#stopping || !source) return;
      this.metrics.started(name);
      const record = await runScheduled(this.#project, source, this.#abort.signal, this.#options.progress);
      // The run counts as finished once its turn is over: what `onRun` does with the warehouse is
      // part of it, so a process that waits for the metrics never meets it.
      try {
        await this.#options.onRun?.(name, record);
      } finally {
        this.metrics.finished(name, record);
      }
    } catch (error) {
      this.metrics.failed(name);
      this.#project.log.error({ source: name, error: (error as Error).message }, 'serve.run.failed');
    } finally {
      this.#pending.delete(name);
    }
  }

  /**
   * Runs `work` in the scheduler's turn when no run is queued or in flight, so that it never opens
   * the warehouse beside a run (two DuckDB handles on one file in one process corrupt it); a tick
   * that comes meanwhile waits for it. Undefined, without running `work`, when a run has the turn.
   */
  whenIdle<T>(work: () => Promise<T>): Promise<T> | undefined {
    if (this.#pending.size > 0 || this.#stopping) return undefined;
    const result = this.#chain.then(work);
    this.#chain = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  /** Stops scheduling and waits for the run in flight to finish its work. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const j of this.#jobs) j.stop();
    await this.#chain;
  }

  /** A second signal: abort the run in flight (what it committed stays committed). */
  abort(): void {
    this.#abort.abort(new Error('stopped'));
  }
}
