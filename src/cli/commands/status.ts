import type { Command } from 'commander';
import { projectStatus, type StreamStatus } from '../../pipeline/status.js';
import { print, withProject } from '../context.js';
import { table } from '../render.js';

function checkpointSummary(s: StreamStatus): string {
  const c = s.checkpoint as { feeds?: Record<string, { newest_at?: string; newest_id?: string }> } | undefined;
  if (!c) return 'none';
  const pending = s.checkpoint_pending ? ' (pending sync)' : '';
  if (c.feeds) {
    const newest = Object.values(c.feeds)
      .map((f) => f.newest_at)
      .filter(Boolean)
      .sort()
      .at(-1);
    return `${Object.keys(c.feeds).length} feeds, newest event ${newest ?? '-'}${pending}`;
  }
  return `${JSON.stringify(c).slice(0, 60)}${pending}`;
}

export function registerStatus(program: Command): void {
  program
    .command('status [sources...]')
    .description('per source and stream: batches in landing and storage, rows loaded, checkpoint, last run')
    .action(async (sources: string[], _opts: unknown, self: Command) => {
      await withProject(self, async (project, g) => {
        const rows = await projectStatus(project, sources);
        print(g, { streams: rows }, () => {
          if (rows.length === 0) return 'no sources configured';
          const t = table(
            ['stream', 'mode', 'landing', 'storage', 'hours', 'loaded', 'rows', 'rejected', 'last run'],
            rows.map((s) => [
              `${s.source}/${s.stream}`,
              s.mode,
              s.batches_in_landing,
              s.batches_in_storage,
              s.hours_in_storage,
              s.batches_loaded,
              s.rows_loaded,
              s.rejected,
              s.last_run ? `${s.last_run.finished_at} ${s.last_run.command} ${s.last_run.status}` : undefined,
            ]),
          );
          const cps = rows.map((s) => `checkpoint ${s.source}/${s.stream}: ${checkpointSummary(s)}`);
          return [t, '', ...cps].join('\n');
        });
      });
    });
}
