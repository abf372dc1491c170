import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT, runCli } from './support/workspace.js';

const DIR = path.join(ROOT, 'examples', 'deploy');
const files = fs.readdirSync(DIR).map((f) => path.join(DIR, f));

/** Every `sluice <command>` the examples run, by the command word. */
function sluiceCommands(): Set<string> {
  const out = new Set<string>();
  for (const f of files) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/\bsluice(?:\.js")?\s+(?:(?:--[\w-]+(?:\s+[\w./-]+)?)\s+)*([a-z][\w-]*)/g)) out.add(m[1] as string);
  }
  // The Dockerfile's CMD passes the command as an argument of the entrypoint.
  const docker = fs.readFileSync(path.join(DIR, 'Dockerfile'), 'utf8');
  const cmd = /^CMD \[\s*"([a-z]+)"/m.exec(docker);
  if (cmd) out.add(cmd[1] as string);
  return out;
}

describe('examples/deploy', () => {
  it('the workflow and flow YAML files parse, with the jobs and tasks they promise', () => {
    const gha = parse(fs.readFileSync(path.join(DIR, 'github-actions.yml'), 'utf8')) as {
      on: { schedule: Array<{ cron: string }> };
      jobs: Record<string, { steps: Array<{ run?: string }> }>;
    };
    expect(gha.on.schedule.map((s) => s.cron)).toEqual(['5 * * * *', '30 3 * * *']);
    expect(Object.keys(gha.jobs)).toEqual(['extract', 'transform']);
    expect(gha.jobs.extract?.steps.some((s) => /sluice run\b/.test(s.run ?? ''))).toBe(true);
    expect(gha.jobs.transform?.steps.some((s) => /sluice transform\b/.test(s.run ?? ''))).toBe(true);
    const kestra = parse(fs.readFileSync(path.join(DIR, 'kestra-flow.yml'), 'utf8')) as { id: string; tasks: unknown[]; triggers: unknown[] };
    expect(kestra.tasks.length).toBeGreaterThan(0);
    expect(kestra.triggers.length).toBe(1);
  });

  it('every sluice command the examples run exists in the CLI', async () => {
    const commands = sluiceCommands();
    expect([...commands]).toEqual(expect.arrayContaining(['run', 'transform', 'status', 'check', 'serve']));
    for (const c of commands) {
      const r = await runCli([c, '--help'], { cwd: ROOT });
      expect(r.code, `sluice ${c} --help: ${r.stderr}`).toBe(0);
    }
  });

  it('the crontab lines have five schedule fields', () => {
    const lines = fs
      .readFileSync(path.join(DIR, 'crontab'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#') && !/^\w+=/.test(l));
    expect(lines.length).toBe(3);
    for (const l of lines)
      expect(
        l
          .trim()
          .split(/\s+/)
          .slice(0, 5)
          .every((f) => /^[\d*/,-]+$/.test(f)),
      ).toBe(true);
  });
});
