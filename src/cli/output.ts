import type { Command } from 'commander';
import { redact, redactText } from '../core/redact.js';

export interface GlobalOptions {
  config?: string;
  env?: string;
  dev?: boolean;
  json?: boolean;
  /** False with `--no-progress`. */
  progress?: boolean;
}

export const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();

/**
 * Live progress is for a person at a terminal: stderr is one, the output is not a JSON document,
 * this is not CI, and `--no-progress` was not given. Anything else gets no progress bytes at all
 * (and does not load the terminal code: progress-terminal.ts).
 */
export const wantsProgress = (g: GlobalOptions, stream: NodeJS.WriteStream = process.stderr): boolean =>
  stream.isTTY === true && !g.json && g.progress !== false && !process.env.CI;

/**
 * Prints one JSON document (for --json) or text. With `printLine`, the only place a command's output
 * is written: secrets are removed from the document's values before it is serialised, and from text.
 */
export function print(g: GlobalOptions, json: unknown, text: () => string): void {
  process.stdout.write(g.json ? `${JSON.stringify(redact(json), null, 2)}\n` : `${redactText(text())}\n`);
}

/** Prints a line of text outside a command's one document (e.g. each run of `serve`). */
export function printLine(text: string): void {
  process.stdout.write(`${redactText(text)}\n`);
}
