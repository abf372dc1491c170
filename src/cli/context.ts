import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { Project } from '../pipeline/project.js';
import { createLogger, type LoggerOptions } from './logger.js';
import { type GlobalOptions, globals } from './output.js';

/** Loads and validates the config, opens the project, runs `work`, and always closes it. */
export async function withProject<T>(cmd: Command, work: (project: Project, g: GlobalOptions) => Promise<T>, log: LoggerOptions = {}): Promise<T> {
  const g = globals(cmd);
  const config = loadConfig({ file: g.config, env: g.env, dev: g.dev });
  const project = new Project(config, createLogger(log));
  try {
    return await work(project, g);
  } finally {
    await project.close();
  }
}
