import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The bundled models ship as files in the package (`src/transform/bundled`), found from the
 * package root above this module: in `src` (tests), `dist` (the library) or `dist/cli-bundle`
 * (the CLI).
 */
export const BUNDLED_DIR = findUp(path.dirname(fileURLToPath(import.meta.url)), path.join('src', 'transform', 'bundled'));

function findUp(from: string, rel: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, rel))) return path.join(dir, rel);
    if (path.dirname(dir) === dir) return path.resolve(from, '..', '..', rel); // not installed whole: say where it was looked for
  }
}

export const bundledSets = (): string[] =>
  fs
    .readdirSync(BUNDLED_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

/** The files of one set (`github`, `amplitude`) as [relative path, text], for `sluice init` and tests. */
export function bundledFiles(set: string): Array<[string, string]> {
  const dir = path.join(BUNDLED_DIR, set);
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((p) => fs.statSync(path.join(dir, p)).isFile())
    .sort()
    .map((p) => [p.split(path.sep).join('/'), fs.readFileSync(path.join(dir, p), 'utf8')]);
}
