import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { configErrorFrom } from '../src/config/zod-errors.js';
import { tempOwner } from '../src/core/fs/temp-files.js';
import { silentLogger } from '../src/core/logger.js';
import type { Source } from '../src/core/source.js';
import { resolveSources } from '../src/plugins.js';
import { restSource } from '../src/sources/rest/index.js';
import { ParentRows } from '../src/sources/rest/parent-rows.js';
import { compactJson, prependField, rawAt, rawElements } from '../src/sources/rest/raw-json.js';
import { callStreams, offset, openSource, rawRows, readStream, restEntry, restWorkspace } from './support/rest.js';
import { type RestSim, type RestSimOptions, startRestSim } from './support/rest-sim.js';
import { execDuck, listFiles, queryDuck, ROOT, runCli, tempDir } from './support/workspace.js';

const sims: RestSim[] = [];
const sources: Source[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function sim(o: RestSimOptions = {}): Promise<RestSim> {
  const s = await startRestSim({ seed: 11, sessions: 60, ...o });
  sims.push(s);
  return s;
}
function source(s: RestSim, over: Record<string, unknown> = {}): Source {
  const src = openSource(restEntry(s, over));
  sources.push(src);
  return src;
}
const json = (xs: unknown[]) => xs.map((x) => JSON.stringify(x));
const ids = (xs: Array<Record<string, unknown>>) => xs.map((x) => x.id);

function configError(streams: unknown[]): string {
  const parsed = restSource.configSchema.safeParse({ name: 'calls', type: 'rest', base_url: 'http://127.0.0.1:1/v1', streams });
  expect(parsed.success).toBe(false);
  return parsed.success ? '' : configErrorFrom(parsed.error, 'sources[0]', 'sluice.yaml').message;
}

describe('rest source: config', () => {
  it('names the key path of every mistake', () => {
    const base = { name: 'sessions', path: '/sessions', primary_key: 'id' };
    expect(configError([{ ...base, mode: 'incremental' }])).toContain('sources[0].streams[0].cursor: required for mode: incremental');
    expect(configError([base, { name: 'scores', parent: 'sesions', path: '/sessions/{id}/scores', primary_key: 'c' }])).toContain(
      'sources[0].streams[1].parent: no stream named "sesions"',
    );
    const incremental = { ...base, mode: 'incremental', cursor: { field: 'updated_at', param: 'updated_from' } };
    expect(configError([incremental, { name: 'scores', parent: 'sessions', mode: 'full', path: '/sessions/{id}/scores', primary_key: 'c' }])).toContain(
      'sources[0].streams[1].mode: must be incremental',
    );
    expect(configError([{ ...base, path: '/sessions/{id}' }])).toContain('sources[0].streams[0].path: {field} placeholders need a parent');
    expect(configError([{ ...base, paginate: { type: 'offset' } }])).toContain('sources[0].streams[0].paginate.page_size');
  });

  it('the example in examples/calls-rest is valid', async () => {
    const env = { ET_USER: 'u', ET_PASSWORD: 'example-pw', DATABASE_URL: 'postgres://u:p@localhost/db' };
    const config = loadConfig({ file: path.join(ROOT, 'examples/calls-rest/sluice.yaml'), processEnv: env });
    const [calls] = resolveSources(config);
    const src = await calls?.create(silentLogger);
    expect(src?.streams().map((x) => `${x.name}:${x.mode}:${x.primaryKey.join('+')}`)).toEqual([
      'agents:full:id',
      'tags:full:id',
      'users:full:id',
      'sessions:cursor:id',
      'scores:cursor:_parent_id+criterion',
    ]);
    return src?.close();
  });

  it('declares children after their parents, keyed by the parent key plus their own', async () => {
    const s = await sim();
    const streams = callStreams();
    const src = source(s, { streams: [streams[4], ...streams.slice(0, 4)] });
    expect(src.streams().map((x) => [x.name, x.mode, x.primaryKey.join('+')])).toEqual([
      ['agents', 'full', 'id'],
      ['tags', 'full', 'id'],
      ['users', 'full', 'id'],
      ['sessions', 'cursor', 'id'],
      ['scores', 'cursor', '_parent_id+criterion'],
    ]);
  });
});

describe('rest source: records keep their bytes', () => {
  const page = '{\n  "total": 2,\n  "items": [\n    { "id": 12345678901234567890, "n": 1.50, "s": "a, b ]" },\n    {"id": 2, "nested": {"x": [1, 2]}}\n  ]\n}';

  it('finds the array at records_path and splits it into the exact text of each record', () => {
    const items = rawAt(page, ['items']) ?? '';
    expect(rawElements(items).map(compactJson)).toEqual(['{"id":12345678901234567890,"n":1.50,"s":"a, b ]"}', '{"id":2,"nested":{"x":[1,2]}}']);
    expect(rawAt(page, ['total'])).toBe('2');
    expect(rawAt(page, ['missing'])).toBeUndefined();
  });

  it('puts the parent key in front of a child record', () => {
    expect(prependField('{"criterion":"greeting"}', '_parent_id', '12345678901234567890')).toBe('{"_parent_id":12345678901234567890,"criterion":"greeting"}');
    expect(prependField('{ }', '_parent_id', '"a"')).toBe('{"_parent_id":"a"}');
  });
});

describe('rest source: auth', () => {
  const agents = [{ name: 'agents', path: '/agents', primary_key: 'id', records_path: 'items', paginate: offset(100) }];

  it.each([
    ['none', { open: true }, { type: 'none' }, 'open'],
    ['basic', {}, { type: 'basic', username: 'agent.admin@callco.example', password: 'call-center-password' }, 'basic'],
    ['bearer', { staticToken: 'static-token-123' }, { type: 'bearer', token: 'static-token-123' }, 'bearer'],
    ['api_key in a header', { apiKey: 'key-456' }, { type: 'api_key', name: 'X-Api-Key', value: 'key-456', in: 'header' }, 'api_key_header'],
    ['api_key in the query', { apiKey: 'key-789' }, { type: 'api_key', name: 'api_key', value: 'key-789', in: 'query' }, 'api_key_query'],
  ])('%s', async (_, simOptions, auth, kind) => {
    const s = await sim(simOptions);
    const got = await readStream(source(s, { auth, streams: agents }), 'agents');
    expect(got.lines).toEqual(json(s.expected().agents));
    expect(s.requests.map((r) => r.auth)).toEqual([kind]);
  });

  it('a rejected static credential stops the source with the setting to fix, never the secret', async () => {
    const s = await sim({ staticToken: 'the-right-token' });
    const err = await readStream(source(s, { auth: { type: 'bearer', token: 'a-wrong-token-000' }, streams: agents }), 'agents').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'auth', fatal: true, hint: expect.stringContaining('sources[0].auth.token') });
    expect(JSON.stringify(err) + String(err)).not.toContain('a-wrong-token-000');
  });

  it('login: a wrong password stops the run after one attempt, naming the credential settings', async () => {
    const s = await sim();
    const auth = { type: 'login', path: '/auth/login', body: { user: s.options.user, password: 'wrong-password-1' }, token_field: 'access_token' };
    const err = await readStream(source(s, { auth }), 'agents').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'auth', fatal: true, hint: expect.stringContaining('sources[0].auth.body (user, password)') });
    expect(JSON.stringify(err) + String(err)).not.toContain('wrong-password-1');
    expect(s.logins).toBe(1);
  });

  it('login: a token that expires mid-run is renewed and the request retried', async () => {
    const s = await sim({ tokenMaxRequests: 7 });
    const src = source(s);
    const sessions = await readStream(src, 'sessions');
    const scores = await readStream(src, 'scores');
    expect(sessions.records).toHaveLength(60);
    expect(scores.records).toHaveLength(s.expected().scores.length);
    expect(scores.failures).toEqual([]);
    expect(s.requests.filter((r) => r.auth === 'expired').length).toBeGreaterThan(0);
    expect(s.loginsOk).toBeGreaterThanOrEqual(9); // 62 data requests, 7 per token
  });

  it('login: a token past its expires_in is renewed before it is used', async () => {
    const s = await sim({ tokenTtlS: 1 });
    const src = source(s);
    await readStream(src, 'agents');
    await new Promise((r) => setTimeout(r, 1100));
    const tags = await readStream(src, 'tags');
    expect(tags.lines).toEqual(json(s.expected().tags));
    expect(s.loginsOk).toBe(2);
    expect(s.requests.filter((r) => r.auth === 'expired')).toEqual([]);
  });
});

