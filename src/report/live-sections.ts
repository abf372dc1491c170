import type { RunProgressView, StreamProgressView } from '../pipeline/progress.js';
import type { RunRecord } from '../pipeline/run-record.js';
import type { Freshness } from './freshness.js';
import { esc } from './svg.js';

const count = (n: number) => Math.round(n).toLocaleString('en-US');

export function ageText(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

function streamProgress(p: StreamProgressView): string {
  const name = esc(`${p.source}/${p.stream}`);
  if (p.finished) return `<tr><td>${name}</td><td colspan="3">finished</td></tr>`;
  if (!p.step || !p.unit) return `<tr><td>${name}</td><td colspan="3">starting…</td></tr>`;
  const pct = p.total ? Math.min(100, Math.floor(((p.done + p.failed) / p.total) * 100)) : undefined;
  const counted = p.total !== undefined ? `${count(p.done)}/${count(p.total)} ${p.unit}` : `${count(p.done)} ${p.unit}`;
  const extra = [
    p.failed ? `${count(p.failed)} failed` : '',
    p.rows ? `${count(p.rows)} ${p.step === 'fetch' ? 'records' : 'rows'}` : '',
    p.step === 'sync' && p.bytes_per_second ? `${(p.bytes_per_second / 1024 / 1024).toFixed(1)} MB/s` : '',
    p.step === 'load' && p.rows_per_second ? `${count(p.rows_per_second)} rows/s` : '',
    p.eta_seconds !== undefined && pct !== undefined && pct < 100 ? `ETA ${ageText(p.eta_seconds)}` : '',
  ].filter(Boolean);
  const bar = pct === undefined ? '' : `<div class="meter"><div style="width:${pct}%"></div></div> ${pct}%`;
  return `<tr><td>${name}</td><td>${esc(p.step)}</td><td>${esc(counted)} ${bar}</td><td>${esc(extra.join(' · '))}</td></tr>`;
}

/** The run in flight, stream by stream (live pages only). */
export function runInProgressSection(run: RunProgressView | undefined, nowMs: number): string {
  if (!run) return '<p>no run in progress</p>';
  const since = ageText(Math.max(0, (nowMs - Date.parse(run.started_at)) / 1000));
  return `<p class="running">run ${esc(run.run_id)} (${esc(run.command)} ${esc(run.sources.join(', '))}) in progress for ${since}</p>
<table><tr><th>stream</th><th>step</th><th>progress</th><th></th></tr>${run.streams.map(streamProgress).join('')}</table>`;
}

/** Each stream's last success against its source's schedule; late ones are marked. */
export function freshnessSection(rows: readonly Freshness[]): string {
  if (rows.length === 0) return '<p>no streams</p>';
  const body = rows
    .map((f) => {
      const state = f.schedule === undefined ? 'no schedule' : f.last_success_at === undefined ? 'never succeeded' : f.late ? 'LATE' : 'on time';
      const cls = f.late || (f.schedule !== undefined && f.last_success_at === undefined) ? 'bad' : f.schedule ? 'good' : '';
      return `<tr><td>${esc(`${f.source}/${f.stream}`)}</td><td>${esc(f.schedule ?? '-')}</td><td>${f.interval_seconds === undefined ? '-' : ageText(f.interval_seconds)}</td><td>${esc(f.last_success_at ?? '-')}</td><td>${f.age_seconds === undefined ? '-' : `${ageText(f.age_seconds)} ago`}</td><td class="${cls}">${state}</td></tr>`;
    })
    .join('');
  return `<table><tr><th>stream</th><th>schedule (UTC)</th><th>interval</th><th>last success</th><th>age</th><th>freshness</th></tr>${body}</table>
<p class="note">LATE: more than two intervals behind: the two scheduled runs after the last fully successful one have both come and gone</p>`;
}

/** The tests of the last run that transformed: the failing ones listed, or how many passed. */
export function lastTransformSection(runs: readonly RunRecord[]): string {
  const last = runs.findLast((r) => r.transform !== undefined);
  if (!last?.transform) return '<p>no transform has run yet</p>';
  const { models, tests } = last.transform;
  const failing = tests.filter((t) => t.status === 'fail' || t.status === 'error');
  const failedModels = models.filter((m) => m.status === 'failed');
  const head = `<p>run ${esc(last.run_id)} at ${esc(last.finished_at)}: ${models.filter((m) => m.status === 'built').length}/${models.length} models built, ${
    tests.filter((t) => t.status === 'pass').length
  }/${tests.length} tests passed</p>`;
  const rows = [
    ...failedModels.map((m) => `<tr><td>${esc(m.model)}</td><td>model</td><td class="bad">failed</td><td>${esc(m.error ?? '')}</td></tr>`),
    ...failing.map(
      (t) =>
        `<tr><td>${esc(t.model)}</td><td>${esc(`${t.test} on ${t.column}`)}</td><td class="bad">${esc(t.status)}</td><td>${t.status === 'error' ? esc(t.message ?? '') : `${count(t.failures)} failing rows`}</td></tr>`,
    ),
  ];
  return rows.length
    ? `${head}<table><tr><th>model</th><th>test</th><th>result</th><th>detail</th></tr>${rows.join('')}</table>`
    : `${head}<p class="good">no failing tests</p>`;
}
