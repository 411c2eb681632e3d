// Workers sharing a frontier that grows while they work: an idle worker waits for a busy one that may still add URLs.

export interface PoolOptions<T> {
  concurrency: number;
  signal: AbortSignal;
  /** True when no more items may be taken (the page budget is spent). */
  done(): boolean;
  /** The next item, or undefined when none is queued right now. */
  next(): T | undefined;
  run(item: T): Promise<void>;
}

export type PoolEnd = { failed: false } | { failed: true; error: unknown };

/**
 * Run items until none is queued and no worker is busy, done() says stop, or the signal aborts.
 * The first error thrown by run() stops every worker and is returned.
 */
export async function runPool<T>(o: PoolOptions<T>): Promise<PoolEnd> {
  let active = 0;
  let end: PoolEnd = { failed: false };
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const idle = (): Promise<void> =>
    new Promise<void>((r) => {
      const prev = wake;
      wake = () => {
        prev?.();
        r();
      };
    });
  const worker = async (): Promise<void> => {
    while (!o.signal.aborted && !end.failed) {
      if (o.done()) return;
      const item = o.next();
      if (item === undefined) {
        if (active === 0) return notify();
        await idle();
        continue;
      }
      active++;
      try {
        await o.run(item);
      } catch (error) {
        if (!end.failed) end = { failed: true, error };
      } finally {
        active--;
        notify();
      }
    }
    notify();
  };
  const onAbort = (): void => notify();
  o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(Array.from({ length: o.concurrency }, () => worker()));
  } finally {
    o.signal.removeEventListener('abort', onAbort);
  }
  return end;
}
