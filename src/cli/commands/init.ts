import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { bundledFiles } from '../../transform/bundled.js';
import { askChoice, choiceFromFlags, starterFiles } from '../init-starter.js';
import { globals, print } from '../output.js';

/** `sluice init`: a starter config, `.env.example` and the bundled models of the chosen sources. */
export async function initCommand(opts: { force?: boolean; sources?: string; storage?: string; warehouse?: string }, self: Command): Promise<void> {
  const g = globals(self);
  // On a terminal with no choice given, ask; otherwise (scripts, CI) take the flags or defaults.
  const interactive = process.stdin.isTTY && process.stdout.isTTY && !g.json && !opts.sources && !opts.storage && !opts.warehouse;
  const choice = interactive ? await askChoice(process.stdin, process.stdout) : choiceFromFlags(opts);
  const starter = starterFiles(choice);
  const configFile = path.resolve(g.config ?? 'sluice.yaml');
  const dir = path.dirname(configFile);
  const files: Array<[string, string]> = [
    [configFile, starter.config],
    [path.join(dir, '.env.example'), starter.env],
    // The bundled models of the chosen sources: staging → marts, with their tests (README: Models).
    ...choice.sources
      .filter((s) => s !== 'rest')
      .flatMap((set) => bundledFiles(set).map(([rel, text]): [string, string] => [path.join(dir, 'models', ...rel.split('/')), text])),
  ];
  const existing = files.filter(([f]) => fs.existsSync(f)).map(([f]) => path.relative(process.cwd(), f) || f);
  if (existing.length > 0 && !opts.force) {
    throw new ConfigError(`not overwriting ${existing.join(', ')}`, { hint: 'pass --force to overwrite, or run init in an empty folder' });
  }
  for (const [file, text] of files) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  const written = files.map(([f]) => path.relative(process.cwd(), f) || f);
  print(g, { written, choice }, () =>
    [
      `wrote ${written.join(', ')}`,
      `next: sluice check, then sluice run ${choice.sources.map((s) => (s === 'rest' ? 'calls' : s)).join(' ')}`,
      'then: sluice schema shows the fields each stream carries; sluice models scaffold SOURCE STREAM writes a typed staging model for a stream that has none',
      ...(choice.sources.includes('rest') ? ['  e.g. sluice models scaffold calls agents, then sluice transform'] : []),
    ].join('\n'),
  );
}
