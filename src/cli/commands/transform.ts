import type { Command } from 'commander';
import { transformCommand } from '../../pipeline/transform.js';
import type { TransformResult } from '../../transform/engine.js';
import { withProject } from '../context.js';
import { setExitCode } from '../exit.js';
import { print } from '../output.js';
import { table } from '../render.js';

const cell = (v: unknown) => (v === null || v === undefined ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function renderTransform(result: TransformResult, runId: string, exportFile?: string): string {
  const lines: string[] = [];
  lines.push(
    table(
      ['model', 'materialized', 'status', 'rows', 'ms'],
      result.models.map((m) => [
        m.model,
        m.materialized,
        m.status === 'built' && m.mode === 'incremental' ? `built (+${m.merged} rows merged)` : m.status,
        m.rows,
        m.ms,
      ]),
    ),
  );
  for (const m of result.models) if (m.error) lines.push(`  ${m.status} ${m.model}: ${m.error}`);
  if (result.tests.length > 0) {
    lines.push(
      '',
      table(
        ['model', 'column', 'test', 'result', 'failing rows'],
        result.tests.map((t) => [t.model, t.column, t.test, t.status, t.failures]),
      ),
    );
  }
  for (const t of result.tests.filter((x) => x.status !== 'pass')) {
    const verdict = t.status === 'error' ? `could not run: ${t.message}` : `${t.failures} failing ${t.failures === 1 ? 'row' : 'rows'}`;
    lines.push('', `${t.status === 'warn' ? 'warning' : 'FAILED'}: ${t.test} on ${t.model}.${t.column} (${t.at}): ${verdict}`);
    if (t.sample.length > 0) {
      const cols = Object.keys(t.sample[0] ?? {});
      lines.push(
        table(
          cols,
          t.sample.map((row) => cols.map((c) => cell(row[c]))),
        )
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n'),
      );
    }
  }
  const built = result.models.filter((m) => m.status === 'built').length;
  const passed = result.tests.filter((t) => t.status === 'pass' || t.status === 'warn').length;
  lines.push(
    '',
    `transform ${runId}: ${built}/${result.models.length} models built, ${passed}/${result.tests.length} tests passed${result.exit_code ? ' (exit 1)' : ''}`,
  );
  if (exportFile) lines.push(`metrics written to ${exportFile}`);
  return lines.join('\n');
}

/** `sluice transform`: builds the models in dependency order and runs their tests. */
export async function transformAction(opts: { select?: string[]; fullRefresh?: boolean; export?: string }, self: Command): Promise<void> {
  await withProject(self, async (project, g) => {
    const { record, result } = await transformCommand(project, { select: opts.select, fullRefresh: opts.fullRefresh, exportFile: opts.export });
    print(g, { run_id: record.run_id, ...result }, () => renderTransform(result, record.run_id, opts.export));
    setExitCode(result.exit_code);
  });
}
