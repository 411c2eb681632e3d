// One creation per idempotency key at a time: in-process by default, across replicas on Redis.
export interface KeyLock {
  /** Run fn while holding the lock for key; callers for the same key run one after another. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** Chains callers of one key in this process (nothing to clean up: each chain ends with its last caller). */
export class LocalKeyLock implements KeyLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    try {
      await prev;
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
