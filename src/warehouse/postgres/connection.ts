import pg from 'pg';
import { ConfigError, SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { Secret } from '../../core/redact.js';

/** Where the server is, for messages: never the user's password. */
export interface PgTarget {
  url: Secret;
  /** `host:port/database`. */
  where: string;
  user: string;
}

/** Checks the URL's shape without ever echoing it, and registers its password as a secret. */
export function parseTarget(url: Secret): PgTarget {
  let u: URL;
  try {
    u = new URL(url.reveal());
  } catch {
    throw new ConfigError('warehouse.url: not a valid URL', { hint: 'expected postgres://user:password@host:5432/database' });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new ConfigError(`warehouse.url: expected a postgres:// URL, not ${u.protocol}//`, { hint: 'expected postgres://user:password@host:5432/database' });
  }
  // The whole URL is already a Secret; the password alone must be redacted too wherever it shows.
  if (u.password) new Secret(decodeURIComponent(u.password));
  return { url, where: `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`, user: decodeURIComponent(u.username || 'postgres') };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
// SQLSTATE class 08 (connection exception), admin/crash shutdown, "the database system is starting up".
const LOST_STATES = new Set(['57P01', '57P02', '57P03']);

/** True when the connection (not the statement) failed: the work may be retried on a new one. */
export function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || LOST_STATES.has(code) || code.startsWith('08'))) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /Connection terminated|not queryable|connection (is )?closed|timeout expired|terminating connection/i.test(message);
}

/** A connect error as the user must see it: what happened, and what to change. */
export function connectError(error: unknown, t: PgTarget): SluiceError {
  const e = error as { code?: string; message?: string };
  const first = (e.message ?? String(error)).split('\n')[0];
  const where = `PostgreSQL at ${t.where}`;
  if (e.code === '28P01' || e.code === '28000') {
    return new SluiceError('warehouse_unreachable', `${where} refused the credentials of user "${t.user}"`, {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: sluice.yaml's own ${VAR} syntax
      hint: 'check the user and password in warehouse.url (keep the password out of the file: url: ${PG_URL})',
      cause: error,
    });
  }
  if (e.code === '3D000') {
    return new SluiceError('warehouse_unreachable', `${where}: ${first}`, {
      hint: 'create the database (createdb) or fix its name in warehouse.url',
      cause: error,
    });
  }
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) {
    return new SluiceError('warehouse_unreachable', `cannot reach ${where}: ${e.code === 'ECONNREFUSED' ? 'connection refused' : first}`, {
      hint: 'start PostgreSQL, or fix the host and port in warehouse.url',
      retryable: true,
      cause: error,
    });
  }
  return new SluiceError('warehouse_unreachable', `cannot connect to ${where}: ${first}`, { hint: 'check warehouse.url and the server log', cause: error });
}

export async function openClient(t: PgTarget, onError: (error: Error) => void): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: t.url.reveal(),
    connectionTimeoutMillis: 15_000,
    keepAlive: true,
    application_name: 'sluice',
    // The checked path's lines and the schema check's fingerprints are temp tables: let them live
    // in memory, not in 8 MB of local buffers spilling to disk.
    options: '-c temp_buffers=256MB',
  });
  // An idle connection that the server drops emits 'error': without a listener it would crash the process.
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return client;
}

const RECONNECT_MS = 60_000;

/**
 * One connection, replaced when it is lost. `run` retries work that failed because the
 * connection died (a server restart, a dropped socket) on a fresh connection, until the server has
 * been gone for a minute: the work it is given must be safe to repeat (a load re-checks the ledger
 * under its lock, so a commit whose answer was lost is not loaded twice).
 */
export class PgSession {
  readonly target: PgTarget;
  readonly #log: Logger;
  #client: pg.Client | undefined;
  #broken = false;

  constructor(target: PgTarget, log: Logger) {
    this.target = target;
    this.#log = log;
  }

  async connect(): Promise<pg.Client> {
    if (this.#client && !this.#broken) return this.#client;
    await this.#drop();
    try {
      this.#client = await openClient(this.target, (error) => {
        this.#broken = true;
        this.#log.debug({ error: error.message }, 'warehouse.postgres.connection_error');
      });
    } catch (error) {
      throw connectError(error, this.target);
    }
    this.#broken = false;
    return this.#client;
  }

  async run<T>(what: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await work(await this.connect());
      } catch (error) {
        const cause = error instanceof SluiceError && error.code === 'warehouse_unreachable' ? error.cause : error;
        const lost = isConnectionLoss(cause) || (error instanceof SluiceError && error.code === 'warehouse_unreachable' && error.retryable);
        if (!lost) throw error;
        this.#broken = true;
        if (Date.now() - started > RECONNECT_MS) {
          throw new SluiceError('warehouse_unreachable', `lost the connection to PostgreSQL at ${this.target.where} during ${what} and could not get it back`, {
            hint: 'check that PostgreSQL is up, then run load again: what was not committed will be loaded then, once',
            cause: error,
          });
        }
        const waitMs = Math.min(5_000, 250 * 2 ** Math.min(attempt - 1, 5));
        this.#log.warn({ attempt, wait_ms: waitMs, error: (cause as Error)?.message }, 'warehouse.postgres.reconnecting');
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  async #drop(): Promise<void> {
    const old = this.#client;
    this.#client = undefined;
    // end() on a socket that already died may never settle: do not wait on it for long.
    if (old) await Promise.race([old.end().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  }

  async close(): Promise<void> {
    await this.#drop();
  }
}
