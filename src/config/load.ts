import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { type Env, environmentFor, substitute } from './env.js';
import { overlay } from './overlay.js';
import { configSchema, type PluginEntry, type SourceEntry } from './schema.js';
import { configErrorFrom } from './zod-errors.js';

export interface LoadConfigOptions {
  /** Path of sluice.yaml; default ./sluice.yaml. */
  file?: string;
  /** An `envs.<name>` overlay. */
  env?: string;
  /** Forces local storage in ./s3_dev (DESIGN §6). */
  dev?: boolean;
  processEnv?: Env;
}

/** A parsed, validated config with every path made absolute. */
export interface SluiceConfig {
  readonly file: string;
  readonly dir: string;
  readonly stateDir: string;
  /** Each entry (storage, warehouse, sources) is checked by its plug-in's own schema when the project opens. */
  readonly storage: PluginEntry;
  readonly warehouse: PluginEntry;
  readonly sources: readonly SourceEntry[];
  readonly modelsDir: string;
}

export function loadConfig(options: LoadConfigOptions = {}): SluiceConfig {
  const file = path.resolve(options.file ?? 'sluice.yaml');
  if (!fs.existsSync(file)) {
    throw new ConfigError(`no config file at ${file}`, {
      hint: 'run `sluice init` to write a starter sluice.yaml, or pass --config FILE',
    });
  }
  const dir = path.dirname(file);
  let tree: unknown;
  try {
    tree = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    throw new ConfigError(`${file} is not valid YAML${where}: ${(error as Error).message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax',
      cause: error,
    });
  }
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) {
    throw new ConfigError(`${file} must hold a mapping of settings`, { hint: 'start from `sluice init`' });
  }
  tree = applyEnvOverlay(tree as Record<string, unknown>, options.env, file);
  tree = substitute(tree, environmentFor(dir, options.processEnv), '');

  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) throw configErrorFrom(parsed.error, '', file);
  const c = parsed.data;
  const names = new Set<string>();
  for (const [i, s] of c.sources.entries()) {
    if (names.has(s.name)) throw new ConfigError(`sources[${i}].name: "${s.name}" is used twice`, { hint: 'give every source its own name' });
    names.add(s.name);
  }
  const abs = (p: string) => path.resolve(dir, p);
  return Object.freeze({
    file,
    dir,
    stateDir: abs(c.state_dir),
    // --dev: the local folder ./s3_dev (of the working folder) instead of the configured storage.
    storage: options.dev ? { type: 'local', path: path.resolve('s3_dev') } : c.storage,
    warehouse: c.warehouse,
    sources: c.sources,
    modelsDir: abs(c.transform.models),
  });
}

function applyEnvOverlay(tree: Record<string, unknown>, name: string | undefined, file: string): unknown {
  const { envs, ...base } = tree;
  if (name === undefined) return base;
  const block = (envs as Record<string, unknown> | undefined)?.[name];
  if (block === undefined) {
    const known = envs && typeof envs === 'object' ? Object.keys(envs) : [];
    throw new ConfigError(`--env ${name}: ${file} has no envs.${name} block`, {
      hint: known.length ? `use one of: ${known.join(', ')}` : 'add an envs: block to the config',
    });
  }
  return overlay(base, block);
}
