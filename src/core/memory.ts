import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/**
 * Runs a full garbage collection now. A fetch leaves tens of MB of dead buffers (response bodies,
 * compressed chunks) that V8 would free only at its next full collection, which a load, waiting on
 * its warehouse, may never trigger; they would stay resident beside the warehouse's own memory.
 * Node offers no call for this without a start-up flag, so the flag is set here, once.
 */
export function collectGarbage(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  // V8 frees dead buffers' memory in the background after a collection; the next collection
  // first finishes that, so the memory is back in the C heap before anyone trims it.
  collect();
}
