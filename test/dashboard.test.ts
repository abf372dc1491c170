import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmplitudeSim, startAmplitudeSim } from '../src/demo/amplitude-sim.js';
import { ampRun, ampWorkspace } from './support/amplitude.js';
import { chromiumBin } from './support/chromium.js';
import { lacks } from './support/programs.js';
import { freePort, startServe } from './support/serve.js';
import { assertBuilt, ROOT } from './support/workspace.js';

/** Screenshots a person can look at after the run (gitignored). */
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');

interface StatusDoc {
  generated_at: string;
  streams: Array<Record<string, unknown> & { source: string; stream: string; reconciliation: Record<string, unknown> }>;
}

/** What both documents must agree on: the streams and their counts (not the clock-bound fields). */
const counts = (doc: StatusDoc) =>
  doc.streams.map((s) => ({
    stream: `${s.source}/${s.stream}`,
    batches: [s.batches_in_landing, s.batches_in_storage, s.batches_loaded],
    hours: s.hours_in_storage,
    rows: [s.lines_in_landing, s.lines_in_storage, s.rows_loaded, s.rejected, s.rows_in_table],
    reconciled: s.reconciliation.reconciled,
    last_run: s.last_run,
  }));

describe.skipIf(lacks('chromium'))("serve's live dashboard", () => {
  let sim: AmplitudeSim;
  let browser: Browser;
  beforeAll(async () => {
    assertBuilt();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    // Slow enough that a run lasts several of the page's refreshes.
    sim = await startAmplitudeSim({ seed: 2102, latencyMs: 350, meanEventsPerHour: 12 });
    browser = await chromium.launch({
      executablePath: chromiumBin(),
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await sim?.close();
  });

  it('shows the scheduled run in progress, then its result, without a reload; /api/status is `status --json`', async () => {
    // Every 15 s: the first run fetches a day, one hour a request, while the page is open; the
    // later ones find the day complete and are quick.
    const ws = ampWorkspace('dashboard', sim, { max_hours_per_request: 1, concurrency: 1, lookback_days: 1, lag_hours: 2, schedule: '*/15 * * * * *' });
    const port = await freePort();
    const serve = startServe(ws, port);
    const base = `http://127.0.0.1:${port}`;
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      const external: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(base)) external.push(r.url());
      });
      let navigations = 0;
      page.on('framenavigated', (f) => {
        if (f === page.mainFrame()) navigations++;
      });
      for (let i = 0; i < 100; i++) {
        try {
          await page.goto(`${base}/`);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 200)); // serve is still starting
        }
      }
      expect(await page.title()).toBe('sluice dashboard');
      await page.evaluate(() => {
        (globalThis as { loadedOnce?: boolean }).loadedOnce = true;
      });
      navigations = 0;

      const run = page.locator('[data-live="run"]');
      await run.getByText(/in progress for/).waitFor({ timeout: 60_000 });
      await run.getByText(/amplitude\/events/).waitFor({ timeout: 30_000 });
      await run.getByText(/\d+\/\d+ (hours|batches)/).waitFor({ timeout: 30_000 });
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-run-in-progress.png'), fullPage: true });

      await run.getByText('no run in progress').waitFor({ timeout: 90_000 });
      const history = page.locator('[data-live="runs"]');
      await history.getByRole('cell', { name: 'ok', exact: true }).first().waitFor({ timeout: 30_000 });
      await page.locator('[data-live="freshness"]').getByText('on time').waitFor({ timeout: 30_000 });
      const streams = await page.locator('[data-live="streams"]').textContent();
      expect(streams).toMatch(/amplitude\/events/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-after-run.png'), fullPage: true });

      // The page changed in place: no navigation since it loaded, and the marker set then is still there.
      expect(navigations).toBe(0);
      expect(await page.evaluate(() => (globalThis as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
      expect(external).toEqual([]);
      await page.close();

      // Nothing secret on the page or in the document.
      for (const p of ['/', '/api/status']) {
        const text = await (await fetch(`${base}${p}`)).text();
        for (const secret of [sim.options.apiKey, sim.options.secretKey]) expect(text.includes(String(secret)), p).toBe(false);
      }

      // A scheduled run may land between the two reads: the documents agree around one of them.
      const apiStatus = async () => {
        const api = await fetch(`${base}/api/status`);
        expect(api.status).toBe(200);
        return (await api.json()) as StatusDoc;
      };
      let agreed = false;
      for (let i = 0; i < 5 && !agreed; i++) {
        const before = await apiStatus();
        const st = await ampRun(ws, ['--json', 'status']);
        const after = await apiStatus();
        if (st.code !== 0) continue; // a run held the warehouse: DuckDB has one writer
        const cli = JSON.parse(st.stdout) as StatusDoc;
        expect(Object.keys(before).sort()).toEqual(Object.keys(cli).sort());
        expect(Number(counts(cli)[0]?.rows[2])).toBeGreaterThan(0);
        agreed = [before, after].some((live) => JSON.stringify(counts(live)) === JSON.stringify(counts(cli)));
      }
      expect(agreed).toBe(true);
    } finally {
      serve.child.kill('SIGKILL');
    }
  }, 240_000);
});
