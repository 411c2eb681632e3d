import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisInstanceLock } from '../../src/providers/iris/redis-lock.js';

const redis = new Redis('redis://127.0.0.1:6379');
const prefix = `shield-lock-${randomBytes(5).toString('hex')}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('RedisInstanceLock (one remediation per instance across replicas)', () => {
  it('admits one job per instance, re-entrant for the holder, taken over only from a stale holder', async () => {
    const a = new RedisInstanceLock(redis, prefix);
    const b = new RedisInstanceLock(redis, prefix); // another replica
    const never = async () => false;
    expect(await a.acquire('IRIS', 'job_a', never)).toBe(true);
    expect(await a.acquire('IRIS', 'job_a', never)).toBe(true);
    expect(await b.acquire('IRIS', 'job_b', never)).toBe(false);
    expect(await b.acquire('OTHER', 'job_b', never)).toBe(true);
    await b.release('IRIS', 'job_b'); // not the holder: no effect
    expect(await a.holder('IRIS')).toBe('job_a');
    expect(await b.acquire('IRIS', 'job_b', async (holder) => holder === 'job_a')).toBe(true);
    expect(await a.holder('IRIS')).toBe('job_b');
    await b.release('IRIS', 'job_b');
    expect(await a.holder('IRIS')).toBeUndefined();
  });

  it('concurrent acquisitions: exactly one wins', async () => {
    const locks = Array.from({ length: 8 }, () => new RedisInstanceLock(redis, prefix));
    const wins = await Promise.all(locks.map((l, i) => l.acquire('RACE', `job_${i}`, async () => false)));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });
});
