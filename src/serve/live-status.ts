import fs from 'node:fs';
import { redact } from '../core/redact.js';
import type { ProgressBoard } from '../pipeline/progress.js';
import type { Project } from '../pipeline/project.js';
import { historyFile, type RunRecord, readRunRecords } from '../pipeline/run-record.js';
import { renderReport } from '../report/html.js';
import { type StatusDocument, schedulesOf, statusDocument } from '../report/status-document.js';
import type { Scheduler } from './scheduler.js';

/** Between runs a status read is reused this long: the page polls every few seconds. */
const MAX_AGE_MS = 5_000;
export const PAGE_REFRESH_MS = 3_000;

/**
 * The status `serve` shows: read between runs in the scheduler's turn (open the warehouse, read,
 * close), again after each run, and during a run answered from the last read plus the run's live
 * progress. The process never holds a second warehouse handle beside a run's, nor one between reads.
 */
export class LiveStatus {
  readonly #project: Project;
  readonly #scheduler: Scheduler;
  readonly #board: ProgressBoard;
  #doc: StatusDocument | undefined;
  #readAtMs = 0;
  #error: string | undefined;
  #reading: Promise<void> | undefined;
  #runs: { stamp: string; runs: RunRecord[] } = { stamp: '', runs: [] };

  constructor(project: Project, scheduler: Scheduler, board: ProgressBoard) {
    this.#project = project;
    this.#scheduler = scheduler;
    this.#board = board;
  }

  /** Reads the status now. Only for a caller that already has the scheduler's turn (after a run). */
  async readInTurn(): Promise<void> {
    try {
      this.#doc = redact(await statusDocument(this.#project));
      this.#error = undefined;
    } catch (error) {
      this.#error = (error as Error).message;
      this.#project.log.warn({ error: this.#error }, 'serve.status.failed');
    } finally {
      this.#readAtMs = Date.now();
      await this.#project.close();
    }
  }

  /** The last status read, refreshed first when it is old and no run has the warehouse. */
  async document(): Promise<{ doc: StatusDocument | undefined; error: string | undefined }> {
    if (Date.now() - this.#readAtMs >= MAX_AGE_MS || !this.#doc) {
      this.#reading ??= this.#scheduler
        .whenIdle(() => this.readInTurn())
        ?.finally(() => {
          this.#reading = undefined;
        });
      if (this.#reading) await this.#reading;
    }
    return { doc: this.#doc, error: this.#error };
  }

  /** The run history, read again only when its file changed: the page asks every few seconds. */
  async #history(): Promise<RunRecord[]> {
    const stat = await fs.promises.stat(historyFile(this.#project.config.stateDir)).catch(() => undefined);
    const stamp = stat ? `${stat.size}:${stat.mtimeMs}` : 'none';
    if (stamp !== this.#runs.stamp) this.#runs = { stamp, runs: redact(await readRunRecords(this.#project.config.stateDir)) };
    return this.#runs.runs;
  }

  /** The page `sluice report` writes, from the live state, refreshing itself. */
  async page(): Promise<string> {
    const { doc, error } = await this.document();
    const run = this.#board.run();
    const runs = await this.#history();
    const note = error ? `the last status read failed (${error}); showing the one before` : undefined;
    return renderReport({
      streams: doc?.streams ?? [],
      runs,
      generatedAt: new Date().toISOString(),
      configFile: this.#project.config.file,
      schedules: schedulesOf(this.#project),
      live: { run: redact(run), refreshMs: PAGE_REFRESH_MS, ...(doc ? { statusAsOf: doc.generated_at } : {}), ...(note ? { note } : {}) },
    });
  }
}
