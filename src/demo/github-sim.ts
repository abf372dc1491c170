import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mulberry32 } from './rng.js';

export interface GithubSimOptions {
  seed?: number;
  repos?: string[];
  events?: number | Record<string, number>;
  spanHours?: number;
  token?: string;
  malformed?: boolean;
  rateLimit?: number;
  fixturePage?: string;
  /** Seconds sent as `X-Poll-Interval` (GitHub sends 60); tests set it small. */
  pollInterval?: number;
  now?: () => number;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
}
export interface SimRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  auth: 'none' | 'ok' | 'bad';
  status: number | 'reset';
  ifNoneMatch?: string;
}
export interface GithubSim {
  url: string;
  close(): Promise<void>;
  advance(n: number | Record<string, number>): string[];
  late(n: number): string[];
  setFaults(f: Partial<Faults>): void;
  expectedIds(): string[];
  event(id: string): unknown;
  requests: SimRequest[];
  stats: { requests: number; s304: number; faults: number; byStatus: Record<string, number> };
}
export interface Faults {
  p503: number;
  p502: number;
  p429: number;
  pReset: number;
  latencyMs: number;
  slowBodyMs: number;
  force: Array<503 | 502 | 429 | 'reset' | 'secondary' | 'primary'>;
  exhaustMs: number;
  maxConsecutiveFaults: number;
}

type Json = Record<string, unknown>;
type Fault = Faults['force'][number] | 'exhaust';
interface Entry {
  id: string | null;
  key: number;
  t: number;
  ev: Json;
  login: string;
}
interface Repo {
  name: string;
  owner: string;
  id: number;
  orgId: number | null;
  feed: Entry[];
  fixed: boolean;
}
interface Feed {
  key: string;
  link: string;
  list: () => Entry[];
}
interface Page {
  status: 200 | 422;
  body: Buffer;
  etag?: string;
  link?: string;
}

const VISIBLE = 300; // GitHub only exposes the newest 300 events of a feed
const HOUR = 3_600_000;
const DOCS = 'https://docs.github.com/rest';
const TYPES: Array<[string, number]> = [
  ['PushEvent', 45],
  ['WatchEvent', 12],
  ['IssueCommentEvent', 12],
  ['PullRequestEvent', 10],
  ['IssuesEvent', 6],
  ['CreateEvent', 5],
  ['DeleteEvent', 3],
  ['ForkEvent', 3],
  ['PullRequestReviewEvent', 2],
  ['ReleaseEvent', 2],
];
const VERBS = ['Fix', 'Add', 'Refactor', 'Support', 'Bump', 'Speed up', 'Document'];
const TOPICS = ['parser', 'window functions', 'CI', 'docs', 'httpfs', 'planner', 'join order', 'parquet reader'];
const NAMES = ['alex', 'sam', 'kim', 'ravi', 'ana', 'tom', 'yuki', 'omar', 'eva', 'noah', 'zoe', 'lina', 'marco', 'priya', 'chen'];
const SUFFIXES = ['', '-dev', '42', 'x', 'codes', '-gh', '7', 'hq'];
const PRIMARY_MSG =
  "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)";
const SECONDARY_MSG =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.';
const PAGINATION_MSG =
  'In order to keep the API fast for everyone, pagination is limited for this resource. Check the rel=last link relation in the Link response header to see how far back you can traverse.';

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const byKeyDesc = (a: Entry, b: Entry): number => b.key - a.key;

