import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { bundledFiles } from '../../transform/bundled.js';
import { globals, print } from '../context.js';

const CONFIG = `# sluice configuration — see the README for every key.
# \${VAR} and \${VAR:-default} are read from the environment and from .env beside this file.
state_dir: .sluice            # landing, run history, locks
storage:
  type: local
  path: ./lake                # batches land here as github/events/dt=YYYY-MM-DD/hr=HH/<run>.jsonl.gz
warehouse:
  type: duckdb
  path: ./warehouse.duckdb
sources:
  - name: github
    type: github
    repos: [duckdb/duckdb, apache/spark]
    token: \${GITHUB_TOKEN:-}     # optional: raises the rate limit from 60 to 5,000 requests an hour
    # lookback_hours: 6         # re-read margin: GitHub adds events up to 6 h late
transform:
  models: ./models
# envs:
#   prod: { storage: { type: local, path: /data/lake } }
`;

const ENV_EXAMPLE = `# Copy to .env and fill in. Never commit .env.
GITHUB_TOKEN=
`;

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a starter sluice.yaml, .env.example and models/')
    .option('--force', 'overwrite existing files')
    .action(async (opts: { force?: boolean }, self: Command) => {
      const g = globals(self);
      const configFile = path.resolve(g.config ?? 'sluice.yaml');
      const dir = path.dirname(configFile);
      const files: Array<[string, string]> = [
        [configFile, CONFIG],
        [path.join(dir, '.env.example'), ENV_EXAMPLE],
        // The bundled GitHub models: staging → marts, with their tests (see the README's Models section).
        ...bundledFiles('github').map(([rel, text]): [string, string] => [path.join(dir, 'models', ...rel.split('/')), text]),
      ];
      const existing = files.filter(([f]) => fs.existsSync(f)).map(([f]) => path.relative(process.cwd(), f) || f);
      if (existing.length > 0 && !opts.force) {
        throw new ConfigError(`not overwriting ${existing.join(', ')}`, { hint: 'pass --force to overwrite, or run init in an empty folder' });
      }
      for (const [file, text] of files) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
      }
      const written = files.map(([f]) => path.relative(process.cwd(), f) || f);
      print(g, { written }, () => `wrote ${written.join(', ')}\nnext: sluice run github, then sluice transform`);
    });
}
