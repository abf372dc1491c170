import { SluiceError } from '../../core/errors.js';
import type { MssqlTarget } from './target.js';

/** The fields of the driver's errors that sluice reads (mssql's ConnectionError and RequestError). */
interface DriverError {
  code?: unknown;
  number?: unknown;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
}

const NETWORK_CODES = new Set([
  'ESOCKET',
  'ECONNCLOSED',
  'ECLOSE',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEOUT',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** Server errors that end the session, not the statement: killed, shutting down, a transport error, Azure failing over. */
const LOST_NUMBERS = new Set([233, 596, 6005, 6006, 10053, 10054, 10060, 40197, 40501, 40613, 49918, 49919, 49920]);
const DEADLOCK = 1205;

/** The error and the errors it wraps, outermost first. */
function chain(error: unknown): DriverError[] {
  const out: DriverError[] = [];
  let e: unknown = error;
  while (e && typeof e === 'object' && out.length < 6 && !out.includes(e as DriverError)) {
    out.push(e as DriverError);
    const next = (e as DriverError).originalError ?? (e as DriverError).cause;
    if (next instanceof AggregateError) out.push(...(next.errors as DriverError[]));
    e = next;
  }
  return out;
}

const codes = (error: unknown) => chain(error).map((e) => (typeof e.code === 'string' ? e.code : ''));
const numbers = (error: unknown) => chain(error).map((e) => Number(e.number));

/** True when the connection (not the statement) failed: the work may be retried on a new one. */
export function isConnectionLoss(error: unknown): boolean {
  if (codes(error).some((c) => NETWORK_CODES.has(c))) return true;
  if (numbers(error).some((n) => LOST_NUMBERS.has(n))) return true;
  return /Connection (lost|closed|is closed)|connection was (closed|reset)|transport-level error/i.test(chain(error)[0]?.message ?? '');
}

/** The server picked this transaction to end a deadlock: it was rolled back, and may simply run again. */
export const isDeadlock = (error: unknown): boolean => numbers(error).includes(DEADLOCK);

const firstLine = (error: unknown): string => String((error as Error)?.message ?? error).split('\n')[0] ?? '';

/** A connect error as the user must see it: what happened, and what to change. */
export function connectError(error: unknown, t: MssqlTarget): SluiceError {
  const message = firstLine(error);
  const where = `SQL Server at ${t.where}`;
  if (codes(error).includes('ELOGIN')) {
    if (/cannot open database/i.test(message)) {
      return new SluiceError('warehouse_unreachable', `${where}: cannot open database "${t.database}" as user "${t.user}" (${message})`, {
        hint: `create the database, or fix its name in ${t.credentialsAt.includes('url') ? 'warehouse.url' : 'warehouse.database'}, and let the user connect to it`,
        cause: error,
      });
    }
    return new SluiceError('warehouse_unreachable', `${where} refused the login of user "${t.user}": ${message}`, {
      hint: `check ${t.credentialsAt} (keep the password out of the file: url: \${MSSQL_URL}), and that the server allows SQL Server logins`,
      cause: error,
    });
  }
  if (/certificate/i.test(message)) {
    return new SluiceError('warehouse_unreachable', `${where}: the server's TLS certificate is not trusted (${message})`, {
      hint: 'give the server a certificate this machine trusts, or accept it knowingly with trust_server_certificate: true (trustServerCertificate=true in the url)',
      cause: error,
    });
  }
  if (isConnectionLoss(error)) {
    const refused = codes(error).includes('ECONNREFUSED') || /ECONNREFUSED|Could not connect/i.test(message);
    return new SluiceError('warehouse_unreachable', `cannot reach SQL Server at ${t.host}:${t.port}: ${refused ? 'connection refused' : message}`, {
      hint: 'start SQL Server (and its TCP/IP protocol), or fix the host and port in warehouse.url',
      retryable: true,
      cause: error,
    });
  }
  return new SluiceError('warehouse_unreachable', `cannot connect to ${where}: ${message}`, {
    hint: /encrypt/i.test(message)
      ? 'the server and sluice disagree on encryption: set encrypt in warehouse.url (encrypt=true or false)'
      : 'check warehouse.url and the server log',
    cause: error,
  });
}

/** Third-party errors are wrapped once, here; a SluiceError passes through with its own words. */
export function wrapError(error: unknown, doing: string, context: Record<string, unknown> = {}): SluiceError {
  if (error instanceof SluiceError) {
    Object.assign(error.context, { ...context, ...error.context });
    return error;
  }
  const message = `${doing} failed: ${firstLine(error)}`;
  const n = numbers(error).find((x) => Number.isFinite(x) && x > 0);
  // 262: permission denied in the database; 229/230: on an object or column; 15247: no permission for the action.
  if (n === 262 || n === 229 || n === 230 || n === 15247 || n === 2760) {
    return new SluiceError('warehouse_unreachable', message, {
      hint: 'the user needs CREATE TABLE and CREATE SCHEMA in the database (or the raw and sluice schemas made for it), and INSERT, UPDATE, DELETE, SELECT on them',
      cause: error,
    });
  }
  if (/OPENJSON|ISJSON/i.test(message) && n === 208) {
    return new SluiceError('internal', message, {
      hint: 'sluice needs SQL Server 2016 or later at database compatibility level 130 or higher: ALTER DATABASE … SET COMPATIBILITY_LEVEL = 150',
      context,
      cause: error,
    });
  }
  // A key twice, a failed check, a value too long: the data breaks the table's rules, and will again.
  const data = n === 2627 || n === 2601 || n === 547 || n === 8152 || n === 2628 || n === 1946;
  return new SluiceError(data ? 'data' : 'internal', message, { retryable: !data, context, cause: error });
}
