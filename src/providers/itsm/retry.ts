// Retry policy for ticket upstreams: what is retryable, and how long to wait before the next try,
// honouring Retry-After and X-RateLimit-Reset (whose format differs between ServiceNow and Jira).

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  multiplier: number;
  maxDelayMs: number;
  /** Fraction of the delay added or removed at random (0..1). */
  jitter: number;
  /** Upstream-requested waits longer than this are not waited out in-job. */
  maxRetryAfterMs: number;
}

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

export type ResetFormat = 'unix_seconds' | 'iso8601';

type Headers = Record<string, string | string[] | undefined>;

const header = (h: Headers, name: string): string | undefined => {
  const v = h[name] ?? h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

/** Retry-After: delta-seconds or an HTTP date. Returns ms from now (>= 0), or undefined. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  // Only a date-looking value: Date.parse accepts odd inputs such as "1".
  if (!/[a-z]/i.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/**
 * X-RateLimit-Reset: a Unix timestamp in seconds on ServiceNow, ISO-8601 (e.g. 2026-11-21T10:15Z)
 * on Jira Cloud. Returns ms from now (>= 0), or undefined.
 */
export function parseRateLimitReset(value: string | undefined, format: ResetFormat, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  let t: number;
  if (format === 'unix_seconds') {
    if (!/^\d+(\.\d+)?$/.test(v)) return undefined;
    t = Number(v) * 1000;
  } else {
    // Jira writes minutes-only times (10:15Z), which Date.parse accepts as ISO-8601.
    if (!/^\d{4}-\d{2}-\d{2}T/.test(v)) return undefined;
    t = Date.parse(v);
    if (Number.isNaN(t)) return undefined;
  }
  return Math.max(0, Math.round(t - now));
}

/** The wait the upstream asked for, in ms: Retry-After first, then X-RateLimit-Reset. */
export function upstreamDelayMs(headers: Headers, format: ResetFormat, now = Date.now()): number | undefined {
  return parseRetryAfter(header(headers, 'retry-after'), now) ?? parseRateLimitReset(header(headers, 'x-ratelimit-reset'), format, now);
}

export type DelayDecision = { retry: true; delayMs: number } | { retry: false; reason: 'attempts_exhausted' | 'wait_too_long'; waitMs?: number };

/**
 * Delay before attempt `nextAttempt` (2 = first retry). An upstream hint wins over back-off but
 * never drops below the base delay (Retry-After: 0 is not a licence for a tight loop), and a hint
 * beyond maxRetryAfterMs ends retrying so the caller can report when to come back.
 */
export function nextDelay(policy: RetryPolicy, nextAttempt: number, hintMs: number | undefined, random: () => number = Math.random): DelayDecision {
  if (nextAttempt > policy.maxAttempts) return { retry: false, reason: 'attempts_exhausted' };
  if (hintMs !== undefined) {
    if (hintMs > policy.maxRetryAfterMs) return { retry: false, reason: 'wait_too_long', waitMs: hintMs };
    return { retry: true, delayMs: Math.max(hintMs, policy.baseDelayMs) };
  }
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * policy.multiplier ** (nextAttempt - 2));
  const spread = exp * policy.jitter * (random() * 2 - 1);
  return { retry: true, delayMs: Math.max(policy.baseDelayMs / 2, Math.round(exp + spread)) };
}

/** Sleep that ends early (rejecting) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
