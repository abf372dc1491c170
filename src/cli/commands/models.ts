import type { Command } from 'commander';
import { scaffoldStream } from '../../pipeline/scaffold.js';
import { withProject } from '../context.js';
import { print } from '../output.js';
import { table } from '../render.js';

/** `sluice models scaffold SOURCE STREAM`: a typed, deduplicated staging model and its key tests. */
export async function scaffoldCommand(source: string, stream: string, opts: { out?: string; force?: boolean }, self: Command): Promise<void> {
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
}
