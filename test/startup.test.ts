import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, ROOT, tempDir, writeConfig } from './support/workspace.js';

const HOOK = path.join(ROOT, 'test', 'support', 'record-imports.mjs');
const UNBUNDLED = path.join(ROOT, 'test', 'support', 'unbundled-cli.mjs');

/**
 * The modules (paths under the repository, or node: built-ins) a CLI invocation loaded: by the
 * program users run (the bundle, where packages outside it show), or by the same code unbundled
 * (where its own modules show, and the packages the bundle holds).
 */
function loadedBy(args: string[], cwd: string, program: 'bundle' | 'unbundled'): string[] {
  const file = path.join(cwd, `imports-${process.hrtime.bigint()}.txt`);
  const r = spawnSync(process.execPath, ['--import', HOOK, program === 'bundle' ? BIN : UNBUNDLED, ...args], {
    cwd,
    env: { ...process.env, SLUICE_RECORD_IMPORTS: file, NO_COLOR: '1', CI: 'true' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const urls = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  fs.rmSync(file);
  return [...new Set(urls.map((u) => (u.startsWith('file://') ? path.relative(ROOT, new URL(u).pathname) : u)))];
}

const packagesIn = (modules: string[]) => new Set(modules.flatMap((m) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(m)?.[1] ?? []));

/** Loaded only to draw on a terminal. */
const TERMINAL = ['pino-pretty', 'log-update'];

describe('start-up: each command loads only what it uses', () => {
  let dir: string;
  beforeAll(() => {
    assertBuilt();
    dir = tempDir('startup');
    writeConfig(dir, {
      state_dir: '.sluice',
      storage: { type: 'local', path: 'lake' },
      warehouse: { type: 'duckdb', path: 'warehouse.duckdb' },
      sources: [{ name: 'github', type: 'github', repos: ['acme/web'], base_url: 'http://127.0.0.1:9' }],
    });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('`--help` loads commander and a few small modules of its own: no driver, SDK, config parser, logger or renderer', () => {
    const loaded = loadedBy(['--help'], dir, 'unbundled');
    expect([...packagesIn(loaded)]).toEqual(['commander']);
    const ours = loaded.filter((m) => m.startsWith('dist/'));
    expect(ours.filter((m) => !/^dist\/(cli\/(main|arguments|exit|init-starter)|core\/(errors|memory|redact|secret-pattern))\.js$/.test(m))).toEqual([]);
    // The bundle holds commander: the program users run loads no package at all.
    expect([...packagesIn(loadedBy(['--help'], dir, 'bundle'))]).toEqual([]);
  });

  it('`runs` reads the history with the config parser only: no warehouse, storage, source or logger', () => {
    const loaded = loadedBy(['runs'], dir, 'unbundled');
    expect([...packagesIn(loaded)].sort()).toEqual(['commander', 'yaml', 'zod']);
    expect(loaded.filter((m) => /^dist\/(plugins|warehouse|storage|sources|serve|report)\b/.test(m))).toEqual([]);
    expect([...packagesIn(loadedBy(['runs'], dir, 'bundle'))]).toEqual([]);
  });

  it('`status` loads its warehouse driver only: no other driver, SDK, template engine, renderer or terminal code', () => {
    const loaded = loadedBy(['status'], dir, 'unbundled');
    expect(loaded.filter((m) => /^dist\/(serve|report\/html|transform)\b/.test(m))).toEqual([]);
    for (const packages of [packagesIn(loaded), packagesIn(loadedBy(['status'], dir, 'bundle'))]) {
      // Local storage and DuckDB: the other drivers stay where they are.
      for (const p of ['pg', 'pg-copy-streams', 'snowflake-sdk', '@aws-sdk/client-s3', 'undici', 'nunjucks', 'croner', ...TERMINAL])
        expect(packages.has(p), p).toBe(false);
      expect(packages.has('@duckdb/node-api')).toBe(true);
    }
  });

  it('`load` away from a terminal, in a project without models, loads neither the HTTP client, the terminal code nor the model engine', () => {
    const loaded = loadedBy(['load'], dir, 'unbundled');
    expect(loaded.filter((m) => /^dist\/(transform|cli\/progress-terminal)\b/.test(m))).toEqual([]);
    for (const packages of [packagesIn(loaded), packagesIn(loadedBy(['load'], dir, 'bundle'))])
      for (const p of ['undici', 'nunjucks', ...TERMINAL]) expect(packages.has(p), p).toBe(false);
  });

  it("the bundle holds zod's English messages only: `import * as z` lets the unused locales go", () => {
    // `import { z } from 'zod'` takes zod's namespace object whole, locales and all: 550 KB more
    // for every command to parse. esbuild names each bundled file in a comment above its code.
    const bundle = path.join(ROOT, 'dist', 'cli-bundle');
    const zod = fs
      .readdirSync(bundle)
      .flatMap((f) => [...fs.readFileSync(path.join(bundle, f), 'utf8').matchAll(/^\/\/ (?:\S*\/)?node_modules\/zod\/(\S+)$/gm)].map((m) => m[1] as string));
    expect(zod).toContain('v4/locales/en.js');
    expect(zod.filter((m) => m.includes('/locales/') && m !== 'v4/locales/en.js')).toEqual([]);
  });
});
