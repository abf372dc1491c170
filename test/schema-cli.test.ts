import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgServer, startPostgres, stopPostgres } from './support/postgres.js';
import { lacks } from './support/programs.js';
import { type CliResult, queryDuck, runCli, tempDir, writeConfig } from './support/workspace.js';

/**
 * DESIGN §9 from the command line: drift in the log, the run record, `status` and `schema`; a
 * scaffolded staging model that `transform` builds and tests, on DuckDB and PostgreSQL.
 * Batches are written into the lake as `sync` would leave them; only `load` reads them.
 */
const out = (r: CliResult) => `${r.stdout}\n${r.stderr}`;

function workspace(name: string, warehouse: unknown, stream: Record<string, unknown> = {}) {
  const dir = tempDir(name);
  writeConfig(dir, {
    state_dir: '.sluice',
    storage: { type: 'local', path: './lake' },
    warehouse,
    sources: [
      {
        name: 'crm',
        type: 'rest',
        base_url: 'http://127.0.0.1:9/v1',
        streams: [{ name: 'accounts', path: '/accounts', mode: 'incremental', primary_key: 'id', cursor: { field: 'updated_at', param: 'since' }, ...stream }],
      },
    ],
    transform: { models: './models' },
  });
  return dir;
}

let made = 0;
/** A stored batch of `crm/accounts`, one hour after the last. */
function store(dir: string, records: unknown[]): string {
  made++;
  const hour = new Date(Date.parse('2026-03-01T00:00:00Z') + made * 3_600_000).toISOString();
  const key = `crm/accounts/dt=${hour.slice(0, 10)}/hr=${hour.slice(11, 13)}/run-${String(made).padStart(3, '0')}.jsonl.gz`;
  const file = path.join(dir, 'lake', key);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, zlib.gzipSync(records.map((r) => `${JSON.stringify(r)}\n`).join('')));
  return key;
}

const account = (id: number, extra: Record<string, unknown> = {}) => ({
  id,
  name: `acct-${id}`,
  score: id + 0.5,
  active: id % 2 === 0,
  balance: id * 10.25 + 0.01, // never whole: a number, never an integer
  created_at: `2026-02-${String(1 + (id % 28)).padStart(2, '0')}T08:00:00Z`,
  updated_at: '2026-03-01T00:00:00Z',
  last_login: '2026-02-27T10:00:00Z',
  tags: ['a'],
  meta: { plan: 'pro' },
  ...extra,
});

/** JSON log lines at level warn. */
const warnings = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.level === 40);

