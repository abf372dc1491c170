import type { Command } from 'commander';
import { projectSchema, type StreamSchemaView } from '../../pipeline/schema.js';
import { withProject } from '../context.js';
import { print } from '../output.js';
import { driftText, table } from '../render.js';

const when = (iso: string) => iso.slice(0, 16).replace('T', ' ');
const percent = (share: number) => {
  const p = Math.round(share * 1000) / 10;
  return p === 0 && share > 0 ? '<0.1%' : `${p}%`;
};

/** A field's types; with their row counts when it carried more than one. */
function typesText(f: StreamSchemaView['fields'][number]): string {
  if (f.types.length < 2) return f.types.join('');
  return f.types.map((t) => `${t} ${f.type_rows[t as keyof typeof f.type_rows] ?? 0}`).join(', ');
}

export function renderSchema(views: readonly StreamSchemaView[]): string {
  if (views.length === 0) return 'no streams';
  return views
    .map((v) => {
      const head = `${v.source}.${v.stream}: ${v.rows} rows loaded, ${v.fields.length} field paths`;
      if (v.fields.length === 0) return `${head} (nothing loaded with schema tracking yet)`;
      const fields = table(
        ['path', 'types', 'rows', 'share', 'first seen', 'last seen'],
        v.fields.map((f) => [f.path, typesText(f), f.rows, percent(f.share), when(f.first_seen_at), when(f.last_seen_at)]),
      );
      const drift = v.changes.length
        ? ['drift (newest last):', ...v.changes.map((c) => `  ${when(c.at)} ${driftText(c)} (run ${c.run_id})`)]
        : ['no drift since the baseline'];
      return [head, fields, ...drift].join('\n');
    })
    .join('\n\n');
}

/** `sluice schema [SOURCE[.STREAM]]`: the fields each stream has carried, and its drift (DESIGN §9). */
export async function schemaCommand(selector: string | undefined, opts: { changes: string }, self: Command): Promise<void> {
  await withProject(self, async (project, g) => {
    const streams = await projectSchema(project, selector, { changes: Math.max(0, Number(opts.changes) || 0) });
    print(g, { streams }, () => renderSchema(streams));
  });
}
