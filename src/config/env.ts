import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError } from '../core/errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The process environment over a `.env` file beside the config (the process wins, as dotenv does). */
export function environmentFor(configDir: string, processEnv: Env = process.env): Env {
  const file = path.join(configDir, '.env');
  let fromFile: Record<string, string> = {};
  if (fs.existsSync(file)) {
    try {
      fromFile = parseEnv(fs.readFileSync(file, 'utf8')) as Record<string, string>;
    } catch (error) {
      throw new ConfigError(`cannot read ${file}`, { hint: 'fix the .env file: one KEY=value per line', cause: error });
    }
  }
  return { ...fromFile, ...processEnv };
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed YAML tree. */
export function substitute(node: unknown, env: Env, at: string): unknown {
  if (typeof node === 'string') {
    return node.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      if (value === '') return '';
      throw new ConfigError(`${at || 'config'}: environment variable ${name} is not set`, {
        hint: `set ${name} in the environment or in a .env file beside the config, or write \${${name}:-default}`,
      });
    });
  }
  if (Array.isArray(node)) return node.map((item, i) => substitute(item, env, `${at}[${i}]`));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = substitute(value, env, at ? `${at}.${key}` : key);
    return out;
  }
  return node;
}