describe('sluice load, status, runs and schema: drift where people look', () => {
  let dir: string;
  let second: CliResult;
  let firstLoad: CliResult;
  beforeAll(async () => {
    dir = workspace('schema-cli', { type: 'duckdb', path: './warehouse.duckdb' });
    store(dir, [account(1), account(2)]);
    firstLoad = await runCli(['load', 'crm'], { cwd: dir });
    store(dir, [account(3), account(4, { region: 'eu' }), account(5, { score: '5.5', meta: { plan: 'pro', trial: true } })]);
    second = await runCli(['load', 'crm'], { cwd: dir });
  }, 60_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the first load is the baseline: no drift, no warning', () => {
    expect(firstLoad.code, out(firstLoad)).toBe(0);
    expect(warnings(firstLoad.stderr)).toEqual([]);
    expect(firstLoad.stdout).not.toMatch(/drift/);
  });

  it('a later load warns once per change, naming the stream and the path, and prints it', () => {
    expect(second.code, out(second)).toBe(0);
    expect(warnings(second.stderr).map((w) => [w.event, w.stream, w.path, w.line])).toEqual([
      ['schema.new_field', 'accounts', 'region', 2],
      ['schema.type_change', 'accounts', 'score', 3],
      ['schema.new_field', 'accounts', 'meta.trial', 3],
    ]);
    expect(second.stdout).toMatch(/drift crm\/accounts: new field region \(string\), first in crm\/accounts\/dt=.*run-002\.jsonl\.gz line 2/);
    expect(second.stdout).toMatch(/drift crm\/accounts: type change score \(number → string, number\)/);
  });

  it('the run record counts the changes per kind; `runs` shows them', async () => {
    const runs = await runCli(['--json', 'runs'], { cwd: dir });
    const last = JSON.parse(runs.stdout).runs.at(-1);
    expect(last.streams[0].schema_changes).toEqual({ new_field: 2, type_change: 1 });
    expect(last.streams[0].schema_drift.map((d: { path: string }) => d.path)).toEqual(['region', 'score', 'meta.trial']);
    const text = await runCli(['runs'], { cwd: dir });
    expect(text.stdout).toMatch(/\bdrift\b/);
  });

  it('status has a schema section, in text and in --json', async () => {
    const json = await runCli(['--json', 'status'], { cwd: dir });
    expect(json.code, out(json)).toBe(0);
    const s = JSON.parse(json.stdout).streams[0].schema;
    expect(s.fields).toBe(13);
    expect(s.changes.map((c: { kind: string; path: string }) => `${c.kind} ${c.path}`)).toEqual([
      'new_field region',
      'type_change score',
      'new_field meta.trial',
    ]);
    const text = await runCli(['status'], { cwd: dir });
    expect(text.stdout).toMatch(
      /schema: 13 fields tracked; drift \(newest last\):\n.*new field region \(string\).*\n.*type change score.*\n.*new field meta\.trial/,
    );
  });

  it('`schema SOURCE.STREAM` prints each path with its types, share of rows and when it was seen; --json is one document', async () => {
    const text = await runCli(['schema', 'crm.accounts'], { cwd: dir });
    expect(text.code, out(text)).toBe(0);
    expect(text.stdout).toMatch(/^crm\.accounts: 5 rows loaded, 13 field paths$/m);
    expect(text.stdout).toMatch(/^path\s+types\s+rows\s+share\s+first seen\s+last seen$/m);
    expect(text.stdout).toMatch(/^region\s+string\s+1\s+20%\s/m);
    expect(text.stdout).toMatch(/^score\s+string 1, number 4\s+5\s+100%\s/m);
    expect(text.stdout).toMatch(/^meta\.trial\s+boolean\s+1\s+20%/m);
    const json = await runCli(['--json', 'schema', 'crm'], { cwd: dir });
    const doc = JSON.parse(json.stdout);
    const region = doc.streams[0].fields.find((f: { path: string }) => f.path === 'region');
    expect(region).toMatchObject({ types: ['string'], rows: 1, share: 0.2 });
    expect(region.first_batch).toMatch(/run-002\.jsonl\.gz$/);
    expect(doc.streams[0].changes).toHaveLength(3);
  });

  it('`schema` names what it does not know', async () => {
    const r = await runCli(['schema', 'crm.nope'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/source crm has no stream nope/);
    const r2 = await runCli(['schema', 'nope'], { cwd: dir });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/unknown source "nope"/);
  });

  it('a frozen contract is validated with the config and enforced by the load', async () => {
    const bad = workspace('schema-cli-bad', { type: 'duckdb', path: './warehouse.duckdb' }, { schema: { new_fields: 'lock' } });
    const r = await runCli(['load', 'crm'], { cwd: bad });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/sources\[0\]\.streams\[0\]\.schema\.new_fields/);
    fs.rmSync(bad, { recursive: true, force: true });

    const frozen = workspace('schema-cli-frozen', { type: 'duckdb', path: './warehouse.duckdb' }, { schema: { new_fields: 'freeze' } });
    try {
      store(frozen, [account(1)]);
      expect((await runCli(['load'], { cwd: frozen })).code).toBe(0);
      const key = store(frozen, [account(2), account(3, { coupon: 'X' })]);
      const r2 = await runCli(['--json', 'load'], { cwd: frozen });
      expect(r2.code, out(r2)).toBe(0);
      expect(JSON.parse(r2.stdout).streams[0]).toMatchObject({ loaded_rows: 1, rejected: 1, schema_changes: { new_field: 0, type_change: 0 } });
      const rejects = await queryDuck<{ batch_key: string; line_number: number; reason: string }>(
        path.join(frozen, 'warehouse.duckdb'),
        'SELECT batch_key, line_number, reason FROM sluice._rejects',
      );
      expect(rejects.map((x) => [x.batch_key, Number(x.line_number), x.reason])).toEqual([[key, 2, 'schema_frozen: coupon']]);
    } finally {
      fs.rmSync(frozen, { recursive: true, force: true });
    }
  });
});

