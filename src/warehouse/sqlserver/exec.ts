/**
 * What the loader asks of a connection. The mssql driver sits behind it (connection.ts), so the
 * statements a load sends, and their order, can be read without a server.
 */
export interface BulkColumn {
  name: string;
  type: 'int' | 'bigint' | 'nvarchar';
  /** nvarchar only; undefined for NVARCHAR(MAX). */
  length?: number;
  nullable: boolean;
}

export interface TdsExec {
  /** Runs one batch; the rows of its last result set. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** TDS bulk load of `rows` into the existing `table`, values in the order of `columns`. */
  bulk(table: string, columns: readonly BulkColumn[], rows: unknown[][]): Promise<void>;
}

export interface TdsConnection extends TdsExec {
  /** Runs `work` in one transaction on one connection: committed when it returns, rolled back when it throws. */
  transaction<T>(work: (tx: TdsExec) => Promise<T>): Promise<T>;
}
