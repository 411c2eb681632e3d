// The one-remediation-per-instance lock in Redis, shared by every replica.
import type { Redis } from 'ioredis';
import type { InstanceLock } from './store.js';

/** Replace the holder only if it is still the one we judged stale. */
const TAKE_OVER = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0`;
/** Release only our own lock. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class RedisInstanceLock implements InstanceLock {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(instance: string): string {
    return `${this.prefix}:remediation-lock:${instance}`;
  }

  async acquire(instance: string, jobId: string, isStale: (holderJobId: string) => Promise<boolean>): Promise<boolean> {
    const key = this.key(instance);
    if ((await this.redis.set(key, jobId, 'NX')) === 'OK') return true;
    const holder = await this.redis.get(key);
    if (holder === jobId) return true;
    if (holder === null) return (await this.redis.set(key, jobId, 'NX')) === 'OK';
    // The holder's job finished or its replica died: take the lock over, atomically.
    if (await isStale(holder)) return (await this.redis.eval(TAKE_OVER, 1, key, holder, jobId)) === 1;
    return false;
  }

  async release(instance: string, jobId: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(instance), jobId);
  }

  async holder(instance: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(instance))) ?? undefined;
  }
}
