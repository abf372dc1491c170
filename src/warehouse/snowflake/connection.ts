import { SluiceError } from '../../core/errors.js';
import type { SnowflakeWarehouseConfig } from './config.js';

export type { SnowflakeWarehouseConfig } from './config.js';

/** The few calls sluice makes: the driver stays behind this, and is loaded only when used. */
export interface SnowflakeClient {
  execute(sql: string): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/** The part of `snowflake-sdk` that sluice uses, declared here so the package stays optional. */
interface Driver {
  configure(options: { logLevel: string }): void;
  createConnection(options: Record<string, unknown>): DriverConnection;
}
interface DriverConnection {
  connect(callback: (error: Error | undefined) => void): void;
  execute(options: {
    sqlText: string;
    complete: (error: Error | undefined, statement: unknown, rows: Array<Record<string, unknown>> | undefined) => void;
  }): void;
  destroy(callback: (error: Error | undefined) => void): void;
}

async function loadDriver(): Promise<Driver> {
  const name = 'snowflake-sdk'; // a variable: TypeScript must not require the package to build
  try {
    const mod = (await import(name)) as { default?: Driver } & Driver;
    return mod.default ?? mod;
  } catch (error) {
    throw new SluiceError('config', 'the Snowflake driver (snowflake-sdk) is not installed', {
      hint: 'install it beside sluice: npm install snowflake-sdk',
      cause: error,
    });
  }
}

export async function connectSnowflake(c: SnowflakeWarehouseConfig): Promise<SnowflakeClient> {
  const driver = await loadDriver();
  driver.configure({ logLevel: 'OFF' }); // else the driver writes snowflake.log into the working folder
  const auth = c.password ? { password: c.password.reveal() } : { authenticator: 'SNOWFLAKE_JWT', privateKey: c.private_key?.reveal() };
  const conn = driver.createConnection({
    account: c.account,
    username: c.user,
    ...auth,
    database: c.database,
    schema: c.schema,
    warehouse: c.warehouse,
    ...(c.role ? { role: c.role } : {}),
    application: 'sluice',
  });
  try {
    await new Promise<void>((resolve, reject) => conn.connect((error) => (error ? reject(error) : resolve())));
  } catch (error) {
    const auth = /password|authenticat|JWT|credential|login/i.test((error as Error).message);
    throw new SluiceError(
      'warehouse_unreachable',
      `cannot connect to Snowflake account ${c.account} as ${c.user}: ${(error as Error).message.split('\n')[0]}`,
      {
        hint: auth ? 'check warehouse.user and warehouse.password (or private_key)' : 'check warehouse.account and the network route to Snowflake',
        cause: error,
      },
    );
  }
  return {
    execute: (sqlText) =>
      new Promise((resolve, reject) => conn.execute({ sqlText, complete: (error, _statement, rows) => (error ? reject(error) : resolve(rows ?? [])) })),
    close: () => new Promise((resolve) => conn.destroy(() => resolve())),
  };
}
