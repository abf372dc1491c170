// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the config syntax under test
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { startGithubSim } from '../src/demo/github-sim.js';
import { resolveSources, resolveStorage, resolveWarehouse } from '../src/plugins.js';
import { output, removeDir } from './support/github.js';
import { runCli, tempDir, writeConfig } from './support/workspace.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

function workspace(): string {
  const dir = tempDir('config');
  dirs.push(dir);
  return dir;
}

/** Writes YAML text as the config of a fresh workspace. */
function yamlConfig(text: string, extra: Record<string, string> = {}): string {
  const dir = workspace();
  for (const [name, content] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), content);
  const file = path.join(dir, 'sluice.yaml');
  fs.writeFileSync(file, text);
  return file;
}

const github = (extra: Record<string, unknown> = {}) => ({ name: 'github', type: 'github', repos: ['duckdb/duckdb'], ...extra });

/** The ConfigError that loading (and resolving the sources of) a config throws. */
function configError(config: unknown): ConfigError {
  const file = writeConfig(workspace(), config);
  try {
    // What `new Project(config)` checks before any work: every plug-in's settings.
    const config = loadConfig({ file, processEnv: {} });
    resolveSources(config);
    resolveStorage(config);
    resolveWarehouse(config);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig: environment variables', () => {
  it('replaces ${VAR} and ${VAR:-default} inside strings', () => {
    const file = yamlConfig(
      [
        'sources:',
        '  - name: github',
        '    type: github',
        '    repos: ["${OWNER}/${REPO:-duckdb}"]',
        '    token: ${TOKEN:-}',
        'state_dir: ${STATE:-.state}-x',
      ].join('\n'),
    );
    const c = loadConfig({ file, processEnv: { OWNER: 'apache', TOKEN: 'tok-123456' } });
    expect(c.sources[0]?.repos).toEqual(['apache/duckdb']);
    expect(c.stateDir).toBe(path.join(path.dirname(file), '.state-x'));
    const [source] = resolveSources(c);
    expect(source?.name).toBe('github');
  });

  it('treats an empty variable as unset when a default is given', () => {
    const file = yamlConfig('state_dir: ${STATE:-fallback}\n');
    expect(loadConfig({ file, processEnv: { STATE: '' } }).stateDir).toBe(path.join(path.dirname(file), 'fallback'));
  });

  it('names the key path and the variable when a variable is missing', () => {
    const file = yamlConfig(['sources:', '  - name: github', '    type: github', '    repos: [a/b]', '    token: ${GH_TOKEN}'].join('\n'));
    expect(() => loadConfig({ file, processEnv: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ file, processEnv: {} })).toThrow(/sources\[0\]\.token: environment variable GH_TOKEN is not set/);
  });

  it('reads a .env beside the config, and the process environment wins over it', () => {
    const file = yamlConfig('state_dir: ${A}-${B}\n', { '.env': 'A=from-file\nB=from-file\n' });
    expect(loadConfig({ file, processEnv: { A: 'from-process' } }).stateDir).toBe(path.join(path.dirname(file), 'from-process-from-file'));
  });
});

describe('loadConfig: envs, --dev and paths', () => {
  const base = {
    state_dir: 'state',
    storage: { type: 'local', path: './lake' },
    sources: [github(), { name: 'other', type: 'github', repos: ['a/b'] }],
    envs: { staging: { storage: { path: './staging-lake' }, sources: [{ name: 'github', repos: ['apache/spark'] }] } },
  };

  it('resolves relative paths against the folder of the config, not the working directory', async () => {
    const dir = workspace();
    const c = loadConfig({ file: writeConfig(dir, base), processEnv: {} });
    expect(c.dir).toBe(dir);
    expect(c.stateDir).toBe(path.join(dir, 'state'));
    expect(c.modelsDir).toBe(path.join(dir, 'models'));
    // The plug-ins resolve their own paths against the same folder.
    expect((await resolveStorage(c).create(silentLogger)).location).toBe(`local folder ${path.join(dir, 'lake')}`);
    const warehouse = await resolveWarehouse(c).create(silentLogger);
    await warehouse.close();
    expect(fs.existsSync(path.join(dir, 'warehouse.duckdb'))).toBe(true);
  });

  it('--env overlays its block: objects merge, sources merge by name', () => {
    const dir = workspace();
    const c = loadConfig({ file: writeConfig(dir, base), env: 'staging', processEnv: {} });
    expect(c.storage).toEqual({ type: 'local', path: './staging-lake' });
    expect(c.sources.map((s) => [s.name, s.repos])).toEqual([
      ['github', ['apache/spark']],
      ['other', ['a/b']],
    ]);
  });

  it('an unknown --env name is a config error listing the known ones', () => {
    const file = writeConfig(workspace(), base);
    expect(() => loadConfig({ file, env: 'prod', processEnv: {} })).toThrow(/envs\.prod/);
    try {
      loadConfig({ file, env: 'prod', processEnv: {} });
    } catch (error) {
      expect((error as ConfigError).hint).toMatch(/staging/);
    }
  });

  it('--dev forces local storage in ./s3_dev', () => {
    const c = loadConfig({ file: writeConfig(workspace(), base), dev: true, processEnv: {} });
    expect(c.storage).toEqual({ type: 'local', path: path.resolve('s3_dev') });
  });

  it('a missing config file says how to create one', () => {
    expect(() => loadConfig({ file: path.join(workspace(), 'nope.yaml') })).toThrow(/no config file/);
  });
});

