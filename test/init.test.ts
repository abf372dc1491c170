import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { askChoice, STARTER_SOURCES, STARTER_STORAGES, STARTER_WAREHOUSES, starterFiles } from '../src/cli/init-starter.js';
import { loadConfig } from '../src/config/load.js';
import { resolveSources } from '../src/plugins.js';
import { runCli, tempDir } from './support/workspace.js';

describe('sluice init', () => {
  it('writes a valid config for every choice of sources, storage and warehouse', () => {
    for (const storage of STARTER_STORAGES) {
      for (const warehouse of STARTER_WAREHOUSES) {
        const dir = tempDir('init-combo');
        const { config, env } = starterFiles({ sources: [...STARTER_SOURCES], storage, warehouse });
        fs.writeFileSync(path.join(dir, 'sluice.yaml'), config);
        const loaded = loadConfig({ file: path.join(dir, 'sluice.yaml'), processEnv: {} });
        expect(loaded.storage.type).toBe(storage);
        expect(loaded.warehouse.type).toBe(warehouse);
        expect(resolveSources(loaded).map((s) => s.type)).toEqual(['github', 'amplitude', 'rest']);
        expect(env).toMatch(/GITHUB_TOKEN=/);
      }
    }
  });

  it('asks on a terminal, takes defaults on Enter and asks again after a wrong answer', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d) => {
      shown += d;
    });
    const answers = ['github, amplitude', 'ftp', 's3', ''];
    const asked = askChoice(input, output);
    for (const a of answers) {
      await new Promise((r) => setTimeout(r, 20));
      input.write(`${a}\n`);
    }
    expect(await asked).toEqual({ sources: ['github', 'amplitude'], storage: 's3', warehouse: 'duckdb' });
    expect(shown).toMatch(/please answer with one of: local, s3/);
  });

  it('takes flags when not interactive, never overwrites without --force, and rejects unknown choices', async () => {
    const dir = tempDir('init-cli');
    const first = await runCli(['init', '--sources', 'github,amplitude', '--warehouse', 'postgres'], { cwd: dir });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const yaml = fs.readFileSync(path.join(dir, 'sluice.yaml'), 'utf8');
    expect(yaml).toMatch(/type: amplitude/);
    expect(yaml).toMatch(/type: postgres/);
    expect(fs.existsSync(path.join(dir, 'models', 'staging', 'stg_amplitude__events.sql'))).toBe(true);
    const again = await runCli(['init'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/not overwriting .*sluice\.yaml/);
    expect(again.stderr).toMatch(/--force/);
    expect((await runCli(['init', '--force'], { cwd: dir })).code).toBe(0);
    const bad = await runCli(['init', '--force', '--storage', 'ftp'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--storage: "ftp" is not one of local, s3/);
  });

  it('points at schema and models scaffold, with a REST stream as the example', async () => {
    const dir = tempDir('init-scaffold');
    const r = await runCli(['init', '--sources', 'rest'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sluice schema shows the fields each stream carries; sluice models scaffold SOURCE STREAM writes a typed staging model/);
    expect(r.stdout).toMatch(/e\.g\. sluice models scaffold calls agents, then sluice transform/);
    expect(fs.readFileSync(path.join(dir, 'sluice.yaml'), 'utf8')).toMatch(/# schema: \{ new_fields: evolve, type_changes: evolve \}/);
  });
});
