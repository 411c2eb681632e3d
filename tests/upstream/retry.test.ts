// The retry module: announced delays, back-off decisions, the cancellable wait and withRetry.
import { describe, expect, it } from 'vitest';
import { ShieldError } from '../../src/errors.js';
import {
  announcedDelayMs,
  nextDelay,
  parseRateLimitReset,
  parseRetryAfter,
  upstreamDelayMs,
  wait,
  withRetry,
  type RetryPolicy,
} from '../../src/upstream/retry.js';

const NOW = Date.parse('2026-11-21T10:00:00Z');

/** Settles with 'still waiting' after ms, so a wait that was not ended fails the test instead of hanging it. */
const stillWaitingAfter = (ms: number): Promise<string> => new Promise((r) => setTimeout(() => r('still waiting'), ms).unref());

describe('retry delays', () => {
  it.each([
    ['0', 0],
    ['5', 5000],
    ['1.5', 1500],
    ['Sat, 21 Nov 2026 10:00:30 GMT', 30_000],
    ['Sat, 21 Nov 2026 09:00:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('Retry-After %j -> %j ms', (v, ms) => {
    expect(parseRetryAfter(v, NOW)).toBe(ms);
  });

  it('X-RateLimit-Reset is Unix seconds on ServiceNow and ISO-8601 on Jira', () => {
    expect(parseRateLimitReset(String(NOW / 1000 + 20), 'unix_seconds', NOW)).toBe(20_000);
    expect(parseRateLimitReset('2026-11-21T10:15Z', 'iso8601', NOW)).toBe(15 * 60_000);
    expect(parseRateLimitReset('2026-11-21T10:00:10.000Z', 'iso8601', NOW)).toBe(10_000);
    expect(parseRateLimitReset('2026-11-21T10:15Z', 'unix_seconds', NOW)).toBeUndefined();
    expect(parseRateLimitReset('1763719200', 'iso8601', NOW)).toBeUndefined();
  });

  it('Retry-After wins over X-RateLimit-Reset', () => {
    expect(upstreamDelayMs({ 'retry-after': '2', 'x-ratelimit-reset': String(NOW / 1000 + 60) }, 'unix_seconds', NOW)).toBe(2000);
    expect(upstreamDelayMs({ 'x-ratelimit-reset': String(NOW / 1000 + 60) }, 'unix_seconds', NOW)).toBe(60_000);
  });

  const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, multiplier: 2, maxDelayMs: 300, jitter: 0.5, maxRetryAfterMs: 5000 };

  it('backs off exponentially with jitter, capped, and stops after max attempts', () => {
    expect(nextDelay({ ...policy, jitter: 0 }, 2, undefined)).toEqual({ retry: true, delayMs: 100 });
    expect(nextDelay({ ...policy, jitter: 0 }, 3, undefined)).toEqual({ retry: true, delayMs: 200 });
    expect(nextDelay({ ...policy, jitter: 0 }, 4, undefined)).toEqual({ retry: true, delayMs: 300 });
    expect(nextDelay(policy, 5, undefined)).toEqual({ retry: false, reason: 'attempts_exhausted' });
    expect(nextDelay(policy, 2, undefined, () => 0)).toEqual({ retry: true, delayMs: 50 });
    expect(nextDelay(policy, 2, undefined, () => 1)).toEqual({ retry: true, delayMs: 150 });
  });

  it('honours an upstream hint up to the cap; 0 becomes the base delay, never a tight loop', () => {
    expect(nextDelay(policy, 2, 0)).toEqual({ retry: true, delayMs: 100 });
    expect(nextDelay(policy, 2, 2500)).toEqual({ retry: true, delayMs: 2500 });
    expect(nextDelay(policy, 2, 60_000)).toEqual({ retry: false, reason: 'wait_too_long', waitMs: 60_000 });
  });
});

describe('announced delays on errors', () => {
  it('reads headers as undici gives them (a record) and as fetch gives them (Headers)', () => {
    expect(announcedDelayMs({ status: 503, headers: { 'retry-after': '7' } }, 'unix_seconds', NOW)).toBe(7000);
    expect(announcedDelayMs({ status: 429, headers: new Headers({ 'Retry-After': '3' }) }, 'unix_seconds', NOW)).toBe(3000);
    expect(announcedDelayMs({ headers: { 'x-ratelimit-reset': '2026-11-21T10:01Z' } }, 'iso8601', NOW)).toBe(60_000);
  });

  it("reads a client's parsed retry_after in seconds (Qdrant's typed 429)", () => {
    expect(announcedDelayMs(Object.assign(new Error('Too Many Requests'), { retry_after: 4 }))).toBe(4000);
  });

  it('looks through the cause of a translated error, but never takes our own retryAfterS for an announcement', () => {
    const answer = { status: 429, headers: { 'retry-after': '2' } };
    expect(announcedDelayMs(new ShieldError('UPSTREAM_RATE_LIMITED', 'slow down', { cause: answer, retryAfterS: 9 }))).toBe(2000);
    expect(announcedDelayMs(new ShieldError('UPSTREAM_UNAVAILABLE', 'unreachable', { retryAfterS: 10, cause: new Error('ECONNREFUSED') }))).toBeUndefined();
    expect(announcedDelayMs({ headers: {} })).toBeUndefined();
    expect(announcedDelayMs(undefined)).toBeUndefined();
    expect(announcedDelayMs('boom')).toBeUndefined();
  });
});

