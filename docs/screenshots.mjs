// Makes the README's pictures from real runs against the built-in simulators:
//   docs/dashboard.png          `sluice serve --port` while a scheduled Amplitude backfill runs
//   docs/terminal-backfill.png  a three-month Amplitude backfill in a terminal (tmux), mid-run
// Needs `npm run build`, Chromium and tmux. Run: node docs/screenshots.mjs
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { startAmplitudeSim } from '../dist/demo/amplitude-sim.js';
import { startGithubSim } from '../dist/demo/github-sim.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'sluice.js');
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function workspace(name, sources) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sluice-shot-${name}-`));
  const config = { state_dir: '.sluice', storage: { type: 'local', path: 'lake' }, warehouse: { type: 'duckdb', path: 'warehouse.duckdb' }, sources };
  fs.writeFileSync(path.join(dir, 'sluice.yaml'), `${JSON.stringify(config, null, 2)}\n`);
  return dir;
}

async function until(what, ok, ms = 120_000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) if (await ok()) return;
  throw new Error(`gave up waiting for ${what}`);
}

async function dashboard(browser) {
  const amp = await startAmplitudeSim({ seed: 7, latencyMs: 300, meanEventsPerHour: 40 });
  const gh = await startGithubSim({ seed: 7, repos: ['duckdb/duckdb', 'apache/spark'], events: 120, spanHours: 6 });
  const sources = (lookbackDays) => [
    { name: 'github', type: 'github', base_url: gh.url, repos: ['duckdb/duckdb', 'apache/spark'], schedule: '*/30 * * * * *' },
    { name: 'amplitude', type: 'amplitude', base_url: amp.url, api_key: amp.options.apiKey, secret_key: amp.options.secretKey, lookback_days: lookbackDays, max_hours_per_request: 1, concurrency: 2, schedule: '*/30 * * * * *' },
  ];
  // A day already loaded, with the GitHub models built; then serve's first run backfills two more days.
  const dir = workspace('dashboard', sources(1));
  fs.cpSync(path.join(ROOT, 'src', 'transform', 'bundled', 'github'), path.join(dir, 'models'), { recursive: true });
  // Not spawnSync: the simulators answer from this process.
  await promisify(execFile)(process.execPath, [BIN, 'run'], { cwd: dir, env: { ...process.env, CI: 'true', SLUICE_LOG_LEVEL: 'warn' } });
  fs.writeFileSync(path.join(dir, 'sluice.yaml'), JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(dir, 'sluice.yaml'), 'utf8')), sources: sources(3) }, null, 2));
  const port = 9464 + Math.floor(Math.random() * 500);
  const serve = spawn(process.execPath, [BIN, 'serve', '--port', String(port)], { cwd: dir, env: { ...process.env, CI: 'true' }, stdio: 'ignore' });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await until('serve', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok);
    await page.goto(`http://127.0.0.1:${port}/`);
    const run = page.locator('[data-live="run"]');
    let seen = '';
    await until('the Amplitude run half done', async () => /amplitude\/events.*fetch.*\b([4-6]\d)%/s.test((seen = await run.innerText())), 120_000).catch((e) => {
      throw new Error(`${e.message}; the page shows: ${seen}`);
    });
    await page.screenshot({ path: path.join(ROOT, 'docs', 'dashboard.png'), fullPage: true });
  } finally {
    serve.kill('SIGKILL');
    await amp.close();
    await gh.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** tmux's screen with its colours, as HTML. */
function screenHtml(ansi) {
  const FG = { 30: '#555', 31: '#e06c75', 32: '#98c379', 33: '#e5c07b', 34: '#61afef', 35: '#c678dd', 36: '#56b6c2', 37: '#dcdfe4', 90: '#7f848e' };
  let style = {};
  let html = '';
  const esc = (s) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
  for (const part of ansi.split(/(\x1b\[[0-9;]*m)/)) {
    const m = /^\x1b\[([0-9;]*)m$/.exec(part);
    if (!m) {
      const css = [style.color && `color:${style.color}`, style.bold && 'font-weight:bold'].filter(Boolean).join(';');
      html += css ? `<span style="${css}">${esc(part)}</span>` : esc(part);
      continue;
    }
    for (const code of (m[1] || '0').split(';').map(Number)) {
      if (code === 0) style = {};
      else if (code === 1) style.bold = true;
      else if (code === 22) style.bold = false;
      else if (code === 39) style.color = undefined;
      else if (FG[code]) style.color = FG[code];
    }
  }
  return `<!doctype html><meta charset="utf-8"><body style="margin:0;background:#282c34"><pre style="margin:0;padding:14px 16px;color:#dcdfe4;font:13px/1.35 'DejaVu Sans Mono',monospace">${html}</pre></body>`;
}

async function terminal(browser) {
  const amp = await startAmplitudeSim({ seed: 8, latencyMs: 400, meanEventsPerHour: 30 });
  const dir = workspace('terminal', [
    { name: 'amplitude', type: 'amplitude', base_url: amp.url, api_key: amp.options.apiKey, secret_key: amp.options.secretKey, max_hours_per_request: 24, concurrency: 3, lookback_days: 400 },
  ]);
  const session = `sluice-shot-${process.pid}`;
  const cmd = `cd ${dir} && env -u CI ${process.execPath} ${BIN} run amplitude --start 2026-01-01 --end 2026-03-31; sleep 30`;
  execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '30', cmd]);
  try {
    let screen = '';
    await until('the backfill half done', () => {
      screen = execFileSync('tmux', ['capture-pane', '-e', '-p', '-t', session], { encoding: 'utf8' });
      return /fetch {2}[\d,]+\/2,160 hours .* (4\d|5\d)%/.test(screen);
    });
    const page = await browser.newPage({ viewport: { width: 1200, height: 200 } });
    await page.setContent(screenHtml(screen.trimEnd()));
    await page.locator('pre').screenshot({ path: path.join(ROOT, 'docs', 'terminal-backfill.png') });
  } finally {
    execFileSync('tmux', ['kill-session', '-t', session]);
    await amp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS });
try {
  // ONLY=terminal or ONLY=dashboard makes one of the two.
  if (process.env.ONLY !== 'dashboard') await terminal(browser);
  if (process.env.ONLY !== 'terminal') await dashboard(browser);
} finally {
  await browser.close();
}
