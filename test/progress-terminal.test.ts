import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressLine } from '../src/cli/progress-lines.js';
import { type AmplitudeSim, startAmplitudeSim } from '../src/demo/amplitude-sim.js';
import { ProgressBoard } from '../src/pipeline/progress.js';
import { ampWorkspace } from './support/amplitude.js';
import { assertBuilt, BIN, runCli } from './support/workspace.js';

const START = '2026-03-01T00:00:00Z';
const END = '2026-03-01T23:00:00Z'; // 24 hours
const ESC = '\u001b';
const ansi = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, 'g');
const shell = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The CLI under a pseudo-terminal (`script`), as a person runs it: what reached the terminal,
 * stdout and stderr together, with its control sequences.
 */
function underTerminal(args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  const cmd = [process.execPath, BIN, ...args].map(shell).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', COLUMNS: '160', LINES: '40' };
  delete env.CI;
  delete env.NO_COLOR;
  return new Promise((resolve) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The text lines a terminal ends up with, near enough: control sequences out, carriage returns as line ends. */
const plainLines = (out: string) =>
  out
    .replace(ansi, '')
    .split(/\r?\n|\r/)
    .map((l) => l.trimEnd())
    .filter(Boolean);

describe.skipIf(!fs.existsSync('/usr/bin/script'))('live progress on a terminal', () => {
  let sim: AmplitudeSim;
  beforeAll(async () => {
    assertBuilt();
    sim = await startAmplitudeSim({ seed: 2101, latencyMs: 80, meanEventsPerHour: 20 });
  });
  afterAll(() => sim.close());

  it('a window fetch shows hours done of the total, redrawn in place, and ends with the stream summary', async () => {
    const ws = ampWorkspace('tty-fetch', sim, { max_hours_per_request: 1, concurrency: 2, lookback_days: 400 });
    const r = await underTerminal(['--config', ws.cfg, 'fetch', 'amplitude', '--start', START, '--end', END], ws.dir);
    expect(r.code, r.out.slice(-2000)).toBe(0);
    const counts = new Set([...r.out.matchAll(/\b(\d+)\/24 hours\b/g)].map((m) => Number(m[1])));
    expect(counts.has(24), [...counts].join(',')).toBe(true);
    expect(counts.size).toBeGreaterThanOrEqual(3);
    // Redrawn in place: the cursor goes up and lines are erased, not new lines printed.
    expect(r.out.match(new RegExp(`${ESC}\\[\\d*A`, 'g'))?.length ?? 0).toBeGreaterThanOrEqual(3);
    const lines = plainLines(r.out);
    const summary = lines.findIndex((l) => /^amplitude\/events: fetched \d+ records into 24 batches$/.test(l));
    expect(summary, lines.slice(-10).join('\n')).toBeGreaterThan(-1);
    expect(lines.at(-1)).toMatch(/^run \S+ done in [\d.]+ s$/);
    // Logs are whole lines: a redraw never lands inside one.
    for (const l of lines.filter((x) => / (INFO|WARN|ERROR): /.test(x))) expect(l).toMatch(/^\[\d\d:\d\d:\d\d\] (INFO|WARN|ERROR): /);
  });

  it('a run shows batches synced with their bytes, then batches and rows loaded', async () => {
    const ws = ampWorkspace('tty-run', sim, { max_hours_per_request: 1, concurrency: 2, lookback_days: 400 });
    const r = await underTerminal(['--config', ws.cfg, 'run', 'amplitude', '--start', START, '--end', END], ws.dir);
    expect(r.code, r.out.slice(-2000)).toBe(0);
    const text = r.out.replace(ansi, '');
    expect(text).toMatch(/amplitude\/events {2}sync {2}24\/24 batches .* [\d.]+ KB/);
    expect(text).toMatch(/amplitude\/events {2}load {2}24\/24 batches .* [\d,]+ rows/);
    const summary = /^amplitude\/events: fetched (\d+) records into 24 batches, synced 24 batches, loaded \1 rows from 24 batches$/;
    expect(plainLines(r.out).some((l) => summary.test(l))).toBe(true);
  });

  it('without a terminal there is no progress at all: no carriage return, no control sequence', async () => {
    const ws = ampWorkspace('no-tty', sim, { max_hours_per_request: 1, concurrency: 2, lookback_days: 400 });
    // CI unset: only the missing terminal keeps the progress away.
    const r = await runCli(['--config', ws.cfg, 'run', 'amplitude', '--start', START, '--end', END], { cwd: ws.dir, env: { CI: '' } });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/[\r\u001b]/);
    expect(r.stdout).toMatch(/^amplitude\/events: fetched \d+ records into 24 batches, synced 24 batches/m);
  });

  it('`--no-progress` and `--json` keep a terminal free of progress', async () => {
    const ws = ampWorkspace('tty-json', sim, { max_hours_per_request: 1, concurrency: 2, lookback_days: 400 });
    const quiet = await underTerminal(['--config', ws.cfg, '--no-progress', 'fetch', 'amplitude', '--start', START, '--end', END], ws.dir);
    expect(quiet.code).toBe(0);
    expect(quiet.out).not.toMatch(/\d+\/24 hours/);
    const json = await underTerminal(['--config', ws.cfg, '--json', 'sync', 'amplitude'], ws.dir);
    expect(json.code).toBe(0);
    expect(json.out).not.toMatch(/\d+\/24 batches/);
  });
});

describe('a live line', () => {
  it('shows units of the total, bytes and MB/s for sync, rows/s for load, and the time left from the rate so far', () => {
    let now = 0;
    const board = new ProgressBoard(() => now);
    const at = { source: 'amplitude', stream: 'events' };
    board.report({ type: 'stream.started', ...at });
    board.report({ type: 'step.started', ...at, step: 'sync', unit: 'batches', total: 100 });
    now = 2_000;
    board.report({ type: 'step.advanced', ...at, step: 'sync', units: 25, bytes: 4 * 1024 * 1024 });
    expect(progressLine(board.view('amplitude', 'events')!)).toBe(
      'amplitude/events  sync  25/100 batches  █████░░░░░░░░░░░░░░░ 25%  4.0 MB  2.0 MB/s  ETA 6 s',
    );
    board.report({ type: 'step.finished', ...at, step: 'sync' });
    board.report({ type: 'step.started', ...at, step: 'load', unit: 'batches', total: 100 });
    now = 6_000;
    board.report({ type: 'step.advanced', ...at, step: 'load', units: 100, rows: 12_000 });
    board.report({ type: 'step.finished', ...at, step: 'load' });
    now = 60_000; // a finished step's figures stand still
    expect(progressLine(board.view('amplitude', 'events')!)).toBe(
      'amplitude/events  load  100/100 batches  ████████████████████ 100%  12,000 rows  3,000 rows/s  done in 4 s',
    );
  });
});
