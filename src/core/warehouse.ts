import type { SchemaChange, SchemaContract, StreamSchema } from './schema.js';
import type { StreamMode } from './source.js';
import type { SqlTarget } from './sql-target.js';

export interface TableSpec {
  source: string;
  stream: string;
  mode: StreamMode;
  primaryKey: string[];
  /** See StreamSpec: the merge may look for a key in its batch's partition only. */
  keyKeepsItsHour?: boolean;
  /** DESIGN §9: what the load learns and refuses; the default contract when undefined. */
  schema?: SchemaContract;
}

export interface LedgerEntry {
  key: string;
  /** The storage version the batch had when it was loaded (or last found unchanged). */
  version: string;
  size: number;
  /** SHA-256 (hex) of the bytes loaded; undefined for a row written before the ledger kept it. */
  checksum: string | undefined;
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
  /** SHA-256 (hex) of the bytes the warehouse reads: what the ledger records and compares. */
  checksum: string;
  /** Start of the batch's hour, epoch ms. */
  partitionMs: number;
  /** A local gzip JSON Lines file holding the batch's bytes; given when the warehouse reads local files. */
  file?: string;
}

/** A stored batch whose bytes the ledger already holds under another version (a touched or copied lake). */
export interface SameContent {
  key: string;
  version: string;
  checksum: string;
}

export interface LoadResult {
  rows: number;
  rejected: number;
  /** The ledger already held this batch, same content, when the load took the table's lock: nothing was done. */
  skipped?: boolean;
  /** DESIGN §9: the drift this batch brought (first seen in it), as written to `sluice._schema_changes`. */
  schemaChanges?: SchemaChange[];
  /** New field paths the transaction left untracked: the stream has too many (a map-like object). */
  untrackedPaths?: number;
  /** The memory cap the batch's group needed instead of the configured one (rows too dense with values for it). */
  memoryRaisedTo?: string;
}

export interface TableStats {
  rows: number;
  batches: number;
  rejected: number;
  lastLoadedAt: string | undefined;
}

/** What a warehouse plug-in declares it can do: the pipeline plans with this, never with a type name. */
export interface WarehouseCapabilities {
  /**
   * Where the warehouse reads a batch's bytes: `local-file` from `BatchToLoad.file`, which the
   * pipeline provides (the stored object itself, or a copy); `storage` straight from the storage
   * (Snowflake's stage over the bucket), so the pipeline copies nothing.
   */
  readonly readsFrom: 'local-file' | 'storage';
  /**
   * The most compressed bytes of batches in one load transaction: what the warehouse stages at
   * once (several times this as JSON) must fit its working memory. A `full` snapshot is loaded
   * whole whatever its size.
   */
  readonly groupBytes: number;
  /** The most batches in one load transaction. */
  readonly groupBatches: number;
}

/** DESIGN §7: raw tables, the ledger `sluice._loads` and `sluice._rejects`. */
export interface Warehouse {
  readonly type: string;
  readonly capabilities: WarehouseCapabilities;
  /** Batches already loaded for a stream, by storage key. */
  ledger(source: string, stream: string): Promise<Map<string, LedgerEntry>>;
  /**
   * Loads batches in one transaction: their rows, rejects and ledger rows commit together or not
   * at all. `window`/`cursor` tables merge on the key, in the order given (a later batch wins);
   * for a `full` table the batches are one snapshot that replaces the table's rows. A batch the
   * ledger holds by then with the same checksum (a concurrent load took it) is skipped, reported
   * as `{ skipped: true }`, and nothing of it changes; a row without a checksum compares versions.
   */
  load(table: TableSpec, batches: readonly BatchToLoad[], runId: string): Promise<LoadResult[]>;
  /**
   * Ledger rows whose checksum matches take the batch's current version, and a row without a
   * checksum whose version matches takes the checksum: the next load then skips the batch without
   * hashing it. Raw rows, rejects, counts, run id and load time stay as they are.
   */
  recordVersions(source: string, stream: string, batches: readonly SameContent[]): Promise<void>;
  stats(table: TableSpec): Promise<TableStats>;
  /** Optional: the ledger with per-batch counts, so `status` can reconcile storage batch by batch. */
  ledgerDetail?(source: string, stream: string): Promise<Map<string, LedgerDetail>>;
  /**
   * DESIGN §9, where the warehouse keeps it (`load` then learns it and enforces the contract): the
   * schema seen of a stream, its drift (oldest first, the newest `limit`), and which top-level
   * fields hold an ISO-8601 time in every row of the raw table that has them as strings.
   */
  schema?(source: string, stream: string): Promise<StreamSchema>;
  schemaChanges?(source: string, stream: string, limit?: number): Promise<SchemaChange[]>;
  timeFields?(table: TableSpec, names: readonly string[]): Promise<Map<string, { iso: boolean; offsets: boolean }>>;
  /**
   * Optional: where `transform` builds models, over this warehouse's own connection settings
   * (memory cap, session). The caller closes it; closing the warehouse closes it too.
   */
  sqlTarget?(): Promise<SqlTarget>;
  close(): Promise<void>;
}