describe('rest source: paginators', () => {
  const stream = (over: Record<string, unknown>) => [{ name: 'items', primary_key: 'id', ...over }];

  it.each([
    ['offset, short page', { path: '/agents', records_path: 'items', paginate: offset(7) }, 'agents', 6],
    ['offset, total', { path: '/agents', records_path: 'items', paginate: offset(8, 'total') }, 'agents', 5],
    ['page', { path: '/calls', paginate: { type: 'page', page_param: 'page', size_param: 'per_page', page_size: 9 } }, 'calls', 7],
    ['cursor', { path: '/events', records_path: 'data', paginate: { type: 'cursor', cursor_path: 'next_cursor', cursor_param: 'cursor' } }, 'events', 3],
    ['link_header', { path: '/calls', paginate: { type: 'link_header' } }, 'calls', 3],
  ] as const)('%s', async (_, over, truth, requests) => {
    const s = await sim();
    const got = await readStream(source(s, { streams: stream(over) }), 'items');
    expect(got.lines).toEqual(json(s.expected()[truth])); // every record byte for byte, in order
    expect(s.requests.filter((r) => r.path !== '/auth/login')).toHaveLength(requests);
  });

  it('none: one request', async () => {
    const s = await sim();
    const got = await readStream(source(s, { streams: stream({ path: '/calls' }) }), 'items');
    expect(got.lines).toEqual(json(s.expected().calls.slice(0, 25)));
  });

  it.each([
    ['offset', '/tags', { path: '/tags', records_path: 'items', paginate: offset(5) }],
    ['cursor', '/events', { path: '/events', records_path: 'data', paginate: { type: 'cursor', cursor_path: 'next_cursor', cursor_param: 'cursor' } }],
    ['link_header', '/calls', { path: '/calls', paginate: { type: 'link_header' } }],
  ] as const)('a %s loop that makes no progress fails the stream, not the run', async (_, path, over) => {
    const s = await sim();
    s.repeatPage(path);
    const got = await readStream(source(s, { streams: stream({ ...over, mode: 'full' }) }), 'items');
    expect(got.failures).toHaveLength(1);
    expect(got.failures[0]?.unit).toBe('items');
    expect(got.failures[0]?.error.message).toMatch(/^items: pagination made no progress/);
    expect(got.failures[0]?.error.hint).toContain('sources[0].streams[0].paginate');
    expect(s.requests.filter((r) => r.path === path).length).toBeLessThanOrEqual(3);
  });

  it('retries 503, 429 and connection resets and still reads everything', async () => {
    const s = await sim({ faults: { p503: 0.15, p429: 0.1, pReset: 0.1, retryAfterS: 0 } });
    const src = source(s, { streams: callStreams({ pageSize: 5 }) });
    for (const name of ['agents', 'tags', 'users'] as const) expect((await readStream(src, name)).lines).toEqual(json(s.expected()[name]));
    expect((await readStream(src, 'sessions')).lines).toEqual(json(s.expected().sessions));
    expect((await readStream(src, 'scores')).records).toHaveLength(s.expected().scores.length);
    expect(s.requests.filter((r) => r.fault).length).toBeGreaterThan(5);
  });
});

