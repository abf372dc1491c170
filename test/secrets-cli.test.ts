import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ScriptedServer, startScriptedServer } from './support/http-server.js';
import { formsOf, leaks } from './support/secret-forms.js';
import { type CliResult, listFiles, queryDuck, runCli, tempDir, writeConfig } from './support/workspace.js';

// Awkward on purpose: every character here is spelt differently raw, URL-encoded both ways and
// JSON-escaped. The key travels in the query string, where it is always encoded.
const KEY = 'k+y/Ab=c&d%2F"q\\ z-51e0c7';
const WRONG_KEY = 'w+r/Ng=k&e%2F"y\\ z-9d24ab';
const RECORDS = Array.from({ length: 27 }, (_, i) => ({ id: `it-${i}`, qty: i * 7 }));

let api: ScriptedServer;
let dir: string;
const tries = new Map<number, number>();
let unavailable = 0;

beforeAll(async () => {
  api = await startScriptedServer();
  api.script([
    (req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '0' });
        res.end(JSON.stringify(body));
      };
      if (u.searchParams.get('api_key') !== KEY) return send(401, { message: 'Unauthorized' });
      const offset = Number(u.searchParams.get('offset') ?? 0);
      const n = (tries.get(offset) ?? 0) + 1;
      tries.set(offset, n);
      // Every other page fails on its 1st, 3rd… try, so the client logs retries with the page's URL.
      if (n % 2 === 1 && (offset / 10) % 2 === 0) {
        unavailable++;
        return send(503, { message: 'Service Unavailable' });
      }
      send(200, { items: RECORDS.slice(offset, offset + 10) });
    },
  ]);
  dir = tempDir('secrets');
  writeConfig(dir, {
    state_dir: '.sluice',
    storage: { type: 'local', path: './lake' },
    warehouse: { type: 'duckdb', path: './warehouse.duckdb' },
    sources: [
      {
        name: 'qsrc',
        type: 'rest',
        base_url: api.url,
        retry_base_ms: 1,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: sluice fills ${VAR} from the .env
        auth: { type: 'api_key', name: 'api_key', value: '${QSRC_KEY}', in: 'query' },
        streams: [{ name: 'items', path: '/items', mode: 'full', primary_key: 'id', records_path: 'items', paginate: { type: 'offset', page_size: 10 } }],
      },
    ],
  });
});

afterAll(async () => {
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// dotenv style: single quotes keep every character as it is.
const useKey = (key: string) => fs.writeFileSync(path.join(dir, '.env'), `QSRC_KEY='${key}'\n`);
const forms = [...formsOf(KEY), ...formsOf(WRONG_KEY)];

describe('an api_key in the query string never leaves the process, in any spelling', () => {
  it('not in stdout, stderr, --json output, runs.jsonl or any file, through retries and a rejected key', async () => {
    const outputs: Array<{ what: string; res: CliResult }> = [];
    const sluice = async (args: string[]) => {
      const res = await runCli(args, { cwd: dir, env: { SLUICE_LOG_LEVEL: 'debug' } });
      outputs.push({ what: args.join(' '), res });
      return res;
    };

    useKey(KEY);
    expect((await sluice(['run', 'qsrc'])).code).toBe(0);
    expect((await sluice(['--json', 'run', 'qsrc'])).code).toBe(0);
    useKey(WRONG_KEY);
    const refused = await sluice(['--json', 'run', 'qsrc']);
    expect(refused.code).toBe(2);
    useKey(KEY);
    expect((await sluice(['runs', '--json'])).code).toBe(0);
    expect((await sluice(['status', '--json'])).code).toBe(0);

    // The paths that could leak were taken: logged retries with the URL, and a refusal naming it.
    expect(unavailable).toBeGreaterThanOrEqual(4);
    expect(outputs.map((o) => o.res.stderr).join('\n')).toMatch(/http\.retry[\s\S]*api_key=\[redacted\]/);
    expect(refused.stderr).toMatch(/401 .*api_key=\[redacted\]/);
    expect(JSON.parse(refused.stdout)).toMatchObject({ exit_code: 2, errors: [{ code: 'auth' }] });
    const rows = await queryDuck<{ n: number }>(path.join(dir, 'warehouse.duckdb'), 'SELECT count(*)::INT AS n FROM raw.qsrc_items');
    expect(rows[0]?.n).toBe(RECORDS.length);

    const found: string[] = [];
    for (const { what, res } of outputs) {
      for (const form of leaks(res.stdout, forms)) found.push(`stdout of ${what}: ${form}`);
      for (const form of leaks(res.stderr, forms)) found.push(`stderr of ${what}: ${form}`);
    }
    const files = listFiles(dir).filter((f) => f !== 'sluice.yaml' && f !== '.env');
    expect(files).toContain('.sluice/runs.jsonl');
    for (const file of files) {
      let bytes = fs.readFileSync(path.join(dir, file));
      if (file.endsWith('.gz')) bytes = zlib.gunzipSync(bytes);
      for (const form of leaks(bytes.toString('latin1'), forms)) found.push(`${file}: ${form}`);
    }
    expect(found).toEqual([]);
  });
});
