// How the Qdrant store reports Qdrant's failures: codes, statuses and the wait Qdrant announced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShieldError } from '../../src/errors.js';
import type { BreakerRun } from '../../src/providers/knowledge/embedder.js';
import { QdrantStore } from '../../src/providers/knowledge/qdrant-store.js';
import { startLoopback, type LoopbackServer } from '../fakes/loopback.js';

let qdrant: LoopbackServer;
let next: { status: number; headers?: Record<string, string> } = { status: 200 };

beforeAll(async () => {
  qdrant = await startLoopback({
    handle: () => ({ status: next.status, ...(next.headers ? { headers: next.headers } : {}), body: { status: { error: 'Too many requests' }, time: 0 } }),
  });
});
afterAll(() => qdrant.close());

const direct: BreakerRun = (_name, fn, signal) => fn(signal ?? new AbortController().signal);
const store = () => new QdrantStore({ url: qdrant.url, upsertBatch: 8, timeoutMs: 5_000, breakers: direct });

const failure = async (reply: typeof next): Promise<ShieldError> => {
  next = reply;
  const err = await store()
    .version()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(ShieldError);
  return err as ShieldError;
};

describe('Qdrant failures', () => {
  it("reads the client's typed 429 (retry_after) as rate limiting, with the announced wait", async () => {
    const err = await failure({ status: 429, headers: { 'retry-after': '7' } });
    expect(err).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', status: 429, retryAfterS: 7 });
  });

  it('falls back to its own hint when Qdrant announces nothing', async () => {
    expect(await failure({ status: 429 })).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', status: 429, retryAfterS: 5 });
    expect(await failure({ status: 503 })).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 503, retryAfterS: 10 });
  });

  it("reads Retry-After on a 503's headers", async () => {
    expect(await failure({ status: 503, headers: { 'retry-after': '20' } })).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryAfterS: 20 });
  });
});
