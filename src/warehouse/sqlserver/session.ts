import { SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { OpenPool } from './connection.js';
import { connectError, isConnectionLoss, isDeadlock } from './errors.js';
import type { TdsConnection } from './exec.js';
import type { MssqlTarget } from './target.js';

export type Opener = (t: MssqlTarget, onError: (error: Error) => void) => Promise<OpenPool>;

const RECONNECT_MS = 60_000;
const DEADLOCK_TRIES = 5;

/**
 * The loader's connection, replaced when it is lost. `run` retries work that failed because the
 * connection died (a server restart, a dropped socket) on a fresh one until the server has been
 * gone for a minute, and work chosen as a deadlock victim a few times: the work it is given must
 * be safe to repeat (a load re-checks the ledger under its lock, so a commit whose answer was lost
 * is not loaded twice). Any other error stops at once with the server's message.
 */
export class MssqlSession {
  readonly target: MssqlTarget;
  readonly #log: Logger;
  readonly #open: Opener;
  #pool: OpenPool | undefined;
  #broken = false;

  constructor(target: MssqlTarget, log: Logger, open: Opener) {
    this.target = target;
    this.#log = log;
    this.#open = open;
  }

  async connect(): Promise<TdsConnection> {
    if (this.#pool && !this.#broken) return this.#pool;
    await this.#drop();
    try {
      this.#pool = await this.#open(this.target, (error) => {
        this.#log.debug({ error: error.message }, 'warehouse.sqlserver.connection_error');
      });
    } catch (error) {
      throw connectError(error, this.target);
    }
    this.#broken = false;
    return this.#pool;
  }

  async run<T>(what: string, work: (conn: TdsConnection) => Promise<T>): Promise<T> {
    const started = Date.now();
    let deadlocks = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await work(await this.connect());
      } catch (error) {
        const cause = error instanceof SluiceError && error.code === 'warehouse_unreachable' ? error.cause : error;
        if (isDeadlock(cause) && ++deadlocks < DEADLOCK_TRIES) {
          this.#log.warn({ attempt: deadlocks, what }, 'warehouse.sqlserver.deadlock_retry');
          await sleep(100 * 2 ** deadlocks);
          continue;
        }
        const lost =
          !isDeadlock(cause) && (isConnectionLoss(cause) || (error instanceof SluiceError && error.code === 'warehouse_unreachable' && error.retryable));
        if (!lost) throw error;
        this.#broken = true;
        if (Date.now() - started > RECONNECT_MS) {
          throw new SluiceError('warehouse_unreachable', `lost the connection to SQL Server at ${this.target.where} during ${what} and could not get it back`, {
            hint: 'check that SQL Server is up, then run load again: what was not committed will be loaded then, once',
            cause: error,
          });
        }
        const waitMs = Math.min(5_000, 250 * 2 ** Math.min(attempt - 1, 5));
        this.#log.warn({ attempt, wait_ms: waitMs, error: (cause as Error)?.message }, 'warehouse.sqlserver.reconnecting');
        await sleep(waitMs);
      }
    }
  }

  async #drop(): Promise<void> {
    const old = this.#pool;
    this.#pool = undefined;
    // Closing a pool whose socket already died may never settle: do not wait on it for long.
    if (old) await Promise.race([old.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  }

  async close(): Promise<void> {
    await this.#drop();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
