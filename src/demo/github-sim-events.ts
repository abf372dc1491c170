import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Draw, eventPayload, TYPES } from './github-sim-payloads.js';
import { mulberry32 } from './rng.js';

/**
 * The simulated GitHub's world: actors, repositories and their event feeds, generated from a seed
 * (or one repository read from a recorded page), grown by `advance` and `late`, and served as
 * GitHub serves them: newest first, the newest 300 per feed, in `per_page` pages with `Link`s.
 */
export type Json = Record<string, unknown>;

export interface Entry {
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
export interface Feed {
  key: string;
  link: string;
  list: () => Entry[];
}
export interface Page {
  status: 200 | 422;
  body: Buffer;
  etag?: string;
  link?: string;
}

export interface EventWorldOptions {
  seed: number;
  repos: string[];
  events?: number | Record<string, number>;
  spanHours?: number;
  malformed?: boolean;
  fixturePage?: string;
  nowMs: number;
}

const VISIBLE = 300; // GitHub only exposes the newest 300 events of a feed
export const HOUR = 3_600_000;
const NAMES = ['alex', 'sam', 'kim', 'ravi', 'ana', 'tom', 'yuki', 'omar', 'eva', 'noah', 'zoe', 'lina', 'marco', 'priya', 'chen'];
const SUFFIXES = ['', '-dev', '42', 'x', 'codes', '-gh', '7', 'hq'];
const PAGINATION_MSG =
  'In order to keep the API fast for everyone, pagination is limited for this resource. Check the rel=last link relation in the Link response header to see how far back you can traverse.';

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const byKeyDesc = (a: Entry, b: Entry): number => b.key - a.key;
export const wholeSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

export class EventWorld {
  readonly #rng: () => number;
  readonly #actors: Array<{ id: number; login: string; display: string }> = [];
  readonly #logins = new Set<string>();
  readonly #repos: Repo[];
  readonly #used = new Set<number>();
  readonly #byId = new Map<string, Json>();
  readonly #seen = new Set<string>();
  readonly #cache = new Map<string, Page | Entry[]>();
  readonly #events: EventWorldOptions['events'];
  #nextId: number;
  readonly #totalW = TYPES.reduce((s, [, w]) => s + w, 0);
  /** The world's one random stream, as the payloads draw from it. */
  readonly #draw: Draw = { rng: () => this.#rng(), int: (lo, hi) => this.#int(lo, hi), pick: (xs) => this.#pick(xs), hex: (n) => this.#hex(n) };

  constructor(o: EventWorldOptions) {
    this.#rng = mulberry32(o.seed);
    this.#events = o.events;
    this.#nextId = 28_300_000_000 + o.seed * 10_000_000;
    while (this.#actors.length < 30) {
      const login = this.#pick(NAMES) + this.#pick(SUFFIXES);
      if (this.#logins.has(login)) continue;
      this.#logins.add(login);
      this.#actors.push({ id: this.#int(100_000, 90_000_000), login, display: login });
    }
    this.#actors.push(
      { id: 49699333, login: 'dependabot[bot]', display: 'dependabot' },
      { id: 41898282, login: 'github-actions[bot]', display: 'github-actions' },
    );
    for (const a of this.#actors) this.#logins.add(a.login.toLowerCase());
    const orgIds = new Map<string, number>();
    this.#repos = o.repos.map((name) => {
      const owner = name.split('/')[0] ?? name;
      const isOrg = !this.#logins.has(owner.toLowerCase());
      if (isOrg && !orgIds.has(owner)) orgIds.set(owner, this.#int(1_000_000, 200_000_000));
      return { name, owner, id: this.#int(10_000_000, 800_000_000), orgId: isOrg ? (orgIds.get(owner) ?? null) : null, feed: [], fixed: false };
    });
    const nowMs = wholeSecond(o.nowMs);
    const first = this.#repos[0];
    if (o.fixturePage && first) this.#loadFixture(first, o.fixturePage);
    this.#addBatch(
      new Map(this.#repos.filter((r) => !r.fixed).map((r) => [r, this.#eventsFor(r, o.events, 150)])),
      nowMs - wholeSecond((o.spanHours ?? 8) * HOUR),
      nowMs,
    );
    if (o.malformed && first && !first.fixed && first.feed.length > 0) this.#addMalformed(first);
  }

  #int(lo: number, hi: number): number {
    return lo + Math.floor(this.#rng() * (hi - lo + 1));
  }
  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#rng() * xs.length)] as T;
  }
  #hex(n: number): string {
    return Array.from({ length: n }, () => Math.floor(this.#rng() * 16).toString(16)).join('');
  }
  #weighted(): string {
    let r = this.#rng() * this.#totalW;
    for (const [t, w] of TYPES) {
      r -= w;
      if (r < 0) return t;
    }
    return 'PushEvent';
  }
  #eventsFor(r: Repo, n: number | Record<string, number> | undefined, dflt: number): number {
    return typeof n === 'number' ? n : (n?.[r.name] ?? dflt);
  }

