import { setMaxListeners } from 'node:events';

/**
 * Runs `work` over `items` with at most `limit` in flight and yields results as they finish.
 * The first thrown error aborts the rest and is rethrown once in-flight work has settled.
 */
export async function* mapPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, signal: AbortSignal) => Promise<R>,
  outer?: AbortSignal,
): AsyncGenerator<R> {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // every request in flight listens to it
  const onOuter = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuter, { once: true });
  const running = new Map<number, Promise<{ i: number; ok: true; value: R } | { i: number; ok: false; error: unknown }>>();
  let next = 0;
  let firstError: { error: unknown } | undefined;
  const launch = () => {
    while (!firstError && !controller.signal.aborted && running.size < limit && next < items.length) {
      const i = next++;
      running.set(
        i,
        work(items[i] as T, controller.signal).then(
          (value) => ({ i, ok: true as const, value }),
          (error: unknown) => ({ i, ok: false as const, error }),
        ),
      );
    }
  };
  try {
    launch();
    while (running.size > 0) {
      const done = await Promise.race(running.values());
      running.delete(done.i);
      if (!done.ok) {
        if (!firstError) {
          firstError = { error: done.error };
          controller.abort(done.error);
        }
      } else if (!firstError) {
        yield done.value;
      }
      launch();
    }
    if (firstError) throw firstError.error;
  } finally {
    controller.abort();
    outer?.removeEventListener('abort', onOuter);
  }
}

/** A promise's outcome, held as a value. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise that never rejects, so one left waiting while other work runs is never an unhandled rejection. */
export function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** The value of a settled promise, or its error thrown. */
export function unwrap<T>(s: Settled<T>): T {
  if (!s.ok) throw s.error;
  return s.value;
}
