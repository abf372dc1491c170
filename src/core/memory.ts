import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * The memory devices: four ways sluice gives memory back to the system that neither Node nor an
 * embedded database does on its own, so that a run's resident memory stays near what it uses.
 * Each rests on behaviour its owner does not promise; loads work without them, only using more
 * memory. `SLUICE_MEMORY_DEVICES=off` turns all four off, e.g. to measure what they save.
 *
 * 1. `collectGarbage`: a fetch leaves tens of MB of dead buffers (response bodies, compressed
 *    chunks) that V8 frees only at its next full collection, which a load, waiting on its
 *    warehouse, may never trigger: they would stay resident beside the warehouse's own memory.
 * 2. `nativeAllocatorSettings`: DuckDB's bundled jemalloc keeps freed pages for ten seconds, in
 *    an arena per CPU, so a load stayed hundreds of MB above DuckDB's own cap; one arena that
 *    returns pages within a second holds about as little, and a load took 8 % less time with it
 *    than returning them within 100 ms (more pages are reused before they go back). Read once,
 *    when the library loads.
 * 3. `releaseNativeMemory`: DuckDB's allocator and the C heap (where Node keeps its buffers too)
 *    hold on to what was freed, for reuse. DuckDB has no statement that releases it, but it
 *    flushes its allocator and trims the C heap whenever it relaunches its worker threads: the
 *    warehouse passes the statements that do that (a few milliseconds) as it opens, which gives
 *    back what a fetch freed. Not between groups: the pages DuckDB then takes back from the
 *    system cost the next group a quarter second, and with device 4 a relaunch every fourth
 *    group saved nothing measurable (`sluice run` of 1.6 million Amplitude events, 65 groups:
 *    285 MB with it, 288 MB without, 10 % slower).
 * 4. `keepYoungGenerationSmall`: V8 doubles the young generation (where new objects live until
 *    they survive two collections) while a fetch allocates fast, up to 16 MB per semi-space, and
 *    keeps it: 25-30 MB, nearly empty, resident during the whole load. Fixing its growth factor
 *    at 1 keeps it at its first size (1 MB per semi-space); collections come more often but each
 *    one only copies the few objects still alive, and a fetch was no slower. The CLI sets it as it
 *    starts, before anything grows; a program that embeds sluice keeps its own. The V8 of Node 23
 *    and later raises a growth factor below 2 back to 2, so there the device does nothing:
 *    `NODE_OPTIONS=--max-semi-space-size=1` does the same from the process's start.
 *
 * Together they save about 120 MB: a run of ~200,000 events of ~1.2 KB peaked at 250-270 MB with
 * them and 370-400 MB without (`npm run bench` prints both); device 4 alone is 25-35 MB of that.
 */
export const memoryDevicesOn = (): boolean => process.env.SLUICE_MEMORY_DEVICES !== 'off';

let collect: (() => void) | undefined;

/** Device 1: a full garbage collection now (Node offers no call for it without a start-up flag: the flag is set once, here). */
export function collectGarbage(): void {
  if (!memoryDevicesOn()) return;
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  // V8 frees dead buffers' memory in the background after a collection; the next collection
  // first finishes that, so the memory is back in the C heap before anyone trims it.
  collect();
}

/** Device 2: environment for DuckDB's allocator, applied before its library loads; a value the user set is kept. */
export function applyNativeAllocatorSettings(env: NodeJS.ProcessEnv = process.env): void {
  if (!memoryDevicesOn()) return;
  env.DUCKDB_JE_MALLOC_CONF ??= 'narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0';
}

/** Device 3: `relaunchWorkers` makes the embedded database restart its threads, which returns its freed memory. */
export async function releaseNativeMemory(relaunchWorkers: () => Promise<void>): Promise<void> {
  if (memoryDevicesOn()) await relaunchWorkers();
}

/**
 * Device 4: the young generation stays at its first size. A V8 flag that is read whenever the
 * young generation would grow, so it holds when set after start-up (unlike the semi-space sizes).
 */
export function keepYoungGenerationSmall(): void {
  if (memoryDevicesOn()) setFlagsFromString('--semi-space-growth-factor=1');
}
