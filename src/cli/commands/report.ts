import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { redact } from '../../core/redact.js';
import { readRunRecords } from '../../pipeline/run-record.js';
import { renderReport } from '../../report/html.js';
import { schedulesOf, statusDocument } from '../../report/status-document.js';
import { withProject } from '../context.js';
import { print } from '../output.js';

/** `sluice report`: a self-contained HTML page of the project's state. */
export async function reportCommand(sources: string[], opts: { out: string }, self: Command): Promise<void> {
  await withProject(self, async (project, g) => {
    // Redacted as values before they become HTML: nothing secret reaches the page.
    const { streams, generated_at } = redact(await statusDocument(project, sources));
    const runs = redact(await readRunRecords(project.config.stateDir));
    const html = renderReport({ streams, runs, generatedAt: generated_at, configFile: project.config.file, schedules: schedulesOf(project) });
    const file = path.resolve(opts.out);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, html);
    await fs.promises.rename(tmp, file);
    print(g, { file, streams: streams.length, runs: runs.length }, () => `wrote ${file}`);
  });
}
