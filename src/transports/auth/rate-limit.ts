// Inbound rate limit: one token bucket per key (principal id, or client IP when unauthenticated).
export interface TokenBucketOptions {
  /** Tokens added per second (the sustained request rate). */
  ratePerS: number;
  /** Bucket size: requests allowed at once. */
  burst: number;
  /** Clock in ms; injected by tests. */
  now?: () => number;
  /** Buckets kept before full (idle) ones are dropped. */
  maxKeys?: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterS: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerS > 0)) throw new RangeError('ratePerS must be positive');
    if (!(options.burst >= 1)) throw new RangeError('burst must be at least 1');
    this.ratePerMs = options.ratePerS / 1000;
    this.burst = options.burst;
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  /** Takes one token for `key`; when empty, says how many whole seconds until one is back. */
  take(key: string): TakeResult {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.evictFull(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + Math.max(0, now - b.at) * this.ratePerMs);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerMs / 1000)) };
  }

  get size(): number {
    return this.buckets.size;
  }

  /** A bucket that has refilled completely holds no state worth keeping. */
  private evictFull(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.ratePerMs >= this.burst) this.buckets.delete(k);
    }
  }
}
