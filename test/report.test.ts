import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GithubSim, startGithubSim } from '../src/demo/github-sim.js';
import { pngInk, renderHtml } from './support/chromium.js';
import { type GithubWorkspace, githubWorkspace, output, sluice } from './support/github.js';
import { lacks } from './support/programs.js';
import type { CliResult } from './support/workspace.js';

describe('sluice report', () => {
  let sim: GithubSim;
  let ws: GithubWorkspace;
  let out: string;
  let report: CliResult;

  beforeAll(async () => {
    sim = await startGithubSim({ seed: 83, repos: ['duckdb/duckdb', 'apache/spark'], events: 150, spanHours: 30 });
    ws = githubWorkspace('report', sim, ['duckdb/duckdb', 'apache/spark']);
    for (let i = 0; i < 2; i++) {
      const r = await sluice(ws, ['run']);
      expect(r.code, output(r)).toBe(0);
    }
    out = path.join(ws.dir, 'out', 'report.html');
    report = await sluice(ws, ['report', '--out', out]);
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('writes a self-contained HTML page', () => {
    expect(report.code, output(report)).toBe(0);
    expect(report.stdout).toContain(out);
    const html = fs.readFileSync(out, 'utf8');
    // Nothing to fetch: no scripts, stylesheets or images from anywhere.
    expect(html).not.toMatch(/<(script|link|img|iframe)\b[^>]*(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
    expect(html).toContain('run history');
  });

  it.skipIf(lacks('chromium'))('the page renders in Chromium with its charts', () => {
    expect(report.code, output(report)).toBe(0);
    const png = path.join(ws.dir, 'out', 'report.png');
    const { dom } = renderHtml(out, png);
    const svgs = dom.split(/<svg\b/i).slice(1);
    expect(svgs.length).toBeGreaterThanOrEqual(3); // grid, rows per hour, run durations
    expect((dom.match(/<rect class="hour"/g) ?? []).length).toBeGreaterThan(24);
    expect((dom.match(/<rect class="bar"/g) ?? []).length).toBeGreaterThan(2);
    const ink = pngInk(png);
    expect(ink.colours).toBeGreaterThanOrEqual(3);
    expect(ink.inked).toBeGreaterThan(0.01);
  });
});
