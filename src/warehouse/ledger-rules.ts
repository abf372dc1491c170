import { SluiceError } from '../core/errors.js';
import type { StreamMode } from '../core/source.js';
import type { BatchToLoad, LedgerEntry } from '../core/warehouse.js';

/**
 * Whether the ledger row holds this batch's content: the same checksum. A row written before the
 * ledger kept checksums has none, and is compared by version as it was then.
 */
export function holdsContent(row: Pick<LedgerEntry, 'version' | 'checksum'> | undefined, b: Pick<BatchToLoad, 'version' | 'checksum'>): boolean {
  if (!row) return false;
  return row.checksum ? row.checksum === b.checksum : row.version === b.version;
}

/**
 * Which batches of a group still need loading, decided under the table's lock from the ledger as
 * it is now (another process may have loaded some since the caller read it). A `full` group is
 * one snapshot: it is skipped only when all of it is loaded, else loaded whole, because loading
 * it replaces the table.
 */
export function pendingBatches(
  mode: StreamMode,
  batches: readonly BatchToLoad[],
  loaded: ReadonlyMap<string, Pick<LedgerEntry, 'version' | 'checksum'>>,
): BatchToLoad[] {
  const isLoaded = (b: BatchToLoad) => holdsContent(loaded.get(b.key), b);
  if (mode === 'full') return batches.every(isLoaded) ? [] : [...batches];
  return batches.filter((b) => !isLoaded(b));
}

/** The local file of a batch, for a warehouse that reads local files (the pipeline provides it). */
export function localFile(b: BatchToLoad): string {
  if (b.file === undefined) throw new SluiceError('internal', `no local file was given for ${b.key}`);
  return b.file;
}

/** A group in an error message: its one batch's key, or how many; and the first keys for the error's context. */
export function describeGroup(batches: readonly Pick<BatchToLoad, 'key'>[]): { name: string; context: { batches: string[] } } {
  const keys = batches.map((b) => b.key);
  return { name: keys.length === 1 ? (keys[0] as string) : `${keys.length} batches`, context: { batches: keys.slice(0, 5) } };
}
