import type { HourState } from '../pipeline/status-hours.js';

/** Text safe inside HTML and SVG. */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const COLOURS = { loaded: '#2e7d32', storage: '#f9a825', landing: '#64b5f6', missing: '#e53935', gone: '#8e24aa', none: '#eceff1' };

function hourColour(h: HourState): string {
  if (h.loaded && h.in_storage) return COLOURS.loaded;
  if (h.in_storage) return COLOURS.storage;
  if (h.in_landing) return COLOURS.landing;
  if (h.loaded) return COLOURS.gone;
  return h.expected ? COLOURS.missing : COLOURS.none;
}

export const LEGEND: Array<[string, string]> = [
  ['loaded', COLOURS.loaded],
  ['in storage, not loaded', COLOURS.storage],
  ['in landing', COLOURS.landing],
  ['expected, missing', COLOURS.missing],
  ['loaded, gone from storage', COLOURS.gone],
  ['nothing', COLOURS.none],
];

/** Hour-by-day completeness grid: one row per UTC day, 24 cells. */
export function completenessSvg(hours: readonly HourState[], maxDays = 62): string {
  const days = [...new Set(hours.map((h) => h.hour.slice(0, 10)))].slice(-maxDays);
  const cell = 14;
  const left = 84;
  const top = 16;
  const width = left + 24 * cell + 4;
  const height = top + days.length * cell + 4;
  const parts: string[] = [];
  for (let hr = 0; hr < 24; hr += 6) parts.push(`<text x="${left + hr * cell}" y="11" font-size="10">${hr}h</text>`);
  for (const [row, d] of days.entries()) parts.push(`<text x="0" y="${top + row * cell + 11}" font-size="11">${d}</text>`);
  for (const h of hours) {
    const row = days.indexOf(h.hour.slice(0, 10));
    if (row < 0) continue;
    const col = Number(h.hour.slice(11, 13));
    const label = `${h.hour}: ${h.loaded ? `loaded, ${h.rows} rows` : h.in_storage ? 'in storage' : h.in_landing ? 'in landing' : h.expected ? 'missing' : 'nothing'}`;
    parts.push(
      `<rect class="hour" x="${left + col * cell}" y="${top + row * cell}" width="${cell - 2}" height="${cell - 2}" fill="${hourColour(h)}"><title>${esc(label)}</title></rect>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="completeness grid">${parts.join('')}</svg>`;
}

/** Bars of one value per item, with the largest value as the scale. */
export function barsSvg(items: Array<{ label: string; value: number; colour?: string; title?: string }>, o: { height?: number; caption: string }): string {
  const height = o.height ?? 140;
  const barW = Math.max(2, Math.min(18, Math.floor(900 / Math.max(1, items.length))));
  const width = Math.max(260, items.length * barW + 60);
  const max = Math.max(1, ...items.map((i) => i.value));
  const base = height - 18;
  const parts = [
    `<line x1="40" y1="${base}" x2="${width}" y2="${base}" stroke="#90a4ae"/>`,
    `<text x="0" y="12" font-size="10">${max}</text>`,
    `<text x="0" y="${base}" font-size="10">0</text>`,
  ];
  items.forEach((it, i) => {
    const h = Math.round((it.value / max) * (base - 8));
    parts.push(
      `<rect class="bar" x="${40 + i * barW}" y="${base - h}" width="${barW - 1}" height="${Math.max(h, it.value > 0 ? 1 : 0)}" fill="${it.colour ?? '#1e88e5'}"><title>${esc(`${it.title ?? it.label}: ${it.value}`)}</title></rect>`,
    );
  });
  const first = items[0]?.label ?? '';
  const last = items.at(-1)?.label ?? '';
  parts.push(`<text x="40" y="${height - 4}" font-size="10">${esc(first)}</text>`);
  if (items.length > 1) parts.push(`<text x="${width}" y="${height - 4}" font-size="10" text-anchor="end">${esc(last)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${esc(o.caption)}">${parts.join('')}</svg>`;
}
