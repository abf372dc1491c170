import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { readRunRecords } from '../../pipeline/run-record.js';
import { projectStatus } from '../../pipeline/status.js';
import { renderReport } from '../../report/html.js';
import { print, withProject } from '../context.js';

export function registerReport(program: Command): void {
  program
    .command('report [sources...]')
    .description('write a self-contained HTML page: completeness grid, rows per hour per stream, run history')
    .option('-o, --out <file>', 'the HTML file to write', 'sluice-report.html')
    .action(async (sources: string[], opts: { out: string }, self: Command) => {
      await withProject(self, async (project, g) => {
        const streams = await projectStatus(project, sources);
        const runs = await readRunRecords(project.config.stateDir);
        const html = renderReport({ streams, runs, generatedAt: new Date().toISOString(), configFile: project.config.file });
        const file = path.resolve(opts.out);
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        await fs.promises.writeFile(tmp, html);
        await fs.promises.rename(tmp, file);
        print(g, { file, streams: streams.length, runs: runs.length }, () => `wrote ${file}`);
      });
    });
}
