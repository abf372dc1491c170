import type { StreamProgressView } from '../pipeline/progress.js';

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** Bytes in the unit a person reads at a glance. */
export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** A duration as `42 s`, `3 min 05 s` or `2 h 07 min`. */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function bar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : width;
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/**
 * One stream's live line: its step, units done of the total (hours, records or batches) with a
 * bar when the total is known, then bytes, rows and their rates, and the time left.
 */
export function progressLine(p: StreamProgressView): string {
  const name = `${p.source}/${p.stream}`;
  if (!p.step || !p.unit) return `${name}  starting…`;
  const parts: string[] = [p.step];
  if (p.total !== undefined) {
    const pct = p.total > 0 ? Math.floor(((p.done + p.failed) / p.total) * 100) : 100;
    parts.push(`${count(p.done)}/${count(p.total)} ${p.unit}`, `${bar(p.done + p.failed, p.total)} ${pct}%`);
  } else {
    parts.push(`${count(p.done)} ${p.unit}`);
  }
  if (p.failed) parts.push(`${count(p.failed)} failed`);
  if (p.rows) parts.push(`${count(p.rows)} ${p.step === 'fetch' ? 'records' : 'rows'}`);
  if (p.bytes) parts.push(bytesText(p.bytes));
  // The rate a person watches for: MB/s while bytes move, rows/s while rows load, else units.
  if (p.step === 'sync' && p.bytes_per_second) parts.push(`${bytesText(p.bytes_per_second)}/s`);
  else if (p.step === 'load' && p.rows_per_second) parts.push(`${count(p.rows_per_second)} rows/s`);
  else if (p.units_per_second) parts.push(`${p.units_per_second < 10 ? p.units_per_second.toFixed(1) : count(p.units_per_second)} ${p.unit}/s`);
  if (p.step_finished_ms !== undefined) parts.push(`done in ${durationText(p.elapsed_seconds)}`);
  else if (p.eta_seconds !== undefined && p.done + p.failed < (p.total ?? 0)) parts.push(`ETA ${durationText(p.eta_seconds)}`);
  else parts.push(durationText(p.elapsed_seconds));
  return `${name}  ${parts.join('  ')}`;
}
