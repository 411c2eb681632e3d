// ITSM state that replicas must share when jobs run on Redis: the ticket ledger, the per-key
// creation lock and rotated OAuth refresh tokens.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ShieldError } from '../../errors.js';
import type { TokenStore } from './auth.js';
import type { KeyLock } from './key-lock.js';
import type { TicketLedger } from './remote.js';
import { wait } from '../../upstream/retry.js';
import type { Platform } from './templates.js';
import type { TicketView } from './types.js';

export class RedisTicketLedger implements TicketLedger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(platform: Platform, key: string): string {
    return `${this.prefix}:itsm:ledger:${platform}:${key}`;
  }

  async get(platform: Platform, key: string): Promise<{ ticket: TicketView; jobId: string | null } | undefined> {
    const v = await this.redis.get(this.key(platform, key));
    return v ? (JSON.parse(v) as { ticket: TicketView; jobId: string | null }) : undefined;
  }

  async put(platform: Platform, key: string, ticket: TicketView, jobId: string): Promise<void> {
    await this.redis.set(this.key(platform, key), JSON.stringify({ ticket, jobId }), 'NX');
  }
}

export class RedisTokenStore implements TokenStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async get(name: string): Promise<string | undefined> {
    return (await this.redis.get(`${this.prefix}:itsm:oauth:${name}`)) ?? undefined;
  }

  async put(name: string, token: string): Promise<void> {
    await this.redis.set(`${this.prefix}:itsm:oauth:${name}`, token);
  }
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface RedisKeyLockOptions {
  /** Lock lifetime without renewal (a dead holder's lock lapses after this), in ms. */
  ttlMs?: number;
  /** Longest wait for a lock held by someone else, in ms. */
  maxWaitMs?: number;
  pollMs?: number;
}

/** A lease in Redis (SET NX PX), renewed while held and released only by its holder. */
export class RedisKeyLock implements KeyLock {
  private readonly ttlMs: number;
  private readonly maxWaitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: RedisKeyLockOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxWaitMs = options.maxWaitMs ?? 120_000;
    this.pollMs = options.pollMs ?? 25;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const k = `${this.prefix}:itsm:lock:${key}`;
    const token = randomBytes(16).toString('hex');
    const deadline = Date.now() + this.maxWaitMs;
    while ((await this.redis.set(k, token, 'PX', this.ttlMs, 'NX')) !== 'OK') {
      if (Date.now() > deadline) {
        throw new ShieldError('CONFLICT', 'Another request with the same idempotency key is still in progress.', {
          retryable: true,
          retryAfterS: 5,
          hint: 'Wait for the first request to finish, then call again with the same key to get its ticket.',
        });
      }
      // KeyLock.run has no caller signal: the wait ends with maxWaitMs, not with a cancellation.
      await wait(this.pollMs);
    }
    const renew = setInterval(() => void this.redis.eval(RENEW, 1, k, token, String(this.ttlMs)).catch(() => undefined), Math.max(50, this.ttlMs / 3));
    renew.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await this.redis.eval(RELEASE, 1, k, token).catch(() => undefined);
    }
  }
}
