import type { Command } from 'commander';
import { checkProject } from '../../pipeline/check.js';
import { withProject } from '../context.js';
import { setExitCode } from '../exit.js';
import { print } from '../output.js';

/** `sluice check`: the config, then storage, the warehouse and every source API, one cheap request each. */
export async function checkCommand(self: Command): Promise<void> {
  await withProject(self, async (project, g) => {
    const results = await checkProject(project);
    const failed = results.filter((r) => !r.ok);
    if (failed.length) setExitCode(2);
    print(g, { ok: failed.length === 0, checks: results }, () =>
      [
        ...results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'}  ${r.what}: ${r.detail}${r.hint ? `\n        → ${r.hint}` : ''}`),
        failed.length ? `\n${failed.length} failed: ${failed.map((r) => r.what).join(', ')}` : '\neverything answered',
      ].join('\n'),
    );
  });
}
