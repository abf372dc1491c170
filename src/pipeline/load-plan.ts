import type { ObjectStore, StoredObject } from '../core/object-store.js';
import { mapPool } from '../core/pool.js';
import type { StreamMode } from '../core/source.js';
import type { LedgerEntry, SameContent } from '../core/warehouse.js';
import { newestSnapshot } from '../storage/layout.js';

export interface StoredBatch extends StoredObject {
  partitionMs: number;
  part: string;
}

export interface PlannedBatch extends StoredBatch {
  /** SHA-256 of the object, when the plan read it (or was asked to). */
  checksum?: string;
}

export interface LoadPlan {
  /** The batches to load, oldest hour first, so that a later batch's version of a record wins. */
  todo: PlannedBatch[];
  /** Batches the ledger holds with this content under another version (or without a checksum). */
  same: SameContent[];
  /** Batches of a `full` stream's older snapshots that were never loaded and never will be. */
  superseded: number;
  newest: string | undefined;
}

/** Objects hashed (or their stored checksum read) at once: a file read each locally, a HEAD each in S3. */
const HASH_CONCURRENCY = 8;

/**
 * What a load must do, decided by content (DESIGN §7: the ledger keeps each batch's checksum). A
 * batch whose version is the ledger's is skipped without reading it. One with another version
 * (touched, copied to a new `storage.path`, re-uploaded) is hashed: same checksum, skipped, and
 * its new version recorded so the next load takes the fast path; another checksum, loaded again.
 * A ledger row from before checksums were kept is compared by version, and gets the checksum
 * while its version still matches.
 */
export async function planLoad(
  storage: ObjectStore,
  ledger: ReadonlyMap<string, LedgerEntry>,
  stored: readonly StoredBatch[],
  o: { mode: StreamMode; checksums: boolean },
): Promise<LoadPlan> {
  // Only a full stream's newest snapshot is loaded: an older one would replace newer rows with older ones.
  const newest = o.mode === 'full' ? newestSnapshot(stored.map((b) => b.key)) : undefined;
  const candidates = o.mode === 'full' ? stored.filter((b) => b.part === newest) : stored;
  const superseded = o.mode === 'full' ? stored.filter((b) => b.part !== newest && !ledger.has(b.key)).length : 0;

  let todo: PlannedBatch[] = [];
  const check: Array<{ batch: StoredBatch; row: LedgerEntry }> = [];
  for (const batch of candidates) {
    const row = ledger.get(batch.key);
    const sameVersion = row?.version === batch.version;
    // Same version, checksum known: the fast path, nothing is read. An old row without a checksum
    // is compared by version: loaded again when it changed, else hashed to fill its checksum.
    if (!row || (row.checksum === undefined && !sameVersion)) todo.push(batch);
    else if (row.checksum === undefined || !sameVersion) check.push({ batch, row });
  }
  // A batch that cannot be hashed now (gone, a storage error) goes to the load, which fails for
  // its own group only and says why, instead of stopping the whole stream here.
  const hash = (key: string) => storage.sha256(key).catch(() => undefined);
  const same: SameContent[] = [];
  for await (const { batch, row, checksum } of mapPool(check, HASH_CONCURRENCY, async (c) => ({ ...c, checksum: await hash(c.batch.key) }))) {
    if (checksum !== undefined && (row.checksum === undefined || row.checksum === checksum)) same.push({ key: batch.key, version: batch.version, checksum });
    else todo.push({ ...batch, checksum });
  }
  // A snapshot replaces the table: when part of it must load, all of it loads.
  if (o.mode === 'full' && todo.length > 0) {
    const known = new Map(todo.map((b) => [b.key, b.checksum]));
    todo = candidates.map((b) => ({ ...b, checksum: known.get(b.key) }));
  }
  if (o.checksums) {
    const missing = todo.filter((b) => b.checksum === undefined);
    const sums = new Map<string, string | undefined>();
    for await (const [key, sum] of mapPool(missing, HASH_CONCURRENCY, async (b) => [b.key, await hash(b.key)] as const)) sums.set(key, sum);
    todo = todo.map((b) => (b.checksum === undefined ? { ...b, checksum: sums.get(b.key) } : b));
  }
  todo.sort((a, b) => a.partitionMs - b.partitionMs || a.key.localeCompare(b.key));
  return { todo, same, superseded, newest };
}
