// The Ollama embedder's retries: what is retried, Retry-After understood, a cancel ends the back-off.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ShieldError } from '../../src/errors.js';
import { OllamaEmbedder, embedRetryPolicy, type BreakerRun } from '../../src/providers/knowledge/embedder.js';
import { hashedEmbedding } from '../fakes/ollama/ollama-fake.js';
import { startLoopback, type LoopbackServer } from '../fakes/loopback.js';

interface Reply {
  status: number;
  headers?: Record<string, string>;
}

/** A loopback Ollama whose next answers are scripted failures, then real embeddings. */
let ollama: LoopbackServer;
let script: Reply[] = [];
let requests = 0;

beforeAll(async () => {
  ollama = await startLoopback({
    alwaysJson: true,
    handle: (req) => {
      const body = req.body as { input: string[] };
      requests++;
      const next = script.shift();
      if (next) return { status: next.status, ...(next.headers ? { headers: next.headers } : {}), body: { error: 'server busy, please try again.' } };
      return { status: 200, body: { embeddings: body.input.map((t) => hashedEmbedding(t, 8)) } };
    },
  });
});
afterAll(() => ollama.close());
beforeEach(() => {
  script = [];
  requests = 0;
});

/** No breaker: each call runs at once with the caller's signal. */
const direct: BreakerRun = (_name, fn, signal) => fn(signal ?? new AbortController().signal);

const embedder = (retries: number, breakers: BreakerRun = direct) =>
  new OllamaEmbedder({ url: ollama.url, model: 'nomic-embed-text', batchSize: 8, retries, breakers });

const errorOf = async (p: Promise<unknown>): Promise<ShieldError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ShieldError);
  return err as ShieldError;
};

describe('Ollama embedder retries', () => {
  it('maps knowledge.embedder.retries to the shared policy: 100 ms doubling, no jitter', () => {
    expect(embedRetryPolicy(2)).toMatchObject({ maxAttempts: 3, baseDelayMs: 100, multiplier: 2, jitter: 0 });
    expect(embedRetryPolicy(0).maxAttempts).toBe(1);
  });

  it('retries a busy Ollama and then embeds', async () => {
    script = [{ status: 503 }, { status: 429, headers: { 'retry-after': '0' } }];
    const vectors = await embedder(2).embed(['one', 'two']);
    expect(vectors).toHaveLength(2);
    expect(requests).toBe(3);
  });

  it('stops after the configured retries', async () => {
    script = [{ status: 503 }, { status: 503 }, { status: 503 }];
    const err = await errorOf(embedder(1).embed(['one']));
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(requests).toBe(2);
  });

  it('never retries a rejection or an open breaker', async () => {
    script = [{ status: 400 }];
    expect((await errorOf(embedder(2).embed(['one']))).code).toBe('UPSTREAM_REJECTED');
    expect(requests).toBe(1);

    let runs = 0;
    const open: BreakerRun = async () => {
      runs++;
      throw new ShieldError('UPSTREAM_UNAVAILABLE', 'ollama is unavailable (circuit open).', { retryAfterS: 30, cause: { code: 'EOPENBREAKER' } });
    };
    expect((await errorOf(embedder(2, open).embed(['one']))).retryAfterS).toBe(30);
    expect(runs).toBe(1);
  });

  it('understands Retry-After: a wait beyond the cap is not waited out, and the error says when to come back', async () => {
    script = [{ status: 429, headers: { 'retry-after': '3600' } }];
    const err = await errorOf(embedder(2).embed(['one']));
    expect(err.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(err.retryAfterS).toBe(3600);
    expect(requests).toBe(1);
  });

  it('ends promptly when cancelled during the back-off', async () => {
    // Ollama asks for 8 s (within the 10 s cap, so it would be waited out); the job is cancelled meanwhile.
    script = [{ status: 503, headers: { 'retry-after': '8' } }];
    const ac = new AbortController();
    const started = Date.now();
    const embedding = embedder(2).embed(['one'], ac.signal);
    const outcome = errorOf(embedding);
    while (requests < 1) await new Promise((r) => setTimeout(r, 5));
    ac.abort(new ShieldError('CANCELLED', 'Cancelled on request.'));
    const err = await outcome;
    expect(err.code).toBe('CANCELLED');
    expect(requests).toBe(1);
    // Loose on purpose (a loaded machine): the point is that the 8 s were not waited out.
    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it('reports a cancellation whose reason is not a ShieldError as CANCELLED', async () => {
    script = [{ status: 503, headers: { 'retry-after': '8' } }];
    const ac = new AbortController();
    const outcome = errorOf(embedder(2).embed(['one'], ac.signal));
    while (requests < 1) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    expect((await outcome).code).toBe('CANCELLED');
  });
});
