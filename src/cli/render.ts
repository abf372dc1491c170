import type { RunRecord, SchemaDrift, StreamReport } from '../pipeline/run-record.js';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A stream's summary: what each step did. */
export function streamLine(s: StreamReport, steps: readonly string[]): string {
  const parts: string[] = [];
  if (steps.includes('fetch')) {
    parts.push(
      s.fetched === 0 && s.errors.length === 0
        ? 'nothing new fetched'
        : `fetched ${plural(s.fetched, 'record')} into ${plural(s.landed_batches, 'batch', 'batches')}`,
    );
    if (s.limited) parts.push('(limited run)');
  }
  if (steps.includes('sync')) {
    parts.push(`synced ${plural(s.synced_batches, 'batch', 'batches')}${s.sync_skipped ? ` (${s.sync_skipped} already in storage)` : ''}`);
  }
  if (steps.includes('load')) {
    parts.push(
      s.loaded_batches === 0 ? 'loaded 0 rows (nothing new)' : `loaded ${plural(s.loaded_rows, 'row')} from ${plural(s.loaded_batches, 'batch', 'batches')}`,
    );
    if (s.rejected) parts.push(`rejected ${plural(s.rejected, 'line')} (see sluice._rejects)`);
  }
  return `${s.source}/${s.stream}: ${parts.join(', ')}`;
}

/** One drift row as a sentence: `new field region (string), first in dt=…/x.jsonl.gz line 4`. */
export function driftText(d: SchemaDrift): string {
  const types = (t: readonly string[]) => (t.length ? t.join(', ') : 'none');
  const what =
    d.kind === 'new_field' ? `new field ${d.path} (${types(d.types_after)})` : `type change ${d.path} (${types(d.types_before)} → ${types(d.types_after)})`;
  return `${what}, first in ${d.batch} line ${d.line}`;
}

/** A run's result; `streams: false` leaves out the streams' summaries (the terminal showed them as they ended). */
export function renderRun(record: RunRecord, steps: readonly string[], o: { streams?: boolean } = {}): string {
  const lines = o.streams === false ? [] : record.streams.map((s) => streamLine(s, steps));
  for (const s of record.streams) {
    for (const d of s.schema_drift ?? []) lines.push(`  drift ${s.source}/${s.stream}: ${driftText(d)}`);
    for (const w of s.warnings) lines.push(`  warning ${s.source}/${s.stream}: ${w.message}`);
    for (const e of s.errors) lines.push(`  failed ${s.source}/${s.stream} ${e.unit}: ${e.message}${e.hint ? `\n    → ${e.hint}` : ''}`);
  }
  if (record.transform) {
    const m = record.transform.models;
    const t = record.transform.tests;
    const count = <T extends { status: string }>(xs: T[], status: string) => xs.filter((x) => x.status === status).length;
    lines.push(
      `transform: ${count(m, 'built')} models built${count(m, 'failed') ? `, ${count(m, 'failed')} failed` : ''}${count(m, 'skipped') ? `, ${count(m, 'skipped')} skipped` : ''}; ` +
        `${count(t, 'pass')} tests passed${count(t, 'fail') + count(t, 'error') ? `, ${count(t, 'fail') + count(t, 'error')} failed` : ''}${count(t, 'warn') ? `, ${count(t, 'warn')} warned` : ''}`,
    );
    for (const x of m.filter((y) => y.status === 'failed')) lines.push(`  model ${x.model} failed: ${x.error ?? ''}`);
    for (const x of t.filter((y) => y.status === 'fail' || y.status === 'error'))
      lines.push(`  test ${x.test} on ${x.model}.${x.column} failed: ${x.failures} rows`);
  }
  for (const e of record.errors) lines.push(`error: ${e.message}${e.hint ? `\n  → ${e.hint}` : ''}`);
  const verdict = record.exit_code === 0 ? 'done' : record.exit_code === 1 ? 'done with failures (exit 1)' : 'stopped (exit 2)';
  lines.push(`run ${record.run_id} ${verdict} in ${(record.duration_ms / 1000).toFixed(1)} s`);
  return lines.join('\n');
}

/** A fixed-width table for terminals. */
export function table(headers: string[], rows: Array<Array<string | number | undefined>>): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (c ?? '').padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