describe('bad configs name the key and what was expected', () => {
  it('an unknown source type names `type` and lists the known types', () => {
    const e = configError({ sources: [github({ type: 'gitlab' })] });
    expect(e.message).toMatch(/sources\[0\]\.type: unknown source type "gitlab"; expected one of: [a-z, ]*\bgithub\b/);
  });

  it('a github source without repos, orgs or users names `repos`', () => {
    expect(configError({ sources: [{ name: 'github', type: 'github' }] }).message).toMatch(/sources\[0\]\.repos: required/);
  });

  it('concurrency: "fast" names `concurrency` and the expected type', () => {
    expect(configError({ sources: [github({ concurrency: 'fast' })] }).message).toMatch(/sources\[0\]\.concurrency: expected (int|number)\b.*received string/);
  });

  it('an unknown key is named, at the top level and inside a source', () => {
    expect(configError({ stroage: { type: 'local' } }).message).toMatch(/\(root\): unknown key "stroage"/);
    expect(configError({ sources: [github({ colour: 'red' })] }).message).toMatch(/sources\[0\]: unknown key "colour"/);
  });

  it('invalid YAML says so with its line', () => {
    const file = yamlConfig('sources:\n  - name: github\n    repos: [a/b\nstate_dir: x\n');
    expect(() => loadConfig({ file, processEnv: {} })).toThrow(/not valid YAML at line \d+/);
  });

  it('two sources with one name are refused', () => {
    expect(configError({ sources: [github(), github()] }).message).toMatch(/sources\[1\]\.name: "github" is used twice/);
  });

  it('a DuckDB memory_limit that is not a size names `warehouse.memory_limit`', () => {
    expect(configError({ sources: [github()], warehouse: { type: 'duckdb', path: 'w.duckdb', memory_limit: 'lots' } }).message).toMatch(
      /warehouse\.memory_limit: a size such as 256MB or 2GB/,
    );
    const file = writeConfig(workspace(), { sources: [github()], warehouse: { type: 'duckdb', path: 'w.duckdb', memory_limit: '1GB' } });
    expect(() => resolveWarehouse(loadConfig({ file, processEnv: {} }))).not.toThrow();
  });

  it('a bad storage type names `storage.type`', () => {
    expect(configError({ storage: { type: 'ftp' } }).message).toMatch(/storage\.type/);
  });
});

describe('sluice with a bad config', () => {
  it('exits 2, prints the key path and makes no HTTP request', async () => {
    const sim = await startGithubSim({ repos: ['duckdb/duckdb'], events: 5 });
    try {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [github({ type: 'gitlab' }), /sources\[0\]\.type/],
        [{ name: 'github', type: 'github' }, /sources\[0\]\.repos/],
        [github({ concurrency: 'fast' }), /sources\[0\]\.concurrency/],
        [github({ token: '${SLUICE_TEST_UNSET_TOKEN}' }), /sources\[0\]\.token/],
      ];
      for (const [source, key] of cases) {
        const dir = workspace();
        const cfg = writeConfig(dir, { sources: [{ ...source, base_url: sim.url }] });
        const r = await runCli(['--config', cfg, 'run', 'github'], { cwd: dir });
        expect(r.code, output(r)).toBe(2);
        expect(r.stderr).toMatch(key);
        expect(r.stderr).toMatch(/→/); // the next step for the user
        expect(fs.existsSync(path.join(dir, 'warehouse.duckdb'))).toBe(false);
      }
      expect(sim.requests.length).toBe(0);
    } finally {
      await sim.close();
    }
  });
});
