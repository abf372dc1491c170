import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { output } from './support/github.js';
import { runCli, tempDir } from './support/workspace.js';

describe('sluice demo', () => {
  it('runs two simulated sources end to end, prints status and metrics, and a re-run finds nothing new', async () => {
    const cwd = tempDir('demo');
    const r = await runCli(['demo'], { cwd });
    expect(r.code, output(r)).toBe(0);
    expect(r.stdout).toMatch(/github\/events: fetched \d+ records/);
    expect(r.stdout).toMatch(/amplitude\/events: fetched \d+ records/);
    expect(r.stdout).toMatch(/second run[^\n]*\n(?:[^\n]*nothing new[^\n]*\n){2}/);
    expect(r.stdout).toMatch(/events in raw\.github_events\. Top event types/);
    expect(r.stdout).toMatch(/active users in raw\.amplitude_events/);
    expect(fs.readdirSync(cwd)).toEqual([]); // nothing left behind without --keep
  });

  it('--keep leaves a project that status, runs and a second demo work on', async () => {
    const cwd = tempDir('demo-keep');
    const dir = path.join(cwd, 'project');
    const first = await runCli(['demo', '--keep', '--dir', dir], { cwd });
    expect(first.code, output(first)).toBe(0);
    const cfg = path.join(dir, 'sluice.yaml');
    expect(fs.existsSync(cfg)).toBe(true);

    const st = await runCli(['--config', cfg, '--json', 'status'], { cwd: dir });
    expect(st.code, output(st)).toBe(0);
    const streams = (
      JSON.parse(st.stdout) as { streams: Array<{ source: string; stream: string; rows_loaded: number; reconciliation: { reconciled: boolean } }> }
    ).streams;
    expect(streams.map((s) => `${s.source}.${s.stream}`).sort()).toEqual(['amplitude.events', 'github.events']);
    for (const s of streams) {
      expect(s.rows_loaded).toBeGreaterThan(0);
      expect(s.reconciliation.reconciled).toBe(true);
    }
    const runs = await runCli(['--config', cfg, '--json', 'runs'], { cwd: dir });
    expect((JSON.parse(runs.stdout) as { runs: unknown[] }).runs).toHaveLength(2);

    // The same project again: the simulators generate the same data, so nothing is new.
    const again = await runCli(['--json', 'demo', '--keep', '--dir', dir], { cwd });
    expect(again.code, output(again)).toBe(0);
    const doc = JSON.parse(again.stdout) as {
      first: { streams: Array<{ source: string; loaded_rows: number; window?: { hours_missing: number } }> };
    };
    const [gh, amp] = ['github', 'amplitude'].map((n) => doc.first.streams.find((s) => s.source === n));
    expect(gh?.loaded_rows).toBe(0);
    expect(amp?.window?.hours_missing).toBeLessThanOrEqual(1); // only an hour that the clock moved into the window
  });
});