const warehouses: Array<[string, boolean]> = [
  ['duckdb', false],
  ['postgres', lacks('postgresql')],
];
for (const [type, skip] of warehouses) {
  describe.skipIf(skip)(`sluice models scaffold on ${type}`, () => {
    let server: PgServer | undefined;
    let dir: string;
    let warehouse: Record<string, unknown>;
    beforeAll(async () => {
      if (type === 'postgres') {
        server = await startPostgres();
        warehouse = { type: 'postgres', url: await server.database('scaffold') };
      } else warehouse = { type: 'duckdb', path: './warehouse.duckdb' };
      dir = workspace(`scaffold-${type}`, warehouse);
      // Names SQL must quote, and one DuckDB would read as a path: the model reads them all.
      const odd = { $flag: true, "it's": 'x' };
      store(dir, [account(1, odd), account(2, odd), account(3, { last_login: 'never', ...odd })]);
      store(dir, [account(2, { name: 'renamed', region: 'eu' }), account(4, { score: '4.5' })]);
      const load = await runCli(['load', 'crm'], { cwd: dir });
      expect(load.code, out(load)).toBe(0);
    }, 90_000);
    afterAll(() => {
      stopPostgres(server);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const query = async (sql: string): Promise<Array<Record<string, unknown>>> =>
      server ? server.query(sql, [], 'scaffold') : queryDuck(path.join(dir, 'warehouse.duckdb'), sql);

    it('writes a typed model and its key tests; transform builds it, one row per key, and the tests pass', async () => {
      const sc = await runCli(['models', 'scaffold', 'crm', 'accounts'], { cwd: dir });
      expect(sc.code, out(sc)).toBe(0);
      expect(sc.stdout).toMatch(/wrote models\/staging\/stg_crm__accounts\.sql, models\/staging\/stg_crm__accounts\.yml/);
      const sql = fs.readFileSync(path.join(dir, 'models/staging/stg_crm__accounts.sql'), 'utf8');
      expect(sql).toMatch(/\{\{ dbt\.safe_cast\("data->>'id'", 'bigint'\) \}\} as id,/);
      expect(sql).toMatch(/\{\{ source\('crm', 'accounts'\) \}\}/);
      const yml = fs.readFileSync(path.join(dir, 'models/staging/stg_crm__accounts.yml'), 'utf8');
      expect(yml).toMatch(/- name: id\n\s+description: .*\n\s+data_tests: \[unique, not_null\]/);

      const tr = await runCli(['--json', 'transform'], { cwd: dir });
      expect(tr.code, out(tr)).toBe(0);
      const doc = JSON.parse(tr.stdout);
      expect(
        doc.tests.map((t: { model: string; column: string; test: string; status: string }) => `${t.model}.${t.column} ${t.test} ${t.status}`).sort(),
      ).toEqual(['stg_crm__accounts.id not_null pass', 'stg_crm__accounts.id unique pass']);
      const cols = Object.fromEntries(
        (
          await query(
            "SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = 'stg_crm__accounts'",
          )
        ).map((r) => [String(r.c), String(r.t).toLowerCase()]),
      );
      const pg = type === 'postgres';
      expect(cols).toEqual({
        id: 'bigint',
        _flag: 'boolean',
        it_s: pg ? 'text' : 'varchar',
        active: 'boolean',
        balance: pg ? 'double precision' : 'double',
        created_at: pg ? 'timestamp without time zone' : 'timestamp',
        last_login: pg ? 'text' : 'varchar',
        meta: pg ? 'jsonb' : 'json',
        name: pg ? 'text' : 'varchar',
        region: pg ? 'text' : 'varchar',
        score: pg ? 'text' : 'varchar',
        tags: pg ? 'jsonb' : 'json',
        updated_at: pg ? 'timestamp without time zone' : 'timestamp',
      });
      const rows = await query(
        'SELECT CAST(id AS VARCHAR) AS id, name, region, CAST(balance AS VARCHAR) AS balance, _flag, it_s FROM analytics.stg_crm__accounts ORDER BY id',
      );
      expect(rows.map((r) => [r.id, r.name, r.region, Number(r.balance), r._flag, r.it_s])).toEqual([
        ['1', 'acct-1', null, 10.26, true, 'x'],
        ['2', 'renamed', 'eu', 20.51, null, null],
        ['3', 'acct-3', null, 30.76, true, 'x'],
        ['4', 'acct-4', null, 41.01, null, null],
      ]);
    });

    it('never overwrites without --force; --force rewrites; --out writes elsewhere', async () => {
      const file = path.join(dir, 'models/staging/stg_crm__accounts.sql');
      fs.appendFileSync(file, '-- mine\n');
      const again = await runCli(['models', 'scaffold', 'crm', 'accounts'], { cwd: dir });
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/not overwriting models\/staging\/stg_crm__accounts\.sql, models\/staging\/stg_crm__accounts\.yml/);
      expect(fs.readFileSync(file, 'utf8')).toMatch(/-- mine\n$/);
      expect((await runCli(['models', 'scaffold', 'crm', 'accounts', '--force'], { cwd: dir })).code).toBe(0);
      expect(fs.readFileSync(file, 'utf8')).not.toMatch(/-- mine/);
      const other = await runCli(['models', 'scaffold', 'crm', 'accounts', '--out', 'elsewhere'], { cwd: dir });
      expect(other.code, out(other)).toBe(0);
      expect(fs.readdirSync(path.join(dir, 'elsewhere')).sort()).toEqual(['stg_crm__accounts.sql', 'stg_crm__accounts.yml']);
    });
  });
}
