import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmplitudeSim, startAmplitudeSim } from '../src/demo/amplitude-sim.js';
import { type GithubSim, startGithubSim } from '../src/demo/github-sim.js';
import { ampRun, ampWorkspace } from './support/amplitude.js';
import { githubWorkspace, output, sluice } from './support/github.js';
import { restWorkspace } from './support/rest.js';
import { type RestSim, startRestSim } from './support/rest-sim.js';
import { runCli } from './support/workspace.js';

describe('sluice check', () => {
  let gh: GithubSim;
  let amp: AmplitudeSim;
  let rest: RestSim;
  beforeAll(async () => {
    gh = await startGithubSim({ seed: 85, repos: ['duckdb/duckdb'], events: 10, token: 'good-token' });
    amp = await startAmplitudeSim({ seed: 85 });
    rest = await startRestSim({ seed: 85 });
  });
  afterAll(async () => {
    await gh?.close();
    await amp?.close();
    await rest?.close();
  });

  it('passes when storage, warehouse and every API answer', async () => {
    const ws = githubWorkspace('check-ok', gh, ['duckdb/duckdb'], { token: 'good-token' });
    const r = await sluice(ws, ['--json', 'check']);
    expect(r.code, output(r)).toBe(0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ what: string; ok: boolean }> };
    expect(doc.checks.map((c) => [c.what, c.ok])).toEqual([
      ['config', true],
      ['storage', true],
      ['warehouse', true],
      ['source github', true],
    ]);
    const a = await ampRun(ampWorkspace('check-amp', amp), ['check']);
    expect(a.code, output(a)).toBe(0);
    expect(a.stdout).toMatch(/ok +source amplitude/);
  });

  it('exits 2 naming the source whose credentials are rejected, without showing them', async () => {
    const ws = githubWorkspace('check-bad', gh, ['duckdb/duckdb'], { token: 'wrong-token-123' });
    const r = await sluice(ws, ['check']);
    expect(r.code, output(r)).toBe(2);
    expect(r.stdout).toMatch(/FAIL +source github/);
    expect(r.stdout).toMatch(/token/);
    expect(r.stdout + r.stderr).not.toContain('wrong-token-123');
    const a = await ampRun(ampWorkspace('check-amp-bad', amp, { secret_key: 'not-the-secret' }), ['check']);
    expect(a.code, output(a)).toBe(2);
    expect(a.stdout).toMatch(/FAIL +source amplitude/);
  });

  it('logs in to a declared REST API and reads one page; a wrong password exits 2 naming the settings', async () => {
    const before = rest.requests.length;
    const ok = await runCli(['check'], { cwd: restWorkspace(rest) });
    expect(ok.code, output(ok)).toBe(0);
    expect(ok.stdout).toMatch(/ok +source calls: rest: the API answered and accepted the credentials/);
    expect(rest.requests.slice(before).map((r) => r.path)).toEqual(['/auth/login', '/agents']);
    const bad = await runCli(['check'], { cwd: restWorkspace(rest, { password: 'not-the-password' }) });
    expect(bad.code, output(bad)).toBe(2);
    expect(bad.stdout).toMatch(/FAIL +source calls/);
    expect(bad.stdout).toMatch(/auth\.body/);
    expect(bad.stdout + bad.stderr).not.toContain('not-the-password');
  });

  it('exits 2 on a bad config, naming the key', async () => {
    const ws = githubWorkspace('check-config', gh, ['duckdb/duckdb'], { per_page: 'lots' });
    const r = await sluice(ws, ['check']);
    expect(r.code, output(r)).toBe(2);
    expect(r.stderr).toMatch(/per_page/);
  });
});
