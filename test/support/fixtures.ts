import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's recorded test data (see test/fixtures/README.md for origin and license). */
export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** The path of a fixture file under test/fixtures; a missing one fails with where it was expected. */
export function fixturePath(rel: string): string {
  const file = path.join(FIXTURES, rel);
  if (!fs.existsSync(file))
    throw new Error(`test fixture missing: test/fixtures/${rel} (it is part of the repository: restore it with \`git checkout -- test/fixtures\`)`);
  return file;
}

/** The recorded page of real GitHub events for duckdb/duckdb. */
export const GITHUB_EVENTS_PAGE = 'github/repos-duckdb-duckdb-events-page1.json';