describe('rest source: full streams are not held in memory', () => {
  const agents = { name: 'agents', path: '/agents', mode: 'full', primary_key: 'id', records_path: 'items', paginate: offset(7) };
  const fullSessions = { name: 'sessions', path: '/sessions', mode: 'full', primary_key: 'id', records_path: 'items', paginate: offset(10, 'total') };
  const fullScores = { name: 'scores', parent: 'sessions', path: '/sessions/{id}/scores', mode: 'full', primary_key: 'criterion' };
  const ctx = { checkpoint: undefined, limit: undefined, runId: 'test', log: silentLogger, signal: new AbortController().signal };
  /** The stream's messages in order, and how many requests matched `counted` when the first records arrived. */
  async function read(src: Source, stream: string, counted: (r: RestSim['requests'][number]) => boolean, s: RestSim) {
    const kinds: string[] = [];
    let atFirstRecords: number | undefined;
    let lines = 0;
    for await (const m of src.read(stream, ctx)) {
      if (m.type === 'records') {
        atFirstRecords ??= s.requests.filter(counted).length;
        lines += m.records.length;
      }
      if (kinds.at(-1) !== m.type) kinds.push(m.type);
    }
    return { kinds, atFirstRecords, lines };
  }

  it('yields the records of each page as it arrives, before the next page is asked for', async () => {
    const s = await sim();
    const got = await read(source(s, { streams: [agents] }), 'agents', (r) => r.path === '/agents', s);
    expect(got.atFirstRecords).toBe(1);
    expect(s.requests.filter((r) => r.path === '/agents')).toHaveLength(6);
    expect(got.lines).toBe(s.expected().agents.length);
  });

  it("a full child of a full parent yields each parent's children as they arrive", async () => {
    const s = await sim({ sessions: 60 });
    const src = source(s, { streams: [fullSessions, fullScores], concurrency: 2 });
    await readStream(src, 'sessions');
    const got = await read(src, 'scores', (r) => r.path.endsWith('/scores'), s);
    expect(got.atFirstRecords).toBeLessThan(60);
    expect(s.requests.filter((r) => r.path.endsWith('/scores'))).toHaveLength(60);
    expect(got.lines).toBe(s.expected().scores.length);
  });

  it('a read that breaks half-way reports its failure after the records it read', async () => {
    const s = await sim();
    s.failFrom('/agents', 21);
    const got = await read(source(s, { streams: [agents] }), 'agents', (r) => r.path === '/agents', s);
    expect(got.kinds).toEqual(['records', 'failure']);
    expect(got.lines).toBe(21);
  });
});