describe('wait', () => {
  it('waits the given time when nothing cancels it', async () => {
    await expect(wait(5)).resolves.toBeUndefined();
    await expect(wait(5, new AbortController().signal)).resolves.toBeUndefined();
  });

  it('ends promptly on an abort, with the signal reason', async () => {
    const ac = new AbortController();
    const reason = new ShieldError('CANCELLED', 'Cancelled on request.');
    const started = Date.now();
    const waiting = wait(60_000, ac.signal);
    setTimeout(() => ac.abort(reason), 10);
    await expect(Promise.race([waiting, stillWaitingAfter(20_000)])).rejects.toBe(reason);
    // Loose on purpose (a loaded machine): the point is that the minute was not waited out.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('never starts waiting when the signal is already aborted', async () => {
    const ac = new AbortController();
    const reason = new Error('gone');
    ac.abort(reason);
    await expect(Promise.race([wait(60_000, ac.signal), stillWaitingAfter(5_000)])).rejects.toBe(reason);
  });
});

describe('withRetry', () => {
  // Small delays; the assertions are on the decisions (delays handed to onRetry), not on the clock.
  const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1, multiplier: 2, maxDelayMs: 8, jitter: 0.5, maxRetryAfterMs: 50 };
  const transient = Object.assign(new Error('503'), { transient: true });
  const fatal = new Error('400');
  const isTransient = (err: unknown) => ({ retry: (err as { transient?: boolean }).transient === true });

  /** fn failing with the given errors in turn, then answering 'ok'; counts its calls. */
  function failing(...errors: unknown[]) {
    const calls: number[] = [];
    const fn = async (attempt: number): Promise<string> => {
      calls.push(attempt);
      if (calls.length <= errors.length) throw errors[calls.length - 1];
      return 'ok';
    };
    return { fn, calls };
  }

  it('retries what classify allows, with back-off from the policy', async () => {
    const { fn, calls } = failing(transient, transient);
    const delays: number[] = [];
    const out = await withRetry(fn, { policy, classify: isTransient, random: () => 1, onRetry: (i) => delays.push(i.delayMs) });
    expect(out).toBe('ok');
    expect(calls).toEqual([1, 2, 3]);
    // random() = 1 adds the full jitter: 1 ms * 1.5 -> 2, then 2 ms * 1.5 -> 3.
    expect(delays).toEqual([2, 3]);
  });

  it('does not retry what classify refuses', async () => {
    const { fn, calls } = failing(fatal);
    const delays: number[] = [];
    await expect(withRetry(fn, { policy, classify: isTransient, onRetry: (i) => delays.push(i.delayMs) })).rejects.toBe(fatal);
    expect(calls).toEqual([1]);
    expect(delays).toEqual([]);
  });

  it('honours a delay the upstream announced over its own back-off', async () => {
    const { fn } = failing(transient);
    const delays: number[] = [];
    await withRetry(fn, { policy, classify: () => ({ retry: true, hintMs: 20 }), random: () => 1, onRetry: (i) => delays.push(i.delayMs) });
    expect(delays).toEqual([20]);
  });

  it('stops at maxAttempts and throws the last failure', async () => {
    const last = Object.assign(new Error('503 again'), { transient: true });
    const { fn, calls } = failing(transient, transient, last, transient);
    await expect(withRetry(fn, { policy, classify: isTransient, random: () => 0.5 })).rejects.toBe(last);
    expect(calls).toEqual([1, 2, 3]);
  });

  it('stops when the upstream asks for a wait beyond maxRetryAfterMs', async () => {
    const { fn, calls } = failing(transient);
    const delays: number[] = [];
    await expect(withRetry(fn, { policy, classify: () => ({ retry: true, hintMs: 60_000 }), onRetry: (i) => delays.push(i.delayMs) })).rejects.toBe(transient);
    expect(calls).toEqual([1]);
    expect(delays).toEqual([]);
  });

  it('stops waiting when cancelled, with the signal reason, and tries no more', async () => {
    const ac = new AbortController();
    const reason = new ShieldError('CANCELLED', 'Cancelled on request.');
    const { fn, calls } = failing(transient, transient);
    const slow: RetryPolicy = { ...policy, baseDelayMs: 60_000, maxDelayMs: 60_000 };
    const running = withRetry(fn, { policy: slow, signal: ac.signal, classify: isTransient, onRetry: () => setTimeout(() => ac.abort(reason), 10) });
    await expect(Promise.race([running, stillWaitingAfter(20_000)])).rejects.toBe(reason);
    expect(calls).toEqual([1]);
  });

  it('does not retry once the signal is aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    const { fn, calls } = failing(transient);
    await expect(withRetry(fn, { policy, signal: ac.signal, classify: isTransient })).rejects.toBe(transient);
    expect(calls).toEqual([1]);
  });
});