export async function startGithubSim(o: GithubSimOptions = {}): Promise<GithubSim> {
  const seed = o.seed ?? 1;
  const now = o.now ?? Date.now;
  const limit = o.rateLimit ?? 5000;
  const rng = mulberry32(seed);
  const frng = mulberry32(seed ^ 0x5bd1e995); // separate stream: faults must not shift generated data
  const int = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(rng() * 16).toString(16)).join('');
  const sec = (ms: number): number => Math.floor(ms / 1000) * 1000;

  const actors: Array<{ id: number; login: string; display: string }> = [];
  const logins = new Set<string>();
  while (actors.length < 30) {
    const login = pick(NAMES) + pick(SUFFIXES);
    if (logins.has(login)) continue;
    logins.add(login);
    actors.push({ id: int(100_000, 90_000_000), login, display: login });
  }
  actors.push({ id: 49699333, login: 'dependabot[bot]', display: 'dependabot' }, { id: 41898282, login: 'github-actions[bot]', display: 'github-actions' });
  for (const a of actors) logins.add(a.login.toLowerCase());

  const orgIds = new Map<string, number>();
  const repos: Repo[] = (o.repos ?? ['duckdb/duckdb', 'apache/spark']).map((name) => {
    const owner = name.split('/')[0] ?? name;
    const isOrg = !logins.has(owner.toLowerCase());
    if (isOrg && !orgIds.has(owner)) orgIds.set(owner, int(1_000_000, 200_000_000));
    return { name, owner, id: int(10_000_000, 800_000_000), orgId: isOrg ? (orgIds.get(owner) ?? null) : null, feed: [], fixed: false };
  });

  const used = new Set<number>();
  const byId = new Map<string, Json>();
  const seen = new Set<string>();
  const cache = new Map<string, Page | Entry[]>();
  let nextId = 28_300_000_000 + seed * 10_000_000;
  const totalW = TYPES.reduce((s, [, w]) => s + w, 0);
  const weighted = (): string => {
    let r = rng() * totalW;
    for (const [t, w] of TYPES) {
      r -= w;
      if (r < 0) return t;
    }
    return 'PushEvent';
  };

  function payload(type: string, r: Repo): Json {
    const num = int(1, 20_000);
    const title = `${pick(VERBS)} ${pick(TOPICS)}`;
    const issue = { number: num, title, state: 'open', html_url: `https://github.com/${r.name}/issues/${num}` };
    const short = r.name.split('/')[1] ?? r.name;
    switch (type) {
      case 'PushEvent': {
        const size = int(1, 3);
        const commits = Array.from({ length: size }, () => {
          const sha = hex(40);
          return {
            sha,
            author: { email: 'dev@example.com', name: 'Dev' },
            message: title,
            distinct: true,
            url: `https://api.github.com/repos/${r.name}/commits/${sha}`,
          };
        });
        return {
          repository_id: r.id,
          push_id: int(10_000_000_000, 30_000_000_000),
          size,
          distinct_size: size,
          ref: 'refs/heads/main',
          head: commits[size - 1]?.sha,
          before: hex(40),
          commits,
        };
      }
      case 'WatchEvent':
        return { action: 'started' };
      case 'IssueCommentEvent':
        return { action: 'created', issue, comment: { id: int(1e9, 3e9), body: 'LGTM, thanks!' } };
      case 'PullRequestEvent': {
        const action = pick(['opened', 'closed', 'reopened', 'synchronize']);
        return {
          action,
          number: num,
          pull_request: { number: num, title, state: action === 'closed' ? 'closed' : 'open', merged: action === 'closed' && rng() < 0.7 },
        };
      }
      case 'IssuesEvent': {
        const action = pick(['opened', 'closed']);
        return { action, issue: { ...issue, state: action === 'closed' ? 'closed' : 'open' } };
      }
      case 'CreateEvent': {
        const tag = rng() < 0.3;
        return {
          ref: tag ? `v${int(0, 2)}.${int(0, 20)}.${int(0, 9)}` : `feature-${num}`,
          ref_type: tag ? 'tag' : 'branch',
          master_branch: 'main',
          description: null,
          pusher_type: 'user',
        };
      }
      case 'DeleteEvent':
        return { ref: `fix-${num}`, ref_type: 'branch', pusher_type: 'user' };
      case 'ForkEvent':
        return { forkee: { id: int(1e8, 9e8), name: short, full_name: `${pick(actors).login}/${short}`, private: false, fork: true } };
      case 'PullRequestReviewEvent':
        return {
          action: 'created',
          review: { id: int(1e9, 3e9), state: pick(['approved', 'commented', 'changes_requested']) },
          pull_request: { number: num, title },
        };
      default:
        return { action: 'published', release: { tag_name: `v1.${int(0, 20)}.${int(0, 9)}`, name: title, prerelease: false } };
    }
  }

  function makeEntry(r: Repo, id: number | null, t: number, type = weighted()): Entry {
    const a = pick(actors);
    const ev: Json = {
      ...(id === null ? {} : { id: String(id) }),
      type,
      actor: {
        id: a.id,
        login: a.login,
        display_login: a.display,
        gravatar_id: '',
        url: `https://api.github.com/users/${a.login}`,
        avatar_url: `https://avatars.githubusercontent.com/u/${a.id}?`,
      },
      repo: { id: r.id, name: r.name, url: `https://api.github.com/repos/${r.name}` },
      payload: payload(type, r),
      public: true,
      created_at: iso(t),
      ...(r.orgId === null
        ? {}
        : {
            org: {
              id: r.orgId,
              login: r.owner,
              gravatar_id: '',
              url: `https://api.github.com/orgs/${r.owner}`,
              avatar_url: `https://avatars.githubusercontent.com/u/${r.orgId}?`,
            },
          }),
    };
    if (id !== null) {
      used.add(id);
      byId.set(String(id), ev);
    }
    return { id: id === null ? null : String(id), key: id ?? 0, t, ev, login: a.login.toLowerCase() };
  }

  // Re-sort feeds, drop cached pages and remember what became visible.
  function settle(): void {
    for (const r of repos) {
      if (!r.fixed) r.feed.sort(byKeyDesc);
      for (const e of r.feed.slice(0, VISIBLE)) if (e.id !== null) seen.add(e.id);
    }
    cache.clear();
  }

  function addBatch(counts: Map<Repo, number>, lo: number, hi: number): string[] {
    const slots: Repo[] = [];
    for (const [r, c] of counts) for (let i = 0; i < c; i++) slots.push(r);
    const order = slots.map((r) => ({ r, k: rng() })).sort((a, b) => a.k - b.k);
    const times = order.map(() => lo + Math.floor(rng() * ((hi - lo) / 1000 + 1)) * 1000).sort((a, b) => a - b);
    const ids = order.map(({ r }, i) => {
      nextId += int(1000, 5000);
      const e = makeEntry(r, nextId, times[i] ?? hi);
      r.feed.push(e);
      return e.id ?? '';
    });
    settle();
    return ids;
  }

  function loadFixture(r: Repo, file: string): void {
    const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!Array.isArray(raw)) throw new Error(`fixturePage ${file}: expected a JSON array of events`);
    r.fixed = true;
    const repoId = (raw[0] as { repo?: { id?: unknown } } | undefined)?.repo?.id;
    if (typeof repoId === 'number') r.id = repoId;
    r.feed = (raw as Json[]).map((ev) => {
      const id = ev.id === undefined || ev.id === null ? null : String(ev.id);
      const t = Date.parse(String(ev.created_at));
      const login = (ev.actor as { login?: unknown } | undefined)?.login;
      const numeric = id !== null && /^\d+$/.test(id);
      if (id !== null) byId.set(id, ev);
      if (numeric) used.add(Number(id));
      return { id, key: numeric ? Number(id) : Number.NaN, t: Number.isNaN(t) ? 0 : t, ev, login: String(login ?? '').toLowerCase() };
    });
    // Entries without a numeric id get a key between their neighbours so merged feeds keep file order.
    r.feed.forEach((e, i) => {
      if (!Number.isNaN(e.key)) return;
      const prev = r.feed[i - 1]?.key;
      const next = r.feed.slice(i + 1).find((x) => !Number.isNaN(x.key))?.key;
      e.key = prev !== undefined && next !== undefined ? (prev + next) / 2 : prev !== undefined ? prev - 0.5 : next !== undefined ? next + 0.5 : -i;
    });
  }

  const nowMs = sec(now());
  const first = repos[0];
  if (o.fixturePage && first) loadFixture(first, o.fixturePage);
  const eventsFor = (r: Repo, n: number | Record<string, number> | undefined, dflt: number): number => (typeof n === 'number' ? n : (n?.[r.name] ?? dflt));
  addBatch(new Map(repos.filter((r) => !r.fixed).map((r) => [r, eventsFor(r, o.events, 150)])), nowMs - sec((o.spanHours ?? 8) * HOUR), nowMs);
  if (o.malformed && first && !first.fixed && first.feed.length > 0) {
    const i = Math.min(10, first.feed.length);
    const newer = first.feed[i - 1] as Entry;
    const older = first.feed[i];
    const bad = makeEntry(first, null, older?.t ?? newer.t, 'WatchEvent');
    bad.key = older ? (newer.key + older.key) / 2 : newer.key - 0.5;
    if (Number.isInteger(bad.key)) bad.key += 0.5; // never collide with a real integer id
    first.feed.push(bad);
    settle();
  }

  function resolve(path: string): Feed | null {
    const seg = path.split('/').filter(Boolean);
    if (seg[seg.length - 1] !== 'events') return null;
    let a: string;
    let b: string;
    try {
      a = decodeURIComponent(seg[1] ?? '').toLowerCase();
      b = decodeURIComponent(seg[2] ?? '').toLowerCase();
    } catch {
      return null;
    }
    const repoFeed = (r: Repo | undefined): Feed | null => (r ? { key: `r:${r.id}`, link: `/repositories/${r.id}/events`, list: () => r.feed } : null);
    const merged = (key: string, link: string, list: () => Entry[]): Feed => ({ key, link, list: () => list().sort(byKeyDesc) });
    if (seg[0] === 'repos' && seg.length === 4) return repoFeed(repos.find((r) => r.name.toLowerCase() === `${a}/${b}`));
    if (seg.length !== 3) return null;
    if (seg[0] === 'repositories') return repoFeed(repos.find((r) => String(r.id) === seg[1]));
    if (seg[0] === 'orgs') {
      const rs = repos.filter((r) => r.orgId !== null && r.owner.toLowerCase() === a);
      return rs.length ? merged(`o:${a}`, `/orgs/${seg[1]}/events`, () => rs.flatMap((r) => r.feed)) : null;
    }
    if (seg[0] === 'users') {
      const list = (): Entry[] => repos.flatMap((r) => r.feed.filter((e) => e.login === a));
      return logins.has(a) || list().length ? merged(`u:${a}`, `/users/${seg[1]}/events`, list) : null;
    }
    return null;
  }

  function page(feed: Feed, pp: number, pg: number, ppGiven: boolean, host: string): Page {
    const ck = `${feed.key}|${pp}|${pg}|${ppGiven}|${host}`;
    const hit = cache.get(ck);
    if (hit && !Array.isArray(hit)) return hit;
    const lk = `list|${feed.key}`;
    const cached = cache.get(lk);
    const vis = Array.isArray(cached) ? cached : feed.list().slice(0, VISIBLE);
    cache.set(lk, vis);
    const start = (pg - 1) * pp;
    if (start >= VISIBLE) return { status: 422, body: json({ message: PAGINATION_MSG, documentation_url: 'https://docs.github.com/v3/#pagination' }) };
    const body = json(vis.slice(start, start + pp).map((e) => e.ev));
    const last = Math.max(1, Math.ceil(vis.length / pp));
    const u = (n: number): string => `<http://${host}${feed.link}?${ppGiven ? `per_page=${pp}&` : ''}page=${n}>`;
    const rels: string[] = [];
    if (pg > 1) rels.push(`${u(pg - 1)}; rel="prev"`);
    if (pg < last) rels.push(`${u(pg + 1)}; rel="next"`, `${u(last)}; rel="last"`);
    if (pg > 1) rels.push(`${u(1)}; rel="first"`);
    const p: Page = {
      status: 200,
      body,
      etag: `W/"${createHash('sha256').update(body).digest('hex').slice(0, 40)}"`,
      ...(rels.length ? { link: rels.join(', ') } : {}),
    };
    cache.set(ck, p);
    return p;
  }

  const stats: GithubSim['stats'] = { requests: 0, s304: 0, faults: 0, byStatus: {} };
  const requests: SimRequest[] = [];
  const faults: Faults = { p503: 0, p502: 0, p429: 0, pReset: 0, latencyMs: 0, slowBodyMs: 0, force: [], exhaustMs: 0, maxConsecutiveFaults: 2 };
  const consec = new Map<string, number>();
  const rate = { remaining: limit, reset: Math.floor(now() / 1000) + 3600 };
  let pendingExhaust = 0;
  let exhaustUntil = 0;
  let closed = false;

  function drawFault(urlKey: string): Fault | null {
    const t = now();
    if (pendingExhaust > 0) {
      exhaustUntil = t + pendingExhaust;
      pendingExhaust = 0;
    }
    const forced = faults.force.shift();
    if (forced !== undefined) return forced;
    if (t < exhaustUntil) return 'exhaust';
    const r = frng(); // drawn every time so one URL's cap does not shift the sequence for others
    if ((consec.get(urlKey) ?? 0) >= faults.maxConsecutiveFaults) return null;
    let acc = 0;
    for (const [p, f] of [
      [faults.p503, 503],
      [faults.p502, 502],
      [faults.p429, 429],
      [faults.pReset, 'reset'],
    ] as const) {
      acc += p;
      if (r < acc) return f;
    }
    return null;
  }

  function count(rec: SimRequest, status: number | 'reset'): void {
    rec.status = status;
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    if (status === 304) stats.s304++;
  }

  async function send(
    res: ServerResponse,
    rec: SimRequest,
    status: number,
    body: Buffer | null,
    headers: Record<string, string> = {},
    zeroUntil?: number,
  ): Promise<void> {
    count(rec, status);
    const remaining = zeroUntil === undefined ? rate.remaining : 0;
    const h: Record<string, string> = {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-used': String(limit - remaining),
      'x-ratelimit-reset': String(zeroUntil ?? rate.reset),
      'x-ratelimit-resource': 'core',
      'x-poll-interval': String(o.pollInterval ?? 60),
      ...(body ? { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) } : {}),
      ...headers,
    };
    res.writeHead(status, h);
    if (!body) return void res.end();
    if (faults.slowBodyMs > 0 && body.length > 1) {
      res.write(body.subarray(0, body.length >> 1));
      await sleep(faults.slowBodyMs);
      if (!res.destroyed) res.end(body.subarray(body.length >> 1));
    } else res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const header = req.headers.authorization;
    const m = header ? /^(?:token|bearer)\s+(\S+)\s*$/i.exec(header) : null;
    const auth: SimRequest['auth'] = !header ? 'none' : !o.token || m?.[1] === o.token ? 'ok' : 'bad';
    const inm = req.headers['if-none-match'];
    const rec: SimRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      auth,
      status: 0,
      ...(inm ? { ifNoneMatch: inm } : {}),
    };
    requests.push(rec);
    stats.requests++;
    const urlKey = url.pathname + url.search;
    const fault = drawFault(urlKey);
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (closed) return;
    if (now() / 1000 >= rate.reset) {
      rate.remaining = limit;
      rate.reset = Math.floor(now() / 1000) + 3600;
    }
    const msg = (message: string): Buffer => json({ message, documentation_url: DOCS });
    if (fault !== null) {
      stats.faults++;
      consec.set(urlKey, (consec.get(urlKey) ?? 0) + 1);
      if (fault === 'reset') {
        count(rec, 'reset');
        req.socket.resetAndDestroy(); // RST, so clients see ECONNRESET rather than a clean close
        return;
      }
      if (fault === 503) return send(res, rec, 503, msg('Service Unavailable'));
      if (fault === 502)
        return send(res, rec, 502, Buffer.from('<html><body><h1>502 Bad Gateway</h1></body></html>'), { 'content-type': 'text/html; charset=utf-8' });
      if (fault === 429) return send(res, rec, 429, msg('Too Many Requests'), { 'retry-after': '1' });
      if (fault === 'secondary') return send(res, rec, 403, msg(SECONDARY_MSG), { 'retry-after': '1' });
      const until = fault === 'exhaust' ? exhaustUntil : now() + 1000;
      return send(res, rec, 403, msg(PRIMARY_MSG), {}, Math.ceil(until / 1000));
    }
    consec.delete(urlKey);
    if (auth === 'bad') return send(res, rec, 401, msg('Bad credentials'));
    if (rate.remaining <= 0) return send(res, rec, 403, msg(PRIMARY_MSG), {}, rate.reset);
    const feed = req.method === 'GET' ? resolve(url.pathname) : null;
    const ppRaw = Number.parseInt(url.searchParams.get('per_page') ?? '', 10);
    const pgRaw = Number.parseInt(url.searchParams.get('page') ?? '', 10);
    const pp = ppRaw >= 1 ? Math.min(ppRaw, 100) : 30;
    const pg = Math.max(1, pgRaw || 1);
    const p = feed ? page(feed, pp, pg, url.searchParams.has('per_page'), req.headers.host ?? `127.0.0.1:${port}`) : null;
    const strip = (s: string): string => s.trim().replace(/^W\//, '');
    const etag = p?.etag;
    const extra = { ...(etag ? { etag } : {}), ...(p?.link ? { link: p.link } : {}) };
    if (etag && inm?.split(',').some((s) => s.trim() === '*' || strip(s) === strip(etag))) return send(res, rec, 304, null, extra);
    rate.remaining--; // every answered request except a 304 or a fault costs one
    if (!p) return send(res, rec, 404, msg('Not Found'));
    return send(res, rec, p.status, p.body, extra);
  }

  const sockets = new Set<IncomingMessage['socket']>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(o.port ?? 0, '127.0.0.1', () => ok()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stats,
    close: () => {
      closed = true;
      for (const s of sockets) s.destroy();
      return new Promise<void>((ok) => server.close(() => ok()));
    },
    advance: (n) => {
      const counts = new Map(repos.filter((r) => !r.fixed).map((r) => [r, eventsFor(r, n, 0)]));
      const total = [...counts.values()].reduce((s, c) => s + c, 0);
      const lo = repos.reduce((m, r) => r.feed.reduce((mm, e) => Math.max(mm, e.t), m), 0) + 1000;
      return addBatch(counts, lo, Math.max(sec(now()), lo + Math.max(0, total - 1) * 1000));
    },
    late: (n) => {
      const out: string[] = [];
      for (const r of repos.filter((x) => !x.fixed)) {
        for (let k = 0; k < n; k++) {
          const newest = r.feed[0];
          const oldest = r.feed[Math.min(VISIBLE, r.feed.length) - 1];
          if (!newest || !oldest) break;
          let lo = Math.max(newest.t - 5 * HOUR, oldest.t + 1000);
          let hi = newest.t - HOUR;
          if (lo > hi) {
            // short feeds: anywhere strictly inside the visible window
            lo = oldest.t + 1000;
            hi = newest.t - 1000;
          }
          for (let tries = 0; tries < 100 && lo <= hi; tries++) {
            const t = lo + Math.floor(rng() * ((hi - lo) / 1000 + 1)) * 1000;
            const j = r.feed.findIndex((e) => e.t <= t);
            const newer = r.feed[j - 1];
            const older = r.feed[j];
            if (!newer || !older) continue;
            const a = Math.floor(older.key) + 1;
            const b = Math.ceil(newer.key) - 1;
            if (a > b) continue;
            const id = a + Math.floor(rng() * (b - a + 1));
            if (used.has(id)) continue;
            const e = makeEntry(r, id, t);
            r.feed.splice(j, 0, e);
            out.push(e.id ?? '');
            break;
          }
        }
      }
      settle();
      return out;
    },
    setFaults: (f) => {
      Object.assign(faults, f);
      if (f.force) faults.force = [...f.force];
      if (f.exhaustMs !== undefined) {
        pendingExhaust = f.exhaustMs;
        exhaustUntil = 0;
      }
    },
    expectedIds: () => [...seen].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)),
    event: (id) => byId.get(id),
  };
}
