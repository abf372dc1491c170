import type { RunProgressView } from '../pipeline/progress.js';
import type { RunRecord } from '../pipeline/run-record.js';
import type { StreamStatus } from '../pipeline/status.js';
import { freshnessOf } from './freshness.js';
import { freshnessSection, lastTransformSection, runInProgressSection } from './live-sections.js';
import { refreshScript } from './refresh-script.js';
import { barsSvg, completenessSvg, esc, LEGEND } from './svg.js';

const STATUS_COLOUR: Record<RunRecord['status'], string> = { ok: '#2e7d32', partial: '#f9a825', failed: '#e53935' };

const STYLE = `body{font:14px system-ui,sans-serif;margin:24px;color:#263238;background:#fff}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #cfd8dc}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #cfd8dc;padding:3px 8px;text-align:left;font-size:13px}
.bad{color:#c62828;font-weight:600}.good{color:#2e7d32}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
svg{display:block;margin:8px 0;font-family:system-ui,sans-serif}.note{color:#607d8b;font-size:12px}
.meter{display:inline-block;width:160px;height:10px;background:#eceff1;vertical-align:middle}.meter div{height:10px;background:#1e88e5}
.running{font-weight:600;color:#1565c0}.live{font-size:12px;color:#607d8b}.offline .live::after{content:' — not answering, retrying';color:#c62828}`;

function streamSection(s: StreamStatus): string {
  const r = s.reconciliation;
  const loaded = s.hours.filter((h) => h.loaded);
  const rowsChart = loaded.length
    ? barsSvg(
        s.hours.slice(-24 * 14).map((h) => ({ label: h.hour.slice(0, 13).replace('T', ' '), value: h.rows })),
        { caption: `rows per hour, ${s.source}/${s.stream}` },
      )
    : '<p>no rows loaded yet</p>';
  const window = s.window
    ? `<p>window ${esc(s.window.start)} … ${esc(s.window.end)}: ${s.window.hours_expected} hours expected, ${s.window.hours_in_storage} in storage, ${s.window.hours_loaded} loaded; gaps: ${
        s.window.gaps.length ? s.window.gaps.map((g) => `${esc(g.start)} … ${esc(g.end)} (${g.hours} h)`).join('; ') : 'none'
      }</p>`
    : '';
  const problems = [
    ...r.missing_from_storage.map((k) => `loaded batch gone from storage: ${esc(k)}`),
    ...r.unloaded_batches.map((k) => `in storage, not loaded: ${esc(k)}`),
    ...r.line_mismatches.map((m) => `${esc(m.batch)}: ${m.lines} lines ≠ ${m.rows} rows + ${m.rejected} rejected`),
  ];
  return `<section><h3>${esc(`${s.source}/${s.stream}`)} <small>(${esc(s.mode)})</small></h3>${window}
<table><tr><th>lines in landing</th><th>lines in storage</th><th>rows loaded</th><th>rejected</th><th>rows in table</th><th>reconciled</th><th>newest loaded hour</th></tr>
<tr><td>${s.lines_in_landing}</td><td>${r.lines_in_storage}</td><td>${r.rows_loaded}</td><td>${r.rejected}</td><td>${s.rows_in_table}</td><td class="${r.reconciled ? 'good' : 'bad'}">${r.reconciled ? 'yes' : 'NO'}</td><td>${esc(s.newest_loaded_hour ?? '-')}</td></tr></table>
${
  problems.length
    ? `<ul class="bad">${problems
        .slice(0, 20)
        .map((p) => `<li>${p}</li>`)
        .join('')}</ul>`
    : ''
}
<h4>completeness (UTC hours by day)</h4>${completenessSvg(s.hours)}
<h4>rows loaded per hour</h4>${rowsChart}</section>`;
}

function runsSection(runs: readonly RunRecord[]): string {
  if (runs.length === 0) return '<p>no runs yet</p>';
  const recent = runs.slice(-100);
  const chart = barsSvg(
    recent.map((r) => ({
      label: r.started_at.slice(0, 16).replace('T', ' '),
      title: `${r.started_at} ${r.command} ${r.status}`,
      value: Math.round(r.duration_ms / 100) / 10,
      colour: STATUS_COLOUR[r.status],
    })),
    { caption: 'run durations in seconds' },
  );
  const sum = (r: RunRecord, k: 'fetched' | 'loaded_rows' | 'rejected') => r.streams.reduce((n, s) => n + s[k], 0);
  const rows = recent
    .slice(-30)
    .reverse()
    .map(
      (r) =>
        `<tr><td>${esc(r.run_id)}</td><td>${esc(r.command)}</td><td>${esc(r.sources.join(', '))}</td><td style="color:${STATUS_COLOUR[r.status]}">${r.status}</td><td>${(r.duration_ms / 1000).toFixed(1)}</td><td>${sum(r, 'fetched')}</td><td>${sum(r, 'loaded_rows')}</td><td>${sum(r, 'rejected')}</td></tr>`,
    )
    .join('');
  return `<h4>duration of the last ${recent.length} runs (seconds; colour = outcome)</h4>${chart}
<table><tr><th>run</th><th>command</th><th>sources</th><th>status</th><th>seconds</th><th>fetched</th><th>loaded</th><th>rejected</th></tr>${rows}</table>`;
}

export interface ReportInput {
  streams: readonly StreamStatus[];
  runs: readonly RunRecord[];
  generatedAt: string;
  configFile: string;
  /** Each source's cron `schedule:`, to judge freshness. */
  schedules?: Readonly<Record<string, string>>;
  /** `serve`'s live page: the run in flight, and how often the page refreshes itself. */
  live?: { run: RunProgressView | undefined; refreshMs: number; statusAsOf?: string; note?: string };
}

/** A self-contained page: inline CSS and SVG only (and, live, one inline script); nothing is fetched from elsewhere. */
export function renderReport(o: ReportInput): string {
  const nowMs = Date.parse(o.generatedAt);
  const legend = `<p class="legend">${LEGEND.map(([label, colour]) => `<span style="background:${colour}"></span>${esc(label)}`).join('')}</p>`;
  const title = o.live ? 'sluice dashboard' : 'sluice report';
  const asOf = o.live?.statusAsOf && o.live.statusAsOf !== o.generatedAt ? `; streams as of ${esc(o.live.statusAsOf)}` : '';
  const header = `<p>${esc(o.configFile)} — generated ${esc(o.generatedAt)}${asOf}${o.live ? `<span class="live"> · live, refreshed every ${Math.round(o.live.refreshMs / 1000)} s</span>` : ''}</p>${
    o.live?.note ? `<p class="bad">${esc(o.live.note)}</p>` : ''
  }`;
  const part = (id: string, html: string) => `<div data-live="${id}">${html}</div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head>
<body><h1>${title}</h1>${part('header', header)}
${o.live ? `<h2>run in progress</h2>${part('run', runInProgressSection(o.live.run, nowMs))}` : ''}
<h2>freshness</h2>${part('freshness', freshnessSection(freshnessOf(o.streams, o.schedules ?? {}, nowMs)))}
<h2>streams</h2>${legend}${part('streams', o.streams.length ? o.streams.map(streamSection).join('\n') : '<p>no sources configured</p>')}
<h2>last transform</h2>${part('tests', lastTransformSection(o.runs))}
<h2>run history</h2>${part('runs', runsSection(o.runs))}
${o.live ? refreshScript(o.live.refreshMs) : ''}</body></html>
`;
}
