import { AuthError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { redactText, Secret } from '../../core/redact.js';
import { basicAuthorization } from '../../http/basic-auth.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../../http/client.js';
import type { AuthConfig, RestConfig } from './config.js';
import { splitPath, valueAt } from './raw-json.js';
import { joinUrl, withParams } from './url.js';

/** Sends a request with the source's headers and credentials. */
export interface Requester {
  send(req: HttpRequest): Promise<HttpResponse>;
}

type LoginAuth = Extract<AuthConfig, { type: 'login' }>;

interface Token {
  value: Secret;
  generation: number;
  /** Epoch ms after which we log in again before using it. */
  renewAt: number | undefined;
}

/** The settings to fix when the API rejects the credentials. */
export function authHint(auth: AuthConfig, at: string): string {
  const a = `${at}.auth`;
  switch (auth.type) {
    case 'none':
      return `${a}: the API wants credentials (set auth.type: basic, bearer, api_key or login)`;
    case 'basic':
      return `${a}.username and ${a}.password`;
    case 'bearer':
      return `${a}.token`;
    case 'api_key':
      return `${a}.value (sent as ${auth.in} "${auth.name}")`;
    case 'login':
      return `${a}.body (${Object.keys(auth.body).join(', ')}): the credentials posted to ${auth.path}`;
  }
}

// A token is renewed this long before the API says it expires, so a request never races the expiry.
const RENEW_MARGIN_MS = 30_000;
// A request whose token was replaced by another request's login meanwhile may try the newer one.
const MAX_TOKEN_SWITCHES = 3;

/**
 * Static credentials (basic, bearer, api_key) go on every request. `login` posts the credentials
 * once, sends the token as a bearer header, and logs in again (once per request) when the API
 * answers 401 or the token's lifetime ends; concurrent requests share one login.
 */
export class RestAuth implements Requester {
  readonly #http: HttpClient;
  readonly #config: RestConfig;
  readonly #hint: string;
  readonly #log: Logger;
  /** Static credentials: headers and query parameters sent with every request. */
  readonly #static: Record<string, string> = {};
  readonly #query: Record<string, string> = {};
  #token: Token | undefined;
  #login: Promise<Token> | undefined;
  #generation = 0;

  constructor(o: { http: HttpClient; config: RestConfig; at: string; log: Logger }) {
    this.#http = o.http;
    this.#config = o.config;
    this.#hint = authHint(o.config.auth, o.at);
    this.#log = o.log;
    const auth = o.config.auth;
    if (auth.type === 'basic') {
      this.#static.authorization = basicAuthorization(auth.username, auth.password.reveal());
    } else if (auth.type === 'bearer') {
      this.#static.authorization = `Bearer ${auth.token.reveal()}`;
    } else if (auth.type === 'api_key') {
      if (auth.in === 'header') this.#static[auth.name.toLowerCase()] = auth.value.reveal();
      else this.#query[auth.name] = auth.value.reveal();
    }
  }

  async send(req: HttpRequest): Promise<HttpResponse> {
    const auth = this.#config.auth;
    const headers = { accept: 'application/json', ...lowerKeys(this.#config.headers), ...lowerKeys(req.headers ?? {}) };
    if (auth.type !== 'login') {
      const url = Object.keys(this.#query).length ? withParams(req.url, this.#query) : req.url;
      return this.#http.request({ ...req, url, headers: { ...headers, ...this.#static } });
    }

    let token = await this.#current(req.signal);
    let relogged = false;
    for (let switches = 0; ; ) {
      const res = await this.#http.request({ ...req, headers: { ...headers, ...tokenHeader(auth, token) }, accept: [...(req.accept ?? []), 401] });
      if (res.status !== 401 || req.accept?.includes(401)) return res;
      const newer = this.#token;
      if (newer && newer.generation > token.generation && switches < MAX_TOKEN_SWITCHES) {
        switches++;
        token = newer; // another request logged in meanwhile
        continue;
      }
      if (relogged) {
        throw new AuthError(`401 from ${redactText(req.url)} even with a fresh token from ${auth.path}`, {
          hint: `check ${this.#hint}; the account may lack access to this path, or the API may want the token in another header (auth.header)`,
          context: { source: this.#config.name, url: redactText(req.url), status: 401 },
        });
      }
      relogged = true;
      this.#log.info({ url: redactText(req.url) }, 'rest.auth.token_expired');
      token = await this.#renew(token.generation, req.signal);
    }
  }

  async #current(signal: AbortSignal | undefined): Promise<Token> {
    const t = this.#token;
    if (t && (t.renewAt === undefined || Date.now() < t.renewAt)) return t;
    return this.#renew(t?.generation ?? 0, signal);
  }

  /** One login for everyone holding a token of `generation` or older. */
  #renew(generation: number, signal: AbortSignal | undefined): Promise<Token> {
    if (this.#token && this.#token.generation > generation && (this.#token.renewAt === undefined || Date.now() < this.#token.renewAt)) {
      return Promise.resolve(this.#token);
    }
    this.#login ??= this.#doLogin(signal).finally(() => {
      this.#login = undefined;
    });
    return this.#login;
  }

  async #doLogin(signal: AbortSignal | undefined): Promise<Token> {
    const auth = this.#config.auth as LoginAuth;
    const url = /^https?:\/\//i.test(auth.path) ? auth.path : joinUrl(this.#config.base_url, auth.path); // a login host of its own
    const body = Object.fromEntries(Object.entries(auth.body).map(([k, v]) => [k, v instanceof Secret ? v.reveal() : v]));
    const res = await this.#http.request({
      url,
      method: 'POST',
      headers: { accept: 'application/json', ...lowerKeys(this.#config.headers), 'content-type': 'application/json' },
      body: JSON.stringify(body),
      accept: [400, 401, 403, 404, 422],
      signal,
    });
    const context = { source: this.#config.name, url: redactText(url), status: res.status };
    if (res.status >= 400) {
      const what = res.status === 404 ? `${auth.path} does not exist` : 'the credentials were rejected';
      throw new AuthError(`login to ${redactText(url)} failed with ${res.status}: ${what}`, {
        hint: res.status === 404 ? `check ${this.#config.name}'s auth.path and base_url` : `check ${this.#hint}`,
        context,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const value = valueAt(parsed, splitPath(auth.token_field));
    if (typeof value !== 'string' || value === '') {
      throw new AuthError(`the login response of ${redactText(url)} has no token at "${auth.token_field}"`, {
        hint: `set auth.token_field of ${this.#config.name} to the field that holds the token`,
        context,
      });
    }
    const lifetime = valueAt(parsed, splitPath(auth.expires_in_field ?? 'expires_in'));
    const seconds = typeof lifetime === 'number' ? lifetime : typeof lifetime === 'string' ? Number(lifetime) : Number.NaN;
    const ms = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
    const token: Token = {
      value: new Secret(value), // registers the token with the redactor
      generation: ++this.#generation,
      renewAt: ms === undefined ? undefined : Date.now() + Math.max(ms - RENEW_MARGIN_MS, ms / 2),
    };
    this.#token = token;
    this.#log.info({ generation: token.generation, expires_in_s: ms === undefined ? undefined : ms / 1000 }, 'rest.auth.logged_in');
    return token;
  }
}

function tokenHeader(auth: LoginAuth, token: Token): Record<string, string> {
  return auth.header ? { [auth.header.toLowerCase()]: token.value.reveal() } : { authorization: `Bearer ${token.value.reveal()}` };
}

const lowerKeys = (h: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