describe('rest source: parent records kept for child streams', () => {
  const row = (i: number) => ({ vars: { id: String(i) }, key: [['id', String(i)]] as Array<[string, string]> });

  it('spill to a scratch file past their limit, come back in order and in chunks, and leave no file behind', async () => {
    const dir = tempDir('parents');
    const rows = new ParentRows({ dir, stream: 'sessions', limit: 4 });
    for (let i = 0; i < 11; i++) await rows.push(row(i));
    expect(rows.length).toBe(11);
    expect(rows.file).toBeDefined();
    expect(tempOwner(path.basename(rows.file as string))?.pid).toBe(process.pid); // a killed run's file is swept
    expect(
      fs
        .readFileSync(rows.file as string, 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(8); // the last 3 are still in memory
    for (let pass = 0; pass < 2; pass++) {
      const chunks: Array<readonly unknown[]> = [];
      for await (const c of rows.chunks()) chunks.push(c);
      expect(chunks.every((c) => c.length <= 4)).toBe(true);
      expect(chunks.flat()).toEqual(Array.from({ length: 11 }, (_, i) => row(i)));
    }
    await rows.dispose();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a small parent never touches disk', async () => {
    const dir = tempDir('parents');
    const rows = new ParentRows({ dir, stream: 'sessions' });
    for (let i = 0; i < 100; i++) await rows.push(row(i));
    expect(rows.file).toBeUndefined();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('rest source: incremental streams and children', () => {
  it('resumes after the checkpoint, minus the lookback', async () => {
    const s = await sim();
    const first = await readStream(source(s), 'sessions');
    const newest = (s.expected().sessions.at(-1) as { updated_at: string }).updated_at;
    expect(first.checkpoint).toEqual({ cursor: newest });
    const change = s.tick({ newSessions: 5, updatedSessions: 4 });
    const before = s.requests.length;
    const second = await readStream(source(s), 'sessions', { checkpoint: first.checkpoint });
    expect(s.requests.slice(before).find((r) => r.path === '/sessions')?.query.updated_from).toBe(newest);
    const atCheckpoint = (s.expected().sessions as Array<{ id: number; updated_at: string }>).filter((x) => x.updated_at === newest).map((x) => x.id);
    expect(new Set(ids(second.records))).toEqual(new Set([...atCheckpoint, ...change.updatedSessions, ...change.newSessions])); // `updated_from` is inclusive

    const before2 = s.requests.length;
    const lookback = openSource(restEntry(s, { streams: callStreams({ lookback: '1h' }) }));
    sources.push(lookback);
    await readStream(lookback, 'sessions', { checkpoint: { cursor: '2026-01-02T10:30:00Z' } });
    expect(s.requests.slice(before2).find((r) => r.path === '/sessions')?.query.updated_from).toBe('2026-01-02T09:30:00Z');
  });

  it('children carry the parent key first and keep their own bytes', async () => {
    const s = await sim();
    const src = source(s);
    const sessions = await readStream(src, 'sessions');
    const scores = await readStream(src, 'scores');
    const truth = s.expected().scores;
    const want = truth.map(({ session_id, ...score }) => `{"_parent_id":${session_id},${JSON.stringify(score).slice(1)}`);
    expect([...scores.lines].sort()).toEqual([...want].sort());
    expect(scores.checkpoint).toEqual({ parent_cursor: (sessions.checkpoint as { cursor: string }).cursor });
    expect(s.requests.filter((r) => r.path === '/sessions').length).toBe(2); // the parent is not read again
  });

  it('a child whose checkpoint lags its parent reads the parents it missed', async () => {
    const s = await sim();
    const first = await readStream(source(s), 'sessions');
    s.tick({ newSessions: 3, updatedSessions: 2 });
    const alone = source(s); // no parent read in this instance: the child reads the parent itself
    const scores = await readStream(alone, 'scores', { checkpoint: { parent_cursor: (first.checkpoint as { cursor: string }).cursor } });
    const changed = s.expected().sessions.filter((x) => (x as { updated_at: string }).updated_at >= (first.checkpoint as { cursor: string }).cursor);
    expect(new Set(scores.records.map((r) => r._parent_id))).toEqual(new Set(changed.map((x) => (x as { id: number }).id)));
  });

  it('--limit caps top-level streams; the checkpoint stops at what was read; children follow their parents', async () => {
    const s = await sim();
    const src = source(s);
    const agents = await readStream(src, 'agents', { limit: 5 });
    expect(agents.lines).toEqual(json(s.expected().agents.slice(0, 5)));
    const sessions = await readStream(src, 'sessions', { limit: 5 });
    const five = s.expected().sessions.slice(0, 5) as Array<{ id: number; updated_at: string }>;
    expect(ids(sessions.records)).toEqual(five.map((x) => x.id));
    expect(sessions.checkpoint).toEqual({ cursor: five[4]?.updated_at });
    const scores = await readStream(src, 'scores', { limit: 5 });
    const wanted = s.expected().scores.filter((x) => five.some((p) => p.id === x.session_id));
    expect(scores.records).toHaveLength(wanted.length);
    expect(scores.checkpoint).toEqual(sessions.checkpoint && { parent_cursor: five[4]?.updated_at });
  });

  it('a limited read of records in no cursor order does not advance the checkpoint', async () => {
    const s = await sim();
    const byDuration = { ...callStreams()[3], name: 'by_duration', cursor: { field: 'duration_s', param: 'min_duration' } };
    const src = source(s, { streams: [byDuration] });
    const limited = await readStream(src, 'by_duration', { limit: 20 });
    expect(limited.records).toHaveLength(20);
    expect(limited.checkpoint).toBeUndefined();
    const full = await readStream(src, 'by_duration');
    expect(full.checkpoint).toEqual({ cursor: Math.max(...s.expected().sessions.map((x) => (x as { duration_s: number }).duration_s)) });
  });

  it('a parent whose children endpoint answers 404 is skipped with a warning', async () => {
    const s = await sim({ sessions: 5 });
    const agents = { name: 'agents', path: '/agents', primary_key: 'id', records_path: 'items', paginate: offset(100) };
    const src = source(s, { streams: [agents, { name: 'scores', parent: 'agents', path: '/sessions/{id}/scores', primary_key: 'criterion' }] });
    await readStream(src, 'agents');
    const scores = await readStream(src, 'scores');
    expect(scores.failures).toEqual([]);
    expect(scores.warnings).toEqual([expect.stringContaining('35 of 40 agents records answered 404')]);
    expect(scores.records).toHaveLength(s.expected().scores.length);
  });
});

describe('rest source: through the CLI into DuckDB', () => {
  const table = async (dir: string, name: string, order: string) =>
    rawRows(
      await queryDuck(path.join(dir, 'warehouse.duckdb'), `SELECT * EXCLUDE (data), CAST(data AS VARCHAR) AS data FROM raw.calls_${name} ORDER BY ${order}`),
    );
  const sluice = async (dir: string, ...args: string[]) => {
    const r = await runCli(args, { cwd: dir });
    expect(r.code, `sluice ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
    return r;
  };

  it('dictionaries are replaced; changed sessions and their scores are updated in place; the overlap is absorbed', async () => {
    const s = await sim({ sessions: 80 });
    const dir = restWorkspace(s);
    await sluice(dir, 'run', 'calls');
    expect(listFiles(path.join(dir, 'lake'))).toContain('_state/calls/sessions.json');
    const checkpoint = JSON.parse(fs.readFileSync(path.join(dir, 'lake/_state/calls/sessions.json'), 'utf8')) as { cursor: string };
    const change = s.tick({ newSessions: 10, updatedSessions: 8 });
    const before = s.requests.length;
    await sluice(dir, 'run', 'calls');
    // the lookback (2h) re-reads sessions that were already stored: the merge on id absorbs them
    const from = s.requests.slice(before).find((r) => r.path === '/sessions')?.query.updated_from;
    expect(Date.parse(from ?? '')).toBe(Date.parse(checkpoint.cursor) - 2 * 3_600_000);

    const truth = s.expected();
    for (const name of ['agents', 'tags', 'users', 'sessions'] as const) {
      const rows = await table(dir, name, 'CAST(id AS BIGINT)');
      expect(rows.map((r) => r.data)).toEqual([...truth[name]].sort((a, b) => (a as { id: number }).id - (b as { id: number }).id));
    }
    expect((await table(dir, 'agents', 'CAST(id AS BIGINT)')).map((r) => r.id)).not.toContain(change.deletedAgent);
    const scores = await table(dir, 'scores', 'CAST(_parent_id AS BIGINT), criterion');
    const want = truth.scores.map(({ session_id, ...x }) => ({ _parent_id: session_id, ...x }));
    expect(scores.map((r) => r.data)).toEqual(want.sort((a, b) => a._parent_id - b._parent_id || a.criterion.localeCompare(b.criterion)));
    expect(scores.every((r) => String(r._parent_id) === String(r.data._parent_id))).toBe(true);
  });

  it('a dictionary that comes back empty empties its table: an empty snapshot replaces the last one', async () => {
    const s = await sim({ sessions: 20 });
    const dir = restWorkspace(s);
    await sluice(dir, 'run', 'calls');
    expect(await table(dir, 'tags', 'CAST(id AS BIGINT)')).toHaveLength(s.expected().tags.length);
    s.clearDictionary('tags');
    const r = await sluice(dir, '--json', 'run', 'calls');
    expect(await table(dir, 'tags', 'CAST(id AS BIGINT)')).toEqual([]);
    expect(await table(dir, 'agents', 'CAST(id AS BIGINT)')).toHaveLength(s.expected().agents.length);
    const tags = (
      JSON.parse(r.stdout) as { streams: Array<{ stream: string; fetched: number; landed_batches: number; loaded_batches: number; loaded_rows: number }> }
    ).streams.find((x) => x.stream === 'tags');
    expect(tags).toMatchObject({ fetched: 0, landed_batches: 1, loaded_batches: 1, loaded_rows: 0 });
  });

  it('an older snapshot that was never loaded is superseded: it never replaces a newer one', async () => {
    const s = await sim({ sessions: 20 });
    const dir = restWorkspace(s);
    await sluice(dir, 'run', 'calls');
    const first = (
      await queryDuck<{ batch_key: string }>(path.join(dir, 'warehouse.duckdb'), "SELECT batch_key FROM sluice._loads WHERE stream = 'agents'")
    )[0]!.batch_key;
    const change = s.tick({ newSessions: 0, updatedSessions: 0 });
    await sluice(dir, 'run', 'calls');
    // As if the first snapshot's load had failed: the ledger lacks it while the newer one is loaded.
    await execDuck(path.join(dir, 'warehouse.duckdb'), `DELETE FROM sluice._loads WHERE batch_key = '${first}'`);
    const r = await sluice(dir, '--json', 'load', 'calls');
    const agents = (JSON.parse(r.stdout) as { streams: Array<{ stream: string; loaded_batches: number }> }).streams.find((x) => x.stream === 'agents');
    expect(agents?.loaded_batches).toBe(0);
    const ids = (await table(dir, 'agents', 'CAST(id AS BIGINT)')).map((row) => Number(row.id));
    expect(ids).not.toContain(change.deletedAgent);
    expect(ids).toEqual((s.expected().agents as Array<{ id: number }>).map((a) => a.id).sort((a, b) => a - b));
    const status = JSON.parse((await sluice(dir, '--json', 'status')).stdout) as {
      streams: Array<{ stream: string; reconciliation: { reconciled: boolean; unloaded_batches: string[] } }>;
    };
    expect(status.streams.find((x) => x.stream === 'agents')?.reconciliation).toMatchObject({ reconciled: true, unloaded_batches: [] });
  });

  it('--limit 5 lands at most 5 records per top-level stream and the next full run is exact', async () => {
    const s = await sim({ sessions: 40 });
    const dir = restWorkspace(s);
    await sluice(dir, 'fetch', 'calls', '--limit', '5');
    await sluice(dir, 'sync', 'calls');
    await sluice(dir, 'load', 'calls');
    const history = fs.readFileSync(path.join(dir, '.sluice/runs.jsonl'), 'utf8').trim().split('\n');
    const limitedRun = JSON.parse(history[0] as string) as { streams: Array<{ stream: string; limited: boolean; fetched: number }> };
    expect(limitedRun.streams.every((x) => x.limited)).toBe(true);
    for (const name of ['agents', 'tags', 'users', 'sessions']) expect(await table(dir, name, 'CAST(id AS BIGINT)')).toHaveLength(5);
    const parents = (await table(dir, 'sessions', 'CAST(id AS BIGINT)')).map((r) => Number(r.id));
    expect((await table(dir, 'scores', 'CAST(_parent_id AS BIGINT)')).length).toBe(s.expected().scores.filter((x) => parents.includes(x.session_id)).length);

    await sluice(dir, 'run', 'calls');
    expect((await table(dir, 'sessions', 'CAST(id AS BIGINT)')).map((r) => r.data)).toEqual(
      [...s.expected().sessions].sort((a, b) => (a as { id: number }).id - (b as { id: number }).id),
    );
    expect(await table(dir, 'scores', 'CAST(_parent_id AS BIGINT)')).toHaveLength(s.expected().scores.length);
    expect(await table(dir, 'agents', 'CAST(id AS BIGINT)')).toHaveLength(40);
  });

  it('a full stream whose read fails half-way lands nothing and leaves its table as it was; so does a full child', async () => {
    const s = await sim({ sessions: 30 });
    const streams = [
      { name: 'agents', path: '/agents', mode: 'full', primary_key: 'id', records_path: 'items', paginate: offset(7) },
      { name: 'sessions', path: '/sessions', mode: 'full', primary_key: 'id', records_path: 'items', paginate: offset(10, 'total') },
      { name: 'scores', parent: 'sessions', path: '/sessions/{id}/scores', mode: 'full', primary_key: 'criterion' },
    ];
    const dir = restWorkspace(s, { streams });
    await sluice(dir, 'run', 'calls');
    const before = { agents: await table(dir, 'agents', 'CAST(id AS BIGINT)'), scores: await table(dir, 'scores', 'CAST(_parent_id AS BIGINT), criterion') };
    expect(before.agents).toHaveLength(40);
    const stored = listFiles(path.join(dir, 'lake'));

    s.tick({ newSessions: 4, updatedSessions: 6 }); // every stream now has a new snapshot to give
    s.failFrom('/agents', 21);
    const broken = (s.expected().sessions[3] as { id: number }).id;
    s.failFrom(`/sessions/${broken}/scores`);
    const r = await runCli(['run', 'calls'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/failed calls\/agents agents/);
    expect(r.stdout).toMatch(new RegExp(`failed calls/scores scores of sessions id=${broken}`));
    expect(await table(dir, 'agents', 'CAST(id AS BIGINT)')).toEqual(before.agents);
    expect(await table(dir, 'scores', 'CAST(_parent_id AS BIGINT), criterion')).toEqual(before.scores);
    expect((await table(dir, 'sessions', 'CAST(id AS BIGINT)')).map((x) => x.data)).toEqual(
      [...s.expected().sessions].sort((a, b) => (a as { id: number }).id - (b as { id: number }).id),
    );
    // Neither a partial batch nor its temp file waits anywhere to be loaded later.
    expect(listFiles(path.join(dir, '.sluice')).filter((f) => /\/(agents|scores)\/|\.tmp-/.test(f))).toEqual([]);
    expect(listFiles(path.join(dir, 'lake')).filter((f) => !f.includes('/sessions/'))).toEqual(stored.filter((f) => !f.includes('/sessions/')));

    s.failFrom(undefined);
    await sluice(dir, 'run', 'calls');
    expect((await table(dir, 'agents', 'CAST(id AS BIGINT)')).map((x) => x.data)).toEqual(s.expected().agents);
    expect(await table(dir, 'scores', 'CAST(_parent_id AS BIGINT), criterion')).toHaveLength(s.expected().scores.length);
  });

  it('a big full snapshot loads exactly in one transaction, spilling beside the warehouse, wherever sluice is started', async () => {
    // 100,000 records under a 24MB cap: DuckDB must spill the snapshot's stage to disk. Started
    // from a folder where it cannot write (`.tmp` is a file there), its spill must not go there.
    const s = await sim({ agents: 100_000, sessions: 5 });
    const streams = [{ name: 'agents', path: '/agents', mode: 'full', primary_key: 'id', records_path: 'items', paginate: offset(500, 'total') }];
    const dir = restWorkspace(s, { streams, warehouse: { type: 'duckdb', path: './warehouse.duckdb', memory_limit: '24MB' } });
    const elsewhere = tempDir('cwd');
    fs.writeFileSync(path.join(elsewhere, '.tmp'), 'not a folder');
    const r = await runCli(['--json', '--config', path.join(dir, 'sluice.yaml'), 'run', 'calls'], { cwd: elsewhere });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { streams: Array<{ landed_batches: number; loaded_batches: number; loaded_rows: number }> }).streams[0]).toMatchObject({
      landed_batches: 1,
      loaded_batches: 1,
      loaded_rows: 100_000,
    });
    expect((await table(dir, 'agents', 'CAST(id AS BIGINT)')).map((x) => x.data)).toEqual(s.expected().agents);
  });

  it('a page loop that makes no progress fails its stream (exit 1), the others load', async () => {
    const s = await sim({ sessions: 10 });
    s.repeatPage('/tags');
    const dir = restWorkspace(s);
    const r = await runCli(['run', 'calls'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/failed calls\/tags tags: tags: pagination made no progress/);
    expect(await table(dir, 'sessions', 'CAST(id AS BIGINT)')).toHaveLength(10);
  });

  it('a rejected login stops the run (exit 2) naming the settings, and no secret is printed or stored', async () => {
    const s = await sim({ sessions: 10 });
    const dir = restWorkspace(s, { password: 'Wrong-Pass-5151' });
    const r = await runCli(['run', 'calls'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain('sources[0].auth.body (user, password)');
    expect(s.logins).toBe(1);
    for (const f of listFiles(dir).filter((x) => x !== '.env')) expect(fs.readFileSync(path.join(dir, f), 'utf8')).not.toContain('Wrong-Pass-5151');
    expect(r.stdout + r.stderr).not.toContain('Wrong-Pass-5151');
  });
});
