import type { StreamMode } from './source.js';

export interface TableSpec {
  source: string;
  stream: string;
  mode: StreamMode;
  primaryKey: string[];
}

export interface LedgerEntry {
  key: string;
  version: string;
  size: number;
}

/** A ledger row with its counts: `rows + rejected` = the batch's non-blank lines when it loaded. */
export interface LedgerDetail extends LedgerEntry {
  rows: number;
  rejected: number;
  runId: string | undefined;
  loadedAt: string | undefined;
}

export interface BatchToLoad {
  /** Storage key: `{source}/{stream}/dt=…/hr=…/{part}.jsonl.gz`. */
  key: string;
  version: string;
  size: number;
  /** Start of the batch's hour, epoch ms. */
  partitionMs: number;
  /** A local gzip JSON Lines file holding the batch's bytes. */
  file: string;
}

export interface LoadResult {
  rows: number;
  rejected: number;
  /** The ledger already held this batch when the load took the table's lock: nothing was done. */
  skipped?: boolean;
}

export interface TableStats {
  rows: number;
  batches: number;
  rejected: number;
  lastLoadedAt: string | undefined;
}

/** DESIGN §7: raw tables, the ledger `sluice._loads` and `sluice._rejects`. */
export interface Warehouse {
  readonly type: string;
  /** Batches already loaded for a stream, by storage key. */
  ledger(source: string, stream: string): Promise<Map<string, LedgerEntry>>;
  /**
   * Loads batches in one transaction: their rows, rejects and ledger rows commit together or not
   * at all. `window`/`cursor` tables merge on the key, in the order given (a later batch wins);
   * for a `full` table the batches are one snapshot that replaces the table's rows. Batches the
   * ledger holds by then (a concurrent load took them) are skipped, not loaded twice.
   */
  load(table: TableSpec, batches: readonly BatchToLoad[], runId: string): Promise<LoadResult[]>;
  stats(table: TableSpec): Promise<TableStats>;
  /** Optional: the ledger with per-batch counts, so `status` can reconcile storage batch by batch. */
  ledgerDetail?(source: string, stream: string): Promise<Map<string, LedgerDetail>>;
  close(): Promise<void>;
}