  /** An event without an id, among the first repository's events (GitHub has sent such). */
  #addMalformed(first: Repo): void {
    const i = Math.min(10, first.feed.length);
    const newer = first.feed[i - 1] as Entry;
    const older = first.feed[i];
    const bad = this.#makeEntry(first, null, older?.t ?? newer.t, 'WatchEvent');
    bad.key = older ? (newer.key + older.key) / 2 : newer.key - 0.5;
    if (Number.isInteger(bad.key)) bad.key += 0.5; // never collide with a real integer id
    first.feed.push(bad);
    this.#settle();
  }

  #makeEntry(r: Repo, id: number | null, t: number, type = this.#weighted()): Entry {
    const a = this.#pick(this.#actors);
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
      payload: eventPayload(type, r, this.#draw, this.#actors),
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
      this.#used.add(id);
      this.#byId.set(String(id), ev);
    }
    return { id: id === null ? null : String(id), key: id ?? 0, t, ev, login: a.login.toLowerCase() };
  }

  // Re-sort feeds, drop cached pages and remember what became visible.
  #settle(): void {
    for (const r of this.#repos) {
      if (!r.fixed) r.feed.sort(byKeyDesc);
      for (const e of r.feed.slice(0, VISIBLE)) if (e.id !== null) this.#seen.add(e.id);
    }
    this.#cache.clear();
  }

  #addBatch(counts: Map<Repo, number>, lo: number, hi: number): string[] {
    const slots: Repo[] = [];
    for (const [r, c] of counts) for (let i = 0; i < c; i++) slots.push(r);
    const order = slots.map((r) => ({ r, k: this.#rng() })).sort((a, b) => a.k - b.k);
    const times = order.map(() => lo + Math.floor(this.#rng() * ((hi - lo) / 1000 + 1)) * 1000).sort((a, b) => a - b);
    const ids = order.map(({ r }, i) => {
      this.#nextId += this.#int(1000, 5000);
      const e = this.#makeEntry(r, this.#nextId, times[i] ?? hi);
      r.feed.push(e);
      return e.id ?? '';
    });
    this.#settle();
    return ids;
  }

  #loadFixture(r: Repo, file: string): void {
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
      if (id !== null) this.#byId.set(id, ev);
      if (numeric) this.#used.add(Number(id));
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

  /** The feed a path names (`/repos/o/r/events`, `/orgs/o/events`, `/users/u/events`, `/repositories/id/events`), or null. */
  resolve(path: string): Feed | null {
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
    if (seg[0] === 'repos' && seg.length === 4) return repoFeed(this.#repos.find((r) => r.name.toLowerCase() === `${a}/${b}`));
    if (seg.length !== 3) return null;
    if (seg[0] === 'repositories') return repoFeed(this.#repos.find((r) => String(r.id) === seg[1]));
    if (seg[0] === 'orgs') {
      const rs = this.#repos.filter((r) => r.orgId !== null && r.owner.toLowerCase() === a);
      return rs.length ? merged(`o:${a}`, `/orgs/${seg[1]}/events`, () => rs.flatMap((r) => r.feed)) : null;
    }
    if (seg[0] === 'users') {
      const list = (): Entry[] => this.#repos.flatMap((r) => r.feed.filter((e) => e.login === a));
      return this.#logins.has(a) || list().length ? merged(`u:${a}`, `/users/${seg[1]}/events`, list) : null;
    }
    return null;
  }

  /** One page of a feed as GitHub answers it: 422 past the newest 300 events. */
  page(feed: Feed, pp: number, pg: number, ppGiven: boolean, host: string): Page {
    const ck = `${feed.key}|${pp}|${pg}|${ppGiven}|${host}`;
    const hit = this.#cache.get(ck);
    if (hit && !Array.isArray(hit)) return hit;
    const lk = `list|${feed.key}`;
    const cached = this.#cache.get(lk);
    const vis = Array.isArray(cached) ? cached : feed.list().slice(0, VISIBLE);
    this.#cache.set(lk, vis);
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
    this.#cache.set(ck, p);
    return p;
  }

  /** n new events per repository (or per name), after every event so far; returns their ids. */
  advance(n: number | Record<string, number>, nowMs: number): string[] {
    const counts = new Map(this.#repos.filter((r) => !r.fixed).map((r) => [r, this.#eventsFor(r, n, 0)]));
    const total = [...counts.values()].reduce((s, c) => s + c, 0);
    const lo = this.#repos.reduce((m, r) => r.feed.reduce((mm, e) => Math.max(mm, e.t), m), 0) + 1000;
    return this.#addBatch(counts, lo, Math.max(wholeSecond(nowMs), lo + Math.max(0, total - 1) * 1000));
  }

  /** n events per repository inserted inside the visible window, as GitHub shows late events; returns their ids. */
  late(n: number): string[] {
    const out: string[] = [];
    for (const r of this.#repos.filter((x) => !x.fixed)) {
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
          const t = lo + Math.floor(this.#rng() * ((hi - lo) / 1000 + 1)) * 1000;
          const j = r.feed.findIndex((e) => e.t <= t);
          const newer = r.feed[j - 1];
          const older = r.feed[j];
          if (!newer || !older) continue;
          const a = Math.floor(older.key) + 1;
          const b = Math.ceil(newer.key) - 1;
          if (a > b) continue;
          const id = a + Math.floor(this.#rng() * (b - a + 1));
          if (this.#used.has(id)) continue;
          const e = this.#makeEntry(r, id, t);
          r.feed.splice(j, 0, e);
          out.push(e.id ?? '');
          break;
        }
      }
    }
    this.#settle();
    return out;
  }

  expectedIds(): string[] {
    return [...this.#seen].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  }

  event(id: string): unknown {
    return this.#byId.get(id);
  }

  hasLogin(login: string): boolean {
    return this.#logins.has(login);
  }
}
