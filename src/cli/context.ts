import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { redact, redactText } from '../core/redact.js';
import { Project } from '../pipeline/project.js';
import { createLogger } from './logger.js';

export interface GlobalOptions {
  config?: string;
  env?: string;
  dev?: boolean;
  json?: boolean;
}

export const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();

/** Loads and validates the config, opens the project, runs `work`, and always closes it. */
export async function withProject<T>(cmd: Command, work: (project: Project, g: GlobalOptions) => Promise<T>): Promise<T> {
  const g = globals(cmd);
  const config = loadConfig({ file: g.config, env: g.env, dev: g.dev });
  const project = new Project(config, createLogger());
  try {
    return await work(project, g);
  } finally {
    await project.close();
  }
}

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
