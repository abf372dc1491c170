import type { Command } from 'commander';
import { scaffoldStream } from '../../pipeline/scaffold.js';
import { print, withProject } from '../context.js';
import { table } from '../render.js';

export function registerModels(program: Command): void {
  const models = program.command('models').description('SQL models: write a staging model for a stream');
  models
    .command('scaffold <source> <stream>')
    .description('write stg_<source>__<stream>.sql and .yml: typed columns from the schema sluice has seen, deduplicated on the key, key tests')
    .option('--out <dir>', 'where to write them (default: <transform.models>/staging)')
    .option('--force', 'overwrite existing files')
    .action(async (source: string, stream: string, opts: { out?: string; force?: boolean }, self: Command) => {
      await withProject(self, async (project, g) => {
        const r = await scaffoldStream(project, { source, stream, out: opts.out, force: opts.force });
        print(g, r, () =>
          [
            `wrote ${r.files.join(', ')}`,
            table(
              ['column', 'type', 'seen'],
              r.columns.map((c) => [c.name, c.type, c.note]),
            ),
            'next: sluice transform (it builds the model and runs its tests)',
          ].join('\n'),
        );
      });
    });
}
