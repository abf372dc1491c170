import type { Command } from 'commander';
import type { StreamStatus } from '../../pipeline/status.js';
import { completenessGrid } from '../../pipeline/status-hours.js';
import { statusDocument } from '../../report/status-document.js';
import { withProject } from '../context.js';
import { print } from '../output.js';
import { driftText, table } from '../render.js';

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

const age = (seconds: number | undefined) =>
  seconds === undefined ? 'never loaded' : seconds < 3600 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;

function reconciliationLines(s: StreamStatus): string[] {
  const r = s.reconciliation;
  const head = `  rows: ${s.lines_in_landing} lines in landing, ${r.lines_in_storage} in storage = ${r.rows_loaded} loaded + ${r.rejected} rejected`;
  if (r.reconciled) return [`${head}: reconciled${r.per_batch_counts ? '' : ' (batch sets only: this warehouse gives no per-batch counts)'}`];
  const out = [`${head}: NOT RECONCILED`];
  const few = (keys: string[]) => `${keys.slice(0, 3).join(', ')}${keys.length > 3 ? `, … (${keys.length})` : ''}`;
  if (r.missing_from_storage.length) out.push(`    ${r.missing_from_storage.length} loaded batches gone from storage: ${few(r.missing_from_storage)}`);
  if (r.unloaded_batches.length)
    out.push(`    ${r.unloaded_batches.length} batches in storage not loaded yet (run \`sluice load\`): ${few(r.unloaded_batches)}`);
  for (const m of r.line_mismatches.slice(0, 5)) out.push(`    ${m.batch}: ${m.lines} lines ≠ ${m.rows} rows + ${m.rejected} rejected`);
  return out;
}

function streamDetail(s: StreamStatus): string {
  const lines = [`${s.source}/${s.stream} (${s.mode})`];
  if (s.window) {
    const w = s.window;
    lines.push(
      `  window ${w.start} … ${w.end}: ${w.hours_expected} hours expected, ${w.hours_in_landing} in landing, ${w.hours_in_storage} in storage, ${w.hours_loaded} loaded`,
    );
    lines.push(w.gaps.length ? `  gaps: ${w.gaps.map((g) => `${g.start} … ${g.end} (${g.hours} h)`).join('; ')}` : '  gaps: none');
  }
  lines.push(...reconciliationLines(s));
  lines.push(`  checkpoint: ${checkpointSummary(s)}`);
  if (s.schema) {
    lines.push(`  schema: ${s.schema.fields} fields tracked; ${s.schema.changes.length ? 'drift (newest last):' : 'no drift'}`);
    for (const c of s.schema.changes) lines.push(`    ${c.at.slice(0, 19).replace('T', ' ')} ${driftText(c)} (run ${c.run_id})`);
  }
  lines.push(`  freshness: newest loaded hour ${s.newest_loaded_hour ?? '-'} (${age(s.freshness_seconds)} ago)`);
  lines.push(
    s.last_run
      ? `  last run: ${s.last_run.finished_at} ${s.last_run.command} ${s.last_run.status}${s.last_run.errors ? ` (${s.last_run.errors} errors)` : ''}; last success ${s.last_success_at ?? 'never'}`
      : '  last run: none',
  );
  const grid = completenessGrid(s.hours);
  if (grid.length) {
    lines.push('  hours (UTC)  0     6     12    18');
    for (const d of grid) lines.push(`  ${d.day}  ${d.cells}`);
  }
  return lines.join('\n');
}

/** `sluice status`: per stream, what each layer holds, reconciled, with gaps, checkpoint, last run. */
export async function statusCommand(sources: string[], self: Command): Promise<void> {
  await withProject(self, async (project, g) => {
    const doc = await statusDocument(project, sources);
    const rows = doc.streams;
    print(g, doc, () => {
      if (rows.length === 0) return 'no sources configured';
      const t = table(
        ['stream', 'mode', 'landing', 'storage', 'hours', 'loaded', 'rows', 'rejected', 'reconciled', 'last run'],
        rows.map((s) => [
          `${s.source}/${s.stream}`,
          s.mode,
          s.batches_in_landing,
          s.batches_in_storage,
          s.hours_in_storage,
          s.batches_loaded,
          s.rows_loaded,
          s.rejected,
          s.reconciliation.reconciled ? 'yes' : 'NO',
          s.last_run ? `${s.last_run.finished_at} ${s.last_run.command} ${s.last_run.status}` : undefined,
        ]),
      );
      const legend = 'grid: █ loaded  ▓ in storage  ░ in landing  · missing  ! loaded but gone from storage';
      const cps = rows.map((s) => `checkpoint ${s.source}/${s.stream}: ${checkpointSummary(s)}`);
      return [t, '', ...rows.map(streamDetail), '', legend, ...cps].join('\n');
    });
  });
}
