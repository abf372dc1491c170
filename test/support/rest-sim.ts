import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { mulberry32 } from '../../src/demo/rng.js';
import { CallCenter, type CallCenterCounts, type Score, type TickResult } from './rest-sim-data.js';

/**
 * A simulated call-center analytics API on loopback, the shape the `rest` source is built for.
 * Served under `/v1`:
 *   POST /auth/login {user, password}   → {access_token, token_type, expires_in}; 401 otherwise.
 *        Tokens die after tokenTtlS seconds or tokenMaxRequests requests → 401 "Token expired".
 *   GET  /agents /tags /users            offset paging (limit, offset) → {items, total, limit, offset}
 *   GET  /sessions?updated_from=ISO      the same, sorted by (updated_at, id), updated_at ≥ updated_from
 *   GET  /sessions/{id}/scores           [{criterion, score, max_score, comment}] (404 for an unknown id)
 *   GET  /calls                          a JSON array; page/per_page with an RFC 8288 Link `next`
 *   GET  /events                         {data, next_cursor}; cursor/limit
 * Besides login tokens it accepts, when configured, a static bearer token, HTTP basic with the
 * user and password, and an API key in the `x-api-key` header or the `api_key` query parameter.
 * Faults are seeded and hit one URL at most maxConsecutiveFaults times in a row; `repeatPage(path)`
 * makes an endpoint serve the same page forever (it ignores its paging parameters);
 * `failFrom(path, offset)` makes it answer 500 from that offset on (a read that breaks half-way).
 */
export interface RestSimOptions extends Partial<CallCenterCounts> {
  seed?: number;
  user?: string;
  password?: string;
  /** Also accepted as `Authorization: Bearer <token>`. */
  staticToken?: string;
  /** Also accepted in the `x-api-key` header or the `api_key` query parameter. */
  apiKey?: string;
  /** Every request is answered without credentials. */
  open?: boolean;
  tokenTtlS?: number;
  tokenMaxRequests?: number;
  faults?: Partial<RestSimFaults>;
}

export interface RestSimFaults {
  p503: number;
  p429: number;
  pReset: number;
  /** The `Retry-After` of a 429, in seconds. */
  retryAfterS: number;
  maxConsecutiveFaults: number;
}

export interface RestSimRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  auth: 'login' | 'bearer' | 'basic' | 'api_key_header' | 'api_key_query' | 'open' | 'expired' | 'missing';
  status: number | 'reset';
  fault?: '503' | '429' | 'reset';
}

export interface RestSimExpected {
  agents: unknown[];
  tags: unknown[];
  users: unknown[];
  sessions: unknown[];
  /** Every score with the session it belongs to (the API's scores do not say). */
  scores: Array<Score & { session_id: number }>;
  calls: unknown[];
  events: unknown[];
}

export interface RestSim {
  /** The base URL, `/v1` included. */
  url: string;
  options: { user: string; password: string };
  requests: RestSimRequest[];
  readonly logins: number;
  readonly loginsOk: number;
  readonly issuedTokens: string[];
  tick(o?: { newSessions?: number; updatedSessions?: number }): TickResult;
  /** Deletes every record of a dictionary: the API then answers it with an empty list. */
  clearDictionary(name: 'agents' | 'tags' | 'users'): void;
  expected(): RestSimExpected;
  setFaults(f: Partial<RestSimFaults>): void;
  repeatPage(path: string | undefined): void;
  /** `path` answers 500 to every request whose `offset` is at least `offset` (0: every request); undefined heals all. */
  failFrom(path: string | undefined, offset?: number): void;
  close(): Promise<void>;
}

const BASE = '/v1';

