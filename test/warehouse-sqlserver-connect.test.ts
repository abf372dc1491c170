import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { redactText, Secret } from '../src/core/redact.js';
import { type GithubSim, startGithubSim } from '../src/demo/github-sim.js';
import { sqlserverConfigSchema } from '../src/warehouse/sqlserver/config.js';
import { openPool } from '../src/warehouse/sqlserver/connection.js';
import type { MssqlTarget } from '../src/warehouse/sqlserver/target.js';
import { SqlServerWarehouse } from '../src/warehouse/sqlserver/warehouse.js';
import { output } from './support/github.js';
import { freePort } from './support/serve.js';
import { startTdsStub, type TdsStub } from './support/tds-stub.js';
import { listFiles, runCli, tempDir, writeConfig } from './support/workspace.js';

/** The settings as the plug-in parses them; the issues as `key: message`. */
function parse(settings: Record<string, unknown>): { target?: MssqlTarget; issues: string[] } {
  const r = sqlserverConfigSchema.safeParse({ type: 'sqlserver', ...settings });
  return r.success ? { target: r.data, issues: [] } : { issues: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
}

describe('SQL Server settings', () => {
  it('a URL gives host, port, database, user and TLS settings; a password with / + = @ ? needs no escaping', () => {
    const { target } = parse({ url: 'mssql://loader:Sq1+pa/ss=@x?y@db.example.com:14330/sales%20dw?encrypt=false&trustServerCertificate=true' });
    expect(target).toMatchObject({ host: 'db.example.com', port: 14330, database: 'sales dw', user: 'loader', encrypt: false, trustServerCertificate: true });
    expect(target?.password.reveal()).toBe('Sq1+pa/ss=@x?y');
    expect(target?.where).toBe('db.example.com:14330/sales dw');
    // The password alone is registered: it is redacted wherever it shows, raw or URL-encoded.
    expect(redactText('pw Sq1+pa/ss=@x?y and Sq1%2Bpa%2Fss%3D%40x%3Fy')).toBe('pw [redacted] and [redacted]');
  });

  it('defaults: port 1433, encrypt on, the server certificate checked; separate keys say the same', () => {
    expect(parse({ url: 'mssql://sa:pw-1234@127.0.0.1/sluice' }).target).toMatchObject({ port: 1433, encrypt: true, trustServerCertificate: false });
    const { target } = parse({ host: 'sql.internal', database: 'dw', user: 'loader', password: 'pw-5678', trust_server_certificate: true });
    expect(target).toMatchObject({ host: 'sql.internal', port: 1433, database: 'dw', user: 'loader', encrypt: true, trustServerCertificate: true });
    expect(target?.password).toBeInstanceOf(Secret);
    expect(target?.credentialsAt).toBe('warehouse.user and warehouse.password');
  });

  it('names the key to fix: no url or host, both, a key missing beside host, a URL without database, an unknown option', () => {
    expect(parse({}).issues).toEqual([expect.stringMatching(/^url: required: url \(mssql:\/\/.*\), or host, database, user and password$/)]);
    expect(parse({ url: 'mssql://a:b@h/d', host: 'h' }).issues).toEqual([
      'host: set either url or the separate keys (host, port, database, user, password), not both',
    ]);
    expect(parse({ host: 'h', user: 'u', password: 'p' }).issues).toEqual(['database: required with host']);
    expect(parse({ url: 'mssql://a:b@h:1433' }).issues).toEqual([expect.stringMatching(/^url: no database in the URL/)]);
    expect(parse({ url: 'mssql://a:b@h/d?encrpyt=true' }).issues).toEqual([expect.stringMatching(/^url: unknown URL option "encrpyt"/)]);
    expect(parse({ url: 'postgres://a:b@h/d' }).issues).toEqual([expect.stringMatching(/^url: not a SQL Server URL/)]);
    expect(parse({ url: 'mssql://a:b@h/d', pasword: 'x' }).issues).toEqual([expect.stringMatching(/unrecognized key|pasword/i)]);
  });
});

describe('SQL Server connections that fail', () => {
  let refuser: TdsStub;
  let noDatabase: TdsStub;
  let gh: GithubSim;
  const PASSWORD = 'Wr0ng+pw/x=9';
  beforeAll(async () => {
    refuser = await startTdsStub({ refuse: 18456 });
    noDatabase = await startTdsStub({ refuse: 4060, database: 'nope' });
    gh = await startGithubSim({ seed: 18, repos: ['acme/one'], events: 30 });
  });
  afterAll(async () => {
    await refuser?.close();
    await noDatabase?.close();
    await gh?.close();
  });
  const target = (port: number, database = 'sluice') =>
    parse({ url: `mssql://sa:${PASSWORD}@127.0.0.1:${port}/${database}?encrypt=false` }).target as MssqlTarget;
  const openError = (t: MssqlTarget) =>
    SqlServerWarehouse.open(t, silentLogger).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string; hint: string; fatal: boolean },
    );

  it('a refused login is warehouse_unreachable naming the user and where to fix it, after one login, with no password in it', async () => {
    const before = refuser.logins.length;
    const e = await openError(target(refuser.port));
    expect(e).toMatchObject({ code: 'warehouse_unreachable', fatal: true });
    expect(e?.message).toBe(`SQL Server at 127.0.0.1:${refuser.port}/sluice refused the login of user "sa": Login failed for user 'sa'.`);
    expect(e?.hint).toMatch(/^check the user and password in warehouse\.url/);
    expect(refuser.logins.slice(before)).toEqual(['sa']);
    expect(`${e?.message} ${e?.hint}`).not.toContain(PASSWORD);
  });

  it('a database the login cannot open is named', async () => {
    const e = await openError(target(noDatabase.port, 'nope'));
    expect(e).toMatchObject({ code: 'warehouse_unreachable', message: expect.stringContaining('cannot open database "nope" as user "sa"') });
    expect(e?.hint).toMatch(/create the database, or fix its name in warehouse\.url/);
  });

  it('nothing listening: cannot reach, naming host and port', async () => {
    const port = await freePort();
    const e = await openError(target(port));
    expect(e).toMatchObject({ code: 'warehouse_unreachable', message: `cannot reach SQL Server at 127.0.0.1:${port}: connection refused` });
    expect(e?.hint).toMatch(/start SQL Server/);
  });

  it('`sluice check` and `sluice run` exit 2 on a refused login; what run fetched waits in storage', async () => {
    const dir = tempDir('mssql-refused');
    try {
      fs.writeFileSync(path.join(dir, '.env'), `MSSQL_PASSWORD=${PASSWORD}\n`);
      writeConfig(dir, {
        state_dir: '.sluice',
        storage: { type: 'local', path: './lake' },
        warehouse: { type: 'sqlserver', url: `mssql://sa:\${MSSQL_PASSWORD}@127.0.0.1:${refuser.port}/sluice?encrypt=false` },
        sources: [{ name: 'github', type: 'github', base_url: gh.url, repos: ['acme/one'], retry_base_ms: 5 }],
      });
      const before = refuser.logins.length;
      const check = await runCli(['check'], { cwd: dir });
      expect(check.code, output(check)).toBe(2);
      expect(check.stdout + check.stderr).toMatch(/refused the login of user "sa"/);
      const run = await runCli(['run', 'github'], { cwd: dir });
      expect(run.code, output(run)).toBe(2);
      expect(listFiles(path.join(dir, 'lake')).filter((f) => f.endsWith('.jsonl.gz')).length).toBeGreaterThan(0);
      expect(refuser.logins.length - before).toBe(2);
      for (const r of [check, run]) expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without url or host, a command stops before any request, naming warehouse.url', async () => {
    const dir = tempDir('mssql-noconf');
    try {
      writeConfig(dir, {
        storage: { type: 'local', path: './lake' },
        warehouse: { type: 'sqlserver' },
        sources: [{ name: 'github', type: 'github', base_url: gh.url, repos: ['acme/one'] }],
      });
      const before = gh.requests.length;
      const r = await runCli(['run', 'github'], { cwd: dir });
      expect(r.code, output(r)).toBe(2);
      expect(r.stderr).toMatch(/warehouse\.url: required/);
      expect(gh.requests.length).toBe(before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQL Server connection: how statements travel', () => {
  it('as plain SQL batches, never sp_executesql, where a temp table or a SET would end with the call', async () => {
    const stub = await startTdsStub({ accept: true });
    try {
      const t = parse({ url: `mssql://sa:pw-batch-1@127.0.0.1:${stub.port}/sluice?encrypt=false` }).target as MssqlTarget;
      const pool = await openPool(t, { max: 1, app: 'sluice' });
      try {
        await pool.query('CREATE TABLE #sluice_lines (b INT)');
        await pool.query('SET XACT_ABORT ON');
      } finally {
        await pool.close();
      }
      const ours = stub.requests.filter((r) => /#sluice_lines|XACT_ABORT/.test(r.text));
      expect(ours).toEqual([
        { kind: 'batch', text: 'CREATE TABLE #sluice_lines (b INT)' },
        { kind: 'batch', text: 'SET XACT_ABORT ON' },
      ]);
    } finally {
      await stub.close();
    }
  });
});
