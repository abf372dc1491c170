import type { StreamReport } from './run-record.js';

/** The steps that report progress; `transform` reports its result only. */
export type ProgressStep = 'fetch' | 'sync' | 'load';

/** What a step counts: window fetches count hours, other fetches records; sync and load count batches. */
export type ProgressUnit = 'hours' | 'records' | 'batches';

interface StreamRef {
  source: string;
  stream: string;
}

/**
 * What the pipeline tells about its work, as numbers: a renderer (the terminal, `serve`'s
 * dashboard) turns them into a picture. Counts in `step.advanced` are increments.
 */
export type ProgressEvent =
  | { type: 'run.started'; runId: string; command: string; sources: string[] }
  | { type: 'run.finished'; runId: string; status: string }
  | ({ type: 'stream.started' } & StreamRef)
  | ({ type: 'step.started'; step: ProgressStep; unit: ProgressUnit; total?: number } & StreamRef)
  | ({ type: 'step.advanced'; step: ProgressStep; units?: number; failed?: number; bytes?: number; rows?: number } & StreamRef)
  | ({ type: 'step.finished'; step: ProgressStep } & StreamRef)
  | ({ type: 'stream.finished'; report: StreamReport } & StreamRef);

/** Receives the pipeline's progress; it must return at once (it is called on the hot path). */
export interface ProgressReporter {
  report(event: ProgressEvent): void;
}

export const noProgress: ProgressReporter = { report: () => {} };

/** One stream's current step, as counted so far. */
export interface StreamProgress {
  source: string;
  stream: string;
  step: ProgressStep | undefined;
  unit: ProgressUnit | undefined;
  total: number | undefined;
  done: number;
  failed: number;
  bytes: number;
  rows: number;
  /** When the current step started, and ended (epoch ms): a finished step's rates stand still. */
  step_started_ms: number;
  step_finished_ms: number | undefined;
  finished: boolean;
}

/** A stream's progress with its rates and, where the total is known, the time left. */
export interface StreamProgressView extends StreamProgress {
  elapsed_seconds: number;
  units_per_second: number | undefined;
  bytes_per_second: number | undefined;
  rows_per_second: number | undefined;
  eta_seconds: number | undefined;
}

export interface RunProgressView {
  run_id: string;
  command: string;
  sources: string[];
  started_at: string;
  streams: StreamProgressView[];
}

/** Per second, once there is something to divide: a rate over less than a tenth of a second says nothing. */
const perSecond = (n: number, seconds: number): number | undefined => (n > 0 && seconds >= 0.1 ? n / seconds : undefined);

/** Keeps the live state of the run in flight from the events: what a renderer draws. */
export class ProgressBoard implements ProgressReporter {
  #run: { runId: string; command: string; sources: string[]; startedMs: number } | undefined;
  readonly #streams = new Map<string, StreamProgress>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  report(e: ProgressEvent): void {
    if (e.type === 'run.started') {
      this.#run = { runId: e.runId, command: e.command, sources: e.sources, startedMs: this.#now() };
      this.#streams.clear();
      return;
    }
    if (e.type === 'run.finished') {
      if (this.#run?.runId === e.runId) this.#run = undefined;
      return;
    }
    const key = `${e.source}/${e.stream}`;
    if (e.type === 'stream.started') {
      const fresh = { step: undefined, unit: undefined, total: undefined, done: 0, failed: 0, bytes: 0, rows: 0 };
      this.#streams.set(key, { source: e.source, stream: e.stream, ...fresh, step_started_ms: this.#now(), step_finished_ms: undefined, finished: false });
      return;
    }
    const s = this.#streams.get(key);
    if (!s) return;
    switch (e.type) {
      case 'step.started':
        Object.assign(s, { step: e.step, unit: e.unit, total: e.total, done: 0, failed: 0, bytes: 0, rows: 0 });
        Object.assign(s, { step_started_ms: this.#now(), step_finished_ms: undefined });
        break;
      case 'step.finished':
        s.step_finished_ms = this.#now();
        break;
      case 'step.advanced':
        s.done += e.units ?? 0;
        s.failed += e.failed ?? 0;
        s.bytes += e.bytes ?? 0;
        s.rows += e.rows ?? 0;
        break;
      case 'stream.finished':
        s.finished = true;
        break;
    }
  }

  /** The stream's progress with its rates, or undefined when it has not started. */
  view(source: string, stream: string): StreamProgressView | undefined {
    const s = this.#streams.get(`${source}/${stream}`);
    return s ? this.#withRates(s) : undefined;
  }

  /** Streams of the run in flight that have started and not finished, in the order they started. */
  active(): StreamProgressView[] {
    return [...this.#streams.values()].filter((s) => !s.finished).map((s) => this.#withRates(s));
  }

  /** The run in flight with every stream it has started, or undefined between runs. */
  run(): RunProgressView | undefined {
    const r = this.#run;
    if (!r) return undefined;
    return {
      run_id: r.runId,
      command: r.command,
      sources: r.sources,
      started_at: new Date(r.startedMs).toISOString(),
      streams: [...this.#streams.values()].map((s) => this.#withRates(s)),
    };
  }

  #withRates(s: StreamProgress): StreamProgressView {
    const seconds = Math.max(0, ((s.step_finished_ms ?? this.#now()) - s.step_started_ms) / 1000);
    const rate = perSecond(s.done, seconds);
    const left = s.total === undefined ? undefined : Math.max(0, s.total - s.done - s.failed);
    return {
      ...s,
      elapsed_seconds: seconds,
      units_per_second: rate,
      bytes_per_second: perSecond(s.bytes, seconds),
      rows_per_second: perSecond(s.rows, seconds),
      eta_seconds: left === undefined || rate === undefined ? undefined : left / rate,
    };
  }
}

/** Sends each event to every reporter. */
export const fanOut = (...reporters: ProgressReporter[]): ProgressReporter => ({
  report: (e) => {
    for (const r of reporters) r.report(e);
  },
});
