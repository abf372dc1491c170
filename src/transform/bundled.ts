import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The bundled models ship as files in the package (`src/transform/bundled`), read from the
 * package root both when running from `src` (tests) and from `dist` (the built CLI).
 */
export const BUNDLED_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'transform', 'bundled');

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
