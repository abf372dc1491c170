import { createInterface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import { ConfigError } from '../core/errors.js';

export const STARTER_SOURCES = ['github', 'amplitude', 'rest'] as const;
export const STARTER_STORAGES = ['local', 's3'] as const;
export const STARTER_WAREHOUSES = ['duckdb', 'postgres'] as const;

export interface StarterChoice {
  sources: Array<(typeof STARTER_SOURCES)[number]>;
  storage: (typeof STARTER_STORAGES)[number];
  warehouse: (typeof STARTER_WAREHOUSES)[number];
}

const SOURCE_BLOCKS: Record<StarterChoice['sources'][number], { yaml: string; env: string }> = {
  github: {
    yaml: `  - name: github
    type: github
    repos: [duckdb/duckdb, apache/spark]
    token: \${GITHUB_TOKEN:-}     # optional: raises the rate limit from 60 to 5,000 requests an hour
    # lookback_hours: 6         # re-read margin: GitHub adds events up to 6 h late
    # schedule: "0 * * * *"     # for sluice serve`,
    env: 'GITHUB_TOKEN=',
  },
  amplitude: {
    yaml: `  - name: amplitude
    type: amplitude
    region: us                  # us | eu
    api_key: \${AMP_API_KEY:-}
    secret_key: \${AMP_SECRET_KEY:-}
    lookback_days: 1
    lag_hours: 12`,
    env: 'AMP_API_KEY=\nAMP_SECRET_KEY=',
  },
  rest: {
    yaml: `  - name: calls
    type: rest
    base_url: https://api.example.com/v1
    auth: { type: bearer, token: "\${CALLS_TOKEN:-}" }
    # schema: { new_fields: evolve, type_changes: evolve }   # freeze: drift goes to sluice._rejects
    streams:
      - { name: agents, path: /agents, mode: full, primary_key: id }   # after a load: sluice models scaffold calls agents`,
    env: 'CALLS_TOKEN=',
  },
};

const STORAGE_BLOCKS: Record<StarterChoice['storage'], string> = {
  local: `storage:
  type: local
  path: ./lake                # batches land as <source>/<stream>/dt=YYYY-MM-DD/hr=HH/<part>.jsonl.gz`,
  s3: `storage:
  type: s3
  bucket: \${SLUICE_BUCKET:-my-bucket}
  prefix: raw/
  region: \${AWS_REGION:-us-east-1}   # credentials: the AWS default chain (env, profile, SSO, roles)`,
};

const WAREHOUSE_BLOCKS: Record<StarterChoice['warehouse'], { yaml: string; env: string }> = {
  duckdb: { yaml: 'warehouse:\n  type: duckdb\n  path: ./warehouse.duckdb', env: '' },
  postgres: { yaml: 'warehouse:\n  type: postgres\n  url: ${PG_URL:-postgres://localhost:5432/postgres}', env: 'PG_URL=' },
};

/** The starter sluice.yaml and .env.example for a choice of sources, storage and warehouse. */
export function starterFiles(c: StarterChoice): { config: string; env: string } {
  const config = [
    '# sluice configuration — see the README for every key.',
    '# ${VAR} and ${VAR:-default} are read from the environment and from .env beside this file.',
    'state_dir: .sluice            # landing, run history, locks',
    STORAGE_BLOCKS[c.storage],
    WAREHOUSE_BLOCKS[c.warehouse].yaml,
    'sources:',
    ...c.sources.map((s) => SOURCE_BLOCKS[s].yaml),
    'transform:',
    '  models: ./models',
    '# envs:',
    '#   prod: { storage: { type: s3, bucket: my-bucket, prefix: raw/ } }',
    '',
  ].join('\n');
  const env = ['# Copy to .env and fill in. Never commit .env.', ...c.sources.map((s) => SOURCE_BLOCKS[s].env), WAREHOUSE_BLOCKS[c.warehouse].env]
    .filter(Boolean)
    .join('\n');
  return { config, env: `${env}\n` };
}

function pick<T extends string>(answer: string, allowed: readonly T[], what: string): T[] {
  const chosen = answer
    .split(/[\s,]+/)
    .map((a) => a.trim().toLowerCase())
    .filter(Boolean);
  const bad = chosen.filter((a) => !allowed.includes(a as T));
  if (bad.length > 0 || chosen.length === 0) {
    throw new ConfigError(`${what}: "${answer}" is not one of ${allowed.join(', ')}`, { hint: `choose from ${allowed.join(', ')}` });
  }
  return [...new Set(chosen)] as T[];
}

/** A choice from flags (comma-separated sources), with defaults: github, local, duckdb. */
export function choiceFromFlags(o: { sources?: string; storage?: string; warehouse?: string }): StarterChoice {
  return {
    sources: pick(o.sources ?? 'github', STARTER_SOURCES, '--sources'),
    storage: pick(o.storage ?? 'local', STARTER_STORAGES, '--storage')[0] as StarterChoice['storage'],
    warehouse: pick(o.warehouse ?? 'duckdb', STARTER_WAREHOUSES, '--warehouse')[0] as StarterChoice['warehouse'],
  };
}

/** Asks on a terminal; Enter takes the default shown in brackets; a wrong answer is asked again. */
export async function askChoice(input: Readable, output: Writable): Promise<StarterChoice> {
  const rl = createInterface({ input, output });
  try {
    const ask = async <T extends string>(question: string, allowed: readonly T[], fallback: string, many: boolean): Promise<T[]> => {
      for (;;) {
        const answer = (await rl.question(`${question} (${allowed.join(' / ')}) [${fallback}]: `)).trim() || fallback;
        try {
          const got = pick(answer, allowed, question);
          if (many || got.length === 1) return got;
        } catch {
          /* asked again below */
        }
        output.write(`  please answer with ${many ? 'one or more of' : 'one of'}: ${allowed.join(', ')}\n`);
      }
    };
    return {
      sources: await ask('Sources', STARTER_SOURCES, 'github', true),
      storage: (await ask('Storage', STARTER_STORAGES, 'local', false))[0] as StarterChoice['storage'],
      warehouse: (await ask('Warehouse', STARTER_WAREHOUSES, 'duckdb', false))[0] as StarterChoice['warehouse'],
    };
  } catch (error) {
    // Ctrl+D or Ctrl+C at a prompt: the user left; nothing was written.
    if ((error as Error).name === 'AbortError')
      throw new ConfigError('init cancelled: nothing written', { hint: 'run sluice init again, or pass --sources, --storage and --warehouse' });
    throw error;
  } finally {
    rl.close();
  }
}
