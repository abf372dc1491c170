/**
 * The data behind the simulated call-center API (rest-sim.ts): dictionaries that change rarely
 * (agents, tags, users), sessions that change all day, their scores, a call log and an event feed.
 * Deterministic from a seed; `tick()` moves an hour forward and changes things.
 */

import { mulberry32 } from '../../src/demo/rng.js';
export interface Agent {
  id: number;
  name: string;
  email: string;
  team: string;
  active: boolean;
  hired_at: string;
}
export interface Tag {
  id: number;
  name: string;
  color: string;
}
export interface User {
  id: number;
  email: string;
  full_name: string;
  role: string;
}
export interface Session {
  id: number;
  agent_id: number;
  user_id: number;
  channel: string;
  started_at: string;
  duration_s: number;
  status: string;
  tag_ids: number[];
  updated_at: string;
}
export interface Score {
  criterion: string;
  score: number;
  max_score: number;
  comment: string;
}
export interface Call {
  id: string;
  session_id: number;
  duration_s: number;
}
export interface FeedEvent {
  id: number;
  type: string;
  session_id: number;
  at: string;
}

export interface TickResult {
  renamedAgent: number;
  deletedAgent: number;
  addedAgent: number;
  addedTag: number;
  deletedUser: number;
  updatedSessions: number[];
  newSessions: number[];
}

