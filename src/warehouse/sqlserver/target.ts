import { Secret } from '../../core/redact.js';

/** Where the server is and who logs in: what the connection needs, and what messages may name. */
export interface MssqlTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password: Secret;
  encrypt: boolean;
  trustServerCertificate: boolean;
  /** `host:port/database`, for messages. */
  where: string;
  /** Where the user and password are set, for a refused login's hint. */
  credentialsAt: string;
}

export interface TargetSettings {
  url?: Secret | undefined;
  host?: string | undefined;
  port?: number | undefined;
  database?: string | undefined;
  user?: string | undefined;
  password?: Secret | undefined;
  encrypt?: boolean | undefined;
  trust_server_certificate?: boolean | undefined;
}

type Resolved = { target: MssqlTarget } | { issues: Array<{ key: string; message: string }> };

const DEFAULT_PORT = 1433;
const URL_SHAPE = 'mssql://user:password@host:1433/database?encrypt=true&trustServerCertificate=false';
const SEPARATE_KEYS = ['host', 'port', 'database', 'user', 'password'] as const;

/** The connection settings from `url` or from the separate keys; the issues name the key to fix. */
export function resolveTarget(s: TargetSettings): Resolved {
  if (s.url !== undefined) {
    const both = SEPARATE_KEYS.filter((k) => s[k] !== undefined);
    if (both.length > 0)
      return { issues: both.map((key) => ({ key, message: 'set either url or the separate keys (host, port, database, user, password), not both' })) };
    return fromUrl(s.url.reveal(), s);
  }
  if (s.host === undefined) return { issues: [{ key: 'url', message: `required: url (${URL_SHAPE}), or host, database, user and password` }] };
  const missing = (['database', 'user', 'password'] as const).filter((k) => s[k] === undefined);
  if (missing.length > 0) return { issues: missing.map((key) => ({ key, message: 'required with host' })) };
  return {
    target: build({
      host: s.host,
      port: s.port ?? DEFAULT_PORT,
      database: s.database as string,
      user: s.user as string,
      password: s.password as Secret,
      encrypt: s.encrypt ?? true,
      trustServerCertificate: s.trust_server_certificate ?? false,
      credentialsAt: 'warehouse.user and warehouse.password',
    }),
  };
}

const build = (t: Omit<MssqlTarget, 'where'>): MssqlTarget => ({ ...t, where: `${t.host}:${t.port}/${t.database}` });

/**
 * A URL read leniently, since passwords are often pasted as they are: the user information runs to
 * the last `@` before the host, so a password may hold `/`, `+`, `=`, `@` or `?` without escaping;
 * percent-escapes are decoded where they are valid. Nothing of the URL is ever echoed.
 */
function fromUrl(url: string, s: TargetSettings): Resolved {
  const bad = (message: string): Resolved => ({ issues: [{ key: 'url', message }] });
  const m = /^(mssql|sqlserver):\/\/(?:(.*)@)?([^@/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!m) return bad(`not a SQL Server URL; expected ${URL_SHAPE}`);
  const [, , userInfo = '', hostPort = '', path = '', query = ''] = m;
  const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
  if (!hp) return bad(`no host in the URL; expected ${URL_SHAPE}`);
  const colon = userInfo.indexOf(':');
  const user = decode(colon === -1 ? userInfo : userInfo.slice(0, colon));
  const password = decode(colon === -1 ? '' : userInfo.slice(colon + 1));
  // The password alone must be redacted too, in whatever spelling it shows up.
  const secret = new Secret(password);
  const database = decode(path.replace(/\/+$/, ''));
  if (user === '') return bad(`no user in the URL; expected ${URL_SHAPE}`);
  if (database === '') return bad(`no database in the URL; expected ${URL_SHAPE}`);
  const options = new Map<string, string>();
  for (const pair of query.split('&').filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    options.set(decode(eq === -1 ? pair : pair.slice(0, eq)).toLowerCase(), decode(eq === -1 ? 'true' : pair.slice(eq + 1)).toLowerCase());
  }
  const unknown = [...options.keys()].filter((k) => !['encrypt', 'trustservercertificate', 'trust_server_certificate'].includes(k));
  if (unknown.length > 0) return bad(`unknown URL option ${unknown.map((k) => `"${k}"`).join(', ')}; expected encrypt and trustServerCertificate`);
  const flag = (name: string, value: string | undefined, fallback: boolean): boolean | string => {
    if (value === undefined) return fallback;
    if (['true', 'yes', '1'].includes(value)) return true;
    if (['false', 'no', '0'].includes(value)) return false;
    return `URL option ${name} must be true or false`;
  };
  const encrypt = flag('encrypt', options.get('encrypt'), s.encrypt ?? true);
  const trust = flag(
    'trustServerCertificate',
    options.get('trustservercertificate') ?? options.get('trust_server_certificate'),
    s.trust_server_certificate ?? false,
  );
  if (typeof encrypt === 'string') return bad(encrypt);
  if (typeof trust === 'string') return bad(trust);
  const host = (hp[1] as string).replace(/^\[(.*)\]$/, '$1');
  return {
    target: build({
      host,
      port: hp[2] ? Number(hp[2]) : DEFAULT_PORT,
      database,
      user,
      password: secret,
      encrypt: s.encrypt ?? encrypt,
      trustServerCertificate: s.trust_server_certificate ?? trust,
      credentialsAt: 'the user and password in warehouse.url',
    }),
  };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
