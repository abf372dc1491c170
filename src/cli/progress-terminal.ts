import { createLogUpdate } from 'log-update';
import { ProgressBoard, type ProgressEvent, type ProgressReporter } from '../pipeline/progress.js';
import { progressLine } from './progress-lines.js';
import { streamLine } from './render.js';

const REDRAW_EVERY_MS = 125;

/**
 * One line per stream at work, redrawn in place below the logs (log-update does the cursor work).
 * When a stream ends its line becomes the stream's summary, written for good; a log line clears
 * the area, is written whole, and the area is drawn again below it.
 */
export class TerminalProgress implements ProgressReporter {
  readonly #board = new ProgressBoard();
  readonly #out: NodeJS.WriteStream;
  readonly #update: ReturnType<typeof createLogUpdate>;
  readonly #steps: readonly string[];
  readonly #timer: NodeJS.Timeout;
  #shown = 0;
  #stopped = false;
  #frame = '';

  constructor(steps: readonly string[], out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#steps = steps;
    this.#update = createLogUpdate(sized(out) as unknown as NodeJS.WriteStream);
    // Rates and ETAs move between events too; the timer must never keep the process alive.
    this.#timer = setInterval(() => this.#draw(), REDRAW_EVERY_MS);
    this.#timer.unref();
  }

  /** How many stream summaries were written in place of their live lines. */
  get summariesShown(): number {
    return this.#shown;
  }

  report(e: ProgressEvent): void {
    this.#board.report(e);
    if (this.#stopped) return;
    if (e.type === 'stream.finished') {
      this.#shown++;
      this.log(`${streamLine(e.report, this.#steps)}\n`);
    } else if (e.type === 'step.started' || e.type === 'step.finished') {
      // A step's first and last counts are always drawn, however fast it went.
      this.#draw();
    }
  }

  /** Writes text above the live lines (a log line, a summary) without breaking either. */
  log(text: string): void {
    if (this.#stopped) {
      this.#out.write(text);
      return;
    }
    this.#update.persist(text.endsWith('\n') ? text.slice(0, -1) : text);
    this.#frame = '';
    this.#draw();
  }

  /** Removes the live lines for good (before the command prints its result). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    if (this.#frame !== '') this.#update.clear();
    this.#update.done();
  }

  #draw(): void {
    if (this.#stopped) return;
    const width = Math.max(20, sized(this.#out).columns - 1);
    const frame = this.#board
      .active()
      .map((p) => {
        const line = progressLine(p);
        return line.length > width ? `${line.slice(0, width - 1)}…` : line;
      })
      .join('\n');
    if (frame === this.#frame) return;
    this.#frame = frame;
    if (frame === '') this.#update.clear();
    else this.#update(frame);
  }
}

/**
 * The terminal's size as log-update reads it. A pseudo-terminal that was never given a size
 * (`script` without a terminal around it, some CI shells) reports 0 × 0, which log-update takes
 * as "draw nothing": then COLUMNS and LINES, else 80 × 24.
 */
function sized(out: NodeJS.WriteStream): { write: (text: string) => boolean; isTTY: boolean; columns: number; rows: number } {
  return {
    write: (text) => out.write(text),
    isTTY: out.isTTY === true,
    get columns() {
      return out.columns || Number(process.env.COLUMNS) || 80;
    },
    get rows() {
      return out.rows || Number(process.env.LINES) || 24;
    },
  };
}