export interface CallCenterCounts {
  agents: number;
  tags: number;
  users: number;
  sessions: number;
  calls: number;
  events: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const FIRST = ['Ada', 'Boris', 'Chiara', 'Dmitri', 'Elif', 'Farah', 'Goran', 'Hana', 'Ivo', 'Jana', 'Kofi', 'Lena'];
const LAST = ['Novak', 'Okafor', 'Petrov', 'Quinn', 'Rossi', 'Sato', 'Tamm', 'Ulrich', 'Varga', 'Weber'];
const TAGS = ['refund', 'billing', 'churn-risk', 'upsell', 'complaint', 'escalation', 'vip', 'onboarding', 'outage', 'delivery'];
const CRITERIA = ['greeting', 'identification', 'empathy', 'resolution', 'compliance', 'closing'];
const STATUSES = ['new', 'transcribed', 'scored', 'reviewed', 'archived'];
const COMMENTS = ['', 'good', 'missed the script', 'excellent', 'needs coaching'];

export const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export class CallCenter {
  readonly agents = new Map<number, Agent>();
  readonly tags = new Map<number, Tag>();
  readonly users = new Map<number, User>();
  readonly sessions = new Map<number, Session>();
  readonly scores = new Map<number, Score[]>();
  readonly calls: Call[];
  readonly events: FeedEvent[];
  /** The simulated "now": starts a day ago, `tick()` moves it an hour. */
  clock: number;
  readonly #rng: () => number;
  readonly #next = { agent: 1, tag: 1, user: 1, session: 1 };

  constructor(seed: number, n: CallCenterCounts, now: number) {
    this.#rng = mulberry32(seed);
    this.clock = Math.floor(now / 1000) * 1000 - DAY;
    for (let i = 0; i < n.agents; i++) this.addAgent();
    for (let i = 0; i < n.tags; i++) this.addTag();
    for (let i = 0; i < n.users; i++) this.addUser();
    const times = Array.from({ length: n.sessions }, () => this.clock - Math.floor(this.#rng() * 14 * DAY)).sort((a, b) => a - b);
    for (const t of times) this.addSession(t);
    const sessionId = () => this.#int(1, Math.max(1, n.sessions));
    this.calls = Array.from({ length: n.calls }, (_, i) => ({
      id: `call-${String(i + 1).padStart(5, '0')}`,
      session_id: sessionId(),
      duration_s: this.#int(5, 1200),
    }));
    this.events = Array.from({ length: n.events }, (_, i) => ({
      id: 9000 + i,
      type: this.#pick(['session.created', 'session.scored', 'tag.added']),
      session_id: sessionId(),
      at: isoSeconds(this.clock - (n.events - i) * 60_000),
    }));
  }

  #int(lo: number, hi: number): number {
    return lo + Math.floor(this.#rng() * (hi - lo + 1));
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#rng() * xs.length)] as T;
  }

  #person(): string {
    return `${this.#pick(FIRST)} ${this.#pick(LAST)}`;
  }

  addAgent(): number {
    const id = this.#next.agent++;
    const name = this.#person();
    const email = `${name.toLowerCase().replace(' ', '.')}.${id}@callco.example`;
    const hired_at = isoSeconds(this.clock - this.#int(30, 900) * DAY);
    this.agents.set(id, { id, name, email, team: this.#pick(['inbound', 'outbound', 'support']), active: true, hired_at });
    return id;
  }

  addTag(): number {
    const id = this.#next.tag++;
    const name = `${TAGS[(id - 1) % TAGS.length]}${id > TAGS.length ? `-${id}` : ''}`;
    this.tags.set(id, { id, name, color: `#${this.#int(0, 0xffffff).toString(16).padStart(6, '0')}` });
    return id;
  }

  addUser(): number {
    const id = this.#next.user++;
    const full_name = this.#person();
    this.users.set(id, {
      id,
      email: `${full_name.toLowerCase().replace(' ', '.')}.${id}@callco.example`,
      full_name,
      role: this.#pick(['admin', 'analyst', 'viewer']),
    });
    return id;
  }

  /** A re-scored session keeps its criteria, so a child record is never deleted upstream. */
  #rescore(id: number): void {
    const old = this.scores.get(id);
    const first = this.#int(0, CRITERIA.length - 1);
    const criteria = old?.map((s) => s.criterion) ?? Array.from({ length: this.#int(2, 4) }, (_, i) => CRITERIA[(first + i) % CRITERIA.length] as string);
    this.scores.set(
      id,
      criteria.map((criterion, i) => ({
        criterion,
        score: old ? ((old[i]?.score ?? 0) + this.#int(1, 10)) % 11 : this.#int(0, 10),
        max_score: 10,
        comment: this.#pick(COMMENTS),
      })),
    );
  }

  addSession(updatedMs: number): number {
    const id = this.#next.session++;
    const duration_s = this.#int(20, 1800);
    const tagIds = [...this.tags.keys()];
    this.sessions.set(id, {
      id,
      agent_id: this.#pick([...this.agents.keys()]),
      user_id: this.#pick([...this.users.keys()]),
      channel: this.#pick(['phone', 'chat', 'email']),
      started_at: isoSeconds(updatedMs - duration_s * 1000 - this.#int(0, 3600) * 1000),
      duration_s,
      status: this.#pick(STATUSES.slice(0, 3)),
      tag_ids: [...new Set([this.#pick(tagIds), this.#pick(tagIds)])].sort((a, b) => a - b),
      updated_at: isoSeconds(updatedMs),
    });
    this.#rescore(id);
    return id;
  }

  /** Sessions in the order the API serves them: by (updated_at, id). */
  sortedSessions(): Session[] {
    return [...this.sessions.values()].sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : a.id - b.id));
  }

  /**
   * An hour passes: an agent is renamed, one deleted, one hired; a tag is added and a user deleted;
   * some sessions change (new status, new scores, an updated_at later than any before) and new
   * ones appear.
   */
  tick({ newSessions = 30, updatedSessions = 20 } = {}): TickResult {
    const prev = this.clock;
    this.clock += HOUR;
    const at = () => prev + 1000 + Math.floor(this.#rng() * (HOUR - 1000));
    const ids = [...this.agents.keys()];
    const renamedAgent = this.#pick(ids);
    (this.agents.get(renamedAgent) as Agent).name = `${this.#person()} (renamed)`;
    const deletedAgent = this.#pick(ids.filter((x) => x !== renamedAgent));
    this.agents.delete(deletedAgent);
    const addedAgent = this.addAgent();
    const addedTag = this.addTag();
    const deletedUser = this.#pick([...this.users.keys()]);
    this.users.delete(deletedUser);
    const old = [...this.sessions.keys()];
    const updated = new Set<number>();
    while (updated.size < Math.min(updatedSessions, old.length)) updated.add(this.#pick(old));
    for (const id of updated) {
      const s = this.sessions.get(id) as Session;
      s.status = STATUSES[(STATUSES.indexOf(s.status) + 1 + this.#int(0, 1)) % STATUSES.length] as string;
      s.updated_at = isoSeconds(at());
      this.#rescore(id);
    }
    const added = Array.from({ length: newSessions }, at)
      .sort((a, b) => a - b)
      .map((t) => this.addSession(t));
    return { renamedAgent, deletedAgent, addedAgent, addedTag, deletedUser, updatedSessions: [...updated], newSessions: added };
  }
}
