// The one retry/back-off module for every upstream (ITSM, Ollama, Qdrant, crawled hosts): what is
// retryable, how long to wait before the next try (the upstream's announced delay, Retry-After or
// X-RateLimit-Reset, understood here and nowhere else), and a wait that a cancellation ends.
// Not here on purpose: the single resend after a 401 (itsm/auth.ts sendAuthorized) is a new
// credential, not a failure retried after a pause.
import { setTimeout as delay } from 'node:timers/promises';

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

/** Headers as undici gives them (a plain record) or as fetch gives them (an object with get()). */
type AnyHeaders = Headers | { get(name: string): string | null };

function asRecord(h: AnyHeaders): Headers {
  if (typeof (h as { get?: unknown }).get !== 'function') return h as Headers;
  const get = (n: string): string | undefined => (h as { get(name: string): string | null }).get(n) ?? undefined;
  return { 'retry-after': get('retry-after'), 'x-ratelimit-reset': get('x-ratelimit-reset') };
}

/**
 * The wait a failure's upstream announced, in ms: the Retry-After / X-RateLimit-Reset headers the
 * failed answer carried, or the seconds a client library already read from them (`retry_after`).
 * Follows `cause`, so an error translated to a ShieldError still tells what the upstream asked.
 * `format` is how this upstream writes X-RateLimit-Reset (Unix seconds unless it says otherwise).
 */
export function announcedDelayMs(err: unknown, format: ResetFormat = 'unix_seconds', now = Date.now()): number | undefined {
  let e = err;
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const { headers, retry_after } = e as { headers?: unknown; retry_after?: unknown };
    // @qdrant/js-client-rest 1.18 throws QdrantClientResourceExhaustedError with retry_after in
    // seconds, but reads only the header's first character ("30" arrives as 3): a lower bound.
    if (typeof retry_after === 'number' && Number.isFinite(retry_after) && retry_after >= 0) return Math.round(retry_after * 1000);
    if (typeof headers === 'object' && headers !== null) {
      const ms = upstreamDelayMs(asRecord(headers as AnyHeaders), format, now);
      if (ms !== undefined) return ms;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
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

/** Wait `ms`, ending early (rejecting with the signal's reason) when the signal aborts. */
export async function wait(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw signal.reason as Error;
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    // timers/promises rejects with an AbortError; callers expect the signal's own reason.
    if (signal?.aborted) throw signal.reason as Error;
    throw err;
  }
}

export interface RetryOptions {
  policy: RetryPolicy;
  signal?: AbortSignal | undefined;
  /** Whether a failure may be retried, and the delay the upstream announced (ms), if any. */
  classify(err: unknown): { retry: boolean; hintMs?: number | undefined };
  /** Called before each wait (metrics, logs). */
  onRetry?: (info: { attempt: number; delayMs: number; err: unknown }) => void;
  random?: () => number;
}

/**
 * Run `fn` until it succeeds, a failure is not retryable, the attempts run out or the upstream
 * asks for a wait beyond the policy's cap (then the last failure is thrown). A cancellation during
 * a wait ends it at once with the signal's reason.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const c = o.classify(err);
      if (!c.retry || o.signal?.aborted) throw err;
      const decision = nextDelay(o.policy, attempt + 1, c.hintMs, o.random);
      if (!decision.retry) throw err;
      o.onRetry?.({ attempt, delayMs: decision.delayMs, err });
      await wait(decision.delayMs, o.signal);
    }
  }
}