export async function startRestSim(o: RestSimOptions = {}): Promise<RestSim> {
  const user = o.user ?? 'agent.admin@callco.example';
  const password = o.password ?? 'call-center-password';
  const data = new CallCenter(
    o.seed ?? 6,
    { agents: o.agents ?? 40, tags: o.tags ?? 12, users: o.users ?? 25, sessions: o.sessions ?? 300, calls: o.calls ?? 60, events: o.events ?? 70 },
    Date.now(),
  );
  const faultRng = mulberry32((o.seed ?? 6) ^ 0x5eed);
  let faults: RestSimFaults = { p503: 0, p429: 0, pReset: 0, retryAfterS: 1, maxConsecutiveFaults: 2, ...o.faults };
  const streak = new Map<string, number>();
  const repeat = new Set<string>();
  const failing = new Map<string, number>();
  const tokens = new Map<string, { at: number; uses: number }>();
  const issued: string[] = [];
  const requests: RestSimRequest[] = [];
  let logins = 0;
  let loginsOk = 0;

  const send = (res: ServerResponse, rec: RestSimRequest, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    rec.status = status;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };

  const drawFault = (key: string): RestSimRequest['fault'] => {
    const x = faultRng();
    if ((streak.get(key) ?? 0) >= faults.maxConsecutiveFaults) {
      streak.delete(key);
      return undefined;
    }
    const kind = x < faults.pReset ? 'reset' : x < faults.pReset + faults.p503 ? '503' : x < faults.pReset + faults.p503 + faults.p429 ? '429' : undefined;
    if (kind) streak.set(key, (streak.get(key) ?? 0) + 1);
    else streak.delete(key);
    return kind;
  };

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        if (body.length < 65_536) body += d.toString('utf8');
      });
      req.on('end', () => resolve(body));
      req.on('error', () => resolve(body));
    });

  async function login(req: IncomingMessage, res: ServerResponse, rec: RestSimRequest): Promise<void> {
    logins++;
    let body: { user?: unknown; password?: unknown } | undefined;
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch {
      return send(res, rec, 400, { detail: 'body must be JSON {user, password}' });
    }
    if (body?.user !== user || body?.password !== password) return send(res, rec, 401, { detail: 'Incorrect username or password' });
    loginsOk++;
    const token = `tok_${loginsOk}_${randomBytes(12).toString('hex')}`;
    tokens.set(token, { at: Date.now(), uses: 0 });
    issued.push(token);
    send(res, rec, 200, { access_token: token, token_type: 'bearer', expires_in: o.tokenTtlS ?? 3600 });
  }

  /** Which credentials a request carries, or why it has none that work. */
  function authOf(req: IncomingMessage, url: URL): RestSimRequest['auth'] {
    if (o.open) return 'open';
    const header = req.headers.authorization ?? '';
    const bearer = /^bearer\s+(\S+)$/i.exec(header)?.[1];
    if (bearer && o.staticToken && bearer === o.staticToken) return 'bearer';
    if (bearer && tokens.has(bearer)) {
      const t = tokens.get(bearer) as { at: number; uses: number };
      const dead = Date.now() - t.at >= (o.tokenTtlS ?? 3600) * 1000 || t.uses >= (o.tokenMaxRequests ?? Number.POSITIVE_INFINITY);
      if (dead) {
        tokens.delete(bearer);
        return 'expired';
      }
      t.uses++;
      return 'login';
    }
    const basic = /^basic\s+(\S+)$/i.exec(header)?.[1];
    if (basic && Buffer.from(basic, 'base64').toString('utf8') === `${user}:${password}`) return 'basic';
    if (o.apiKey && req.headers['x-api-key'] === o.apiKey) return 'api_key_header';
    if (o.apiKey && url.searchParams.get('api_key') === o.apiKey) return 'api_key_query';
    return 'missing';
  }

  const intParam = (q: URLSearchParams, name: string, dflt: number, max: number): number => {
    const v = q.get(name);
    return v !== null && /^\d+$/.test(v) ? Math.min(Number(v), max) : dflt;
  };

  function offsetPage(list: unknown[], q: URLSearchParams, path: string) {
    const limit = Math.max(1, intParam(q, 'limit', 25, 500));
    const offset = intParam(q, 'offset', 0, Number.MAX_SAFE_INTEGER);
    if (repeat.has(path)) return { items: list.slice(0, limit), total: 1_000_000_000, limit, offset };
    return { items: list.slice(offset, offset + limit), total: list.length, limit, offset };
  }

  function route(path: string, q: URLSearchParams, res: ServerResponse, rec: RestSimRequest, base: string) {
    const dictionaries: Record<string, Map<number, unknown>> = { '/agents': data.agents, '/tags': data.tags, '/users': data.users };
    const dict = dictionaries[path];
    if (dict) return send(res, rec, 200, offsetPage([...dict.values()], q, path));
    if (path === '/sessions') {
      const from = q.get('updated_from');
      if (from !== null && Number.isNaN(Date.parse(from))) return send(res, rec, 422, { detail: 'updated_from must be an ISO 8601 timestamp' });
      const list = data.sortedSessions().filter((s) => from === null || Date.parse(s.updated_at) >= Date.parse(from));
      return send(res, rec, 200, offsetPage(list, q, path));
    }
    const scores = /^\/sessions\/(\d+)\/scores$/.exec(path);
    if (scores) {
      const list = data.scores.get(Number(scores[1]));
      return list ? send(res, rec, 200, list) : send(res, rec, 404, { detail: 'session not found' });
    }
    if (path === '/calls') {
      const per = Math.max(1, intParam(q, 'per_page', 25, 100));
      const page = Math.max(1, intParam(q, 'page', 1, Number.MAX_SAFE_INTEGER));
      const last = Math.max(1, Math.ceil(data.calls.length / per));
      const link = (n: number) => `<${base}/calls?page=${n}&per_page=${per}>`;
      const rels = repeat.has(path) ? [`${link(2)}; rel="next"`] : page < last ? [`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`] : [];
      return send(res, rec, 200, data.calls.slice((page - 1) * per, page * per), rels.length ? { link: rels.join(', ') } : {});
    }
    if (path === '/events') {
      const limit = Math.max(1, intParam(q, 'limit', 25, 100));
      const cursor = q.get('cursor');
      const from = cursor ? Number.parseInt(Buffer.from(cursor, 'base64url').toString(), 10) : 0;
      if (!(from >= 0)) return send(res, rec, 400, { detail: 'bad cursor' });
      const end = from + limit;
      const encode = (n: number) => Buffer.from(String(n)).toString('base64url');
      const next_cursor = repeat.has(path) ? (cursor ?? encode(end)) : end < data.events.length ? encode(end) : null;
      return send(res, rec, 200, { data: data.events.slice(from, end), next_cursor });
    }
    send(res, rec, 404, { detail: 'not found' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname.startsWith(`${BASE}/`) ? url.pathname.slice(BASE.length) : url.pathname;
    const rec: RestSimRequest = { method: req.method ?? 'GET', path, query: Object.fromEntries(url.searchParams), auth: 'missing', status: 0 };
    requests.push(rec);
    if (!url.pathname.startsWith(`${BASE}/`)) return send(res, rec, 404, { detail: 'not found' });
    if (path === '/auth/login') return req.method === 'POST' ? login(req, res, rec) : send(res, rec, 405, { detail: 'use POST' });
    const fault = drawFault(`${req.method} ${req.url}`);
    if (fault) rec.fault = fault;
    if (fault === 'reset') {
      rec.status = 'reset';
      req.socket.resetAndDestroy();
      return;
    }
    if (fault === '503') return send(res, rec, 503, { detail: 'service unavailable' });
    if (fault === '429') return send(res, rec, 429, { detail: 'rate limited' }, { 'retry-after': String(faults.retryAfterS) });
    rec.auth = authOf(req, url);
    if (rec.auth === 'missing' || rec.auth === 'expired') {
      return send(res, rec, 401, { detail: rec.auth === 'expired' ? 'Token expired' : 'Not authenticated' }, { 'www-authenticate': 'Bearer' });
    }
    if (req.method !== 'GET') return send(res, rec, 405, { detail: 'method not allowed' });
    const failAt = failing.get(path);
    if (failAt !== undefined && intParam(url.searchParams, 'offset', 0, Number.MAX_SAFE_INTEGER) >= failAt) {
      return send(res, rec, 500, { detail: 'internal error' });
    }
    route(path, url.searchParams, res, rec, `http://127.0.0.1:${port}${BASE}`);
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', () => ok()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `http://127.0.0.1:${port}${BASE}`,
    options: { user, password },
    requests,
    get logins() {
      return logins;
    },
    get loginsOk() {
      return loginsOk;
    },
    get issuedTokens() {
      return [...issued];
    },
    tick: (t) => data.tick(t),
    clearDictionary: (name) => data[name].clear(),
    expected: () => {
      const byId = <T extends { id: number }>(m: Map<number, T>) => [...m.values()].sort((a, b) => a.id - b.id);
      return structuredClone({
        agents: byId(data.agents),
        tags: byId(data.tags),
        users: byId(data.users),
        sessions: data.sortedSessions(),
        scores: [...data.scores].flatMap(([session_id, list]) => list.map((s) => ({ session_id, ...s }))),
        calls: data.calls,
        events: data.events,
      });
    },
    setFaults: (f) => {
      faults = { ...faults, ...f };
    },
    repeatPage: (path) => {
      if (path) repeat.add(path);
      else repeat.clear();
    },
    failFrom: (path, offset = 0) => {
      if (path) failing.set(path, offset);
      else failing.clear();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
