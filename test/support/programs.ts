import fs from 'node:fs';
import path from 'node:path';

/**
 * System programs a few suites need (PostgreSQL's server binaries, Chromium). Each is looked up on
 * PATH, then at its Debian location; a suite that needs a missing one is skipped with
 * `describe.skipIf(lacks(…))`, and the test run prints one line per missing program (see
 * test/support/global-setup.ts). Tests never install anything: `.ci/run` does.
 *
 * SLUICE_TEST_WITHOUT=postgresql,chromium makes the lookup fail, to see what a machine without
 * them runs.
 */
export type ProgramName = 'postgresql' | 'chromium';

interface Program {
  /** What the skip line calls it. */
  what: string;
  install: string;
  find(): string | undefined;
}

const isRoot = process.getuid?.() === 0;

const executable = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

const pathDirs = (): string[] => (process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');

/** The first `name` that is an executable file in one of `dirs`. */
const firstIn = (dirs: string[], names: string[]): string | undefined => {
  for (const dir of dirs) {
    for (const name of names) {
      const file = path.join(dir, name);
      if (executable(file)) return file;
    }
  }
  return undefined;
};

const PG_TOOLS = ['initdb', 'pg_ctl', 'postgres'];
const hasPgTools = (dir: string) => PG_TOOLS.every((t) => executable(path.join(dir, t)));

/** Debian installs each major version under /usr/lib/postgresql/<major>/bin, off PATH: the newest wins. */
function debianPgBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!fs.existsSync(base)) return undefined;
  return fs
    .readdirSync(base)
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(base, v, 'bin'))
    .find(hasPgTools);
}

/** The server refuses to run as root: as root it runs as the `postgres` user, which must exist. */
const postgresUserOk = (): boolean => !isRoot || /^postgres:/m.test(fs.readFileSync('/etc/passwd', 'utf8'));

const PROGRAMS: Record<ProgramName, Program> = {
  postgresql: {
    what: 'PostgreSQL server binaries (initdb, pg_ctl, postgres)',
    install: 'apt-get install -y postgresql',
    find: () => {
      const bin = pathDirs().find(hasPgTools) ?? debianPgBin();
      return bin && postgresUserOk() ? bin : undefined;
    },
  },
  chromium: {
    what: 'Chromium',
    install: 'apt-get install -y chromium',
    find: () => firstIn([...pathDirs(), '/usr/bin'], ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']),
  },
};

export const PROGRAM_NAMES = Object.keys(PROGRAMS) as ProgramName[];

const hidden = (name: ProgramName): boolean =>
  (process.env.SLUICE_TEST_WITHOUT ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .includes(name);

const found = new Map<ProgramName, string | undefined>();

/** Where the program is (PostgreSQL: its bin folder; Chromium: the executable), or undefined. */
export function findProgram(name: ProgramName): string | undefined {
  if (!found.has(name)) found.set(name, hidden(name) ? undefined : PROGRAMS[name].find());
  return found.get(name);
}

/** For `describe.skipIf`: true when the program is missing here. */
export const lacks = (name: ProgramName): boolean => findProgram(name) === undefined;

/** The one line a test run prints for a missing program. */
export function skipLine(name: ProgramName): string {
  const p = PROGRAMS[name];
  return `skipped: the tests that need ${p.what}, not found on PATH nor at the Debian location — install with \`${p.install}\``;
}

/** The program's location; for support code that runs only inside a suite guarded by `lacks`. */
export function requireProgram(name: ProgramName): string {
  const where = findProgram(name);
  if (where === undefined) throw new Error(skipLine(name).replace(/^skipped: /, 'missing: '));
  return where;
}
