// Embeddings through Ollama's /api/embed: batched, behind the "ollama" breaker, retried (upstream/retry), dimension probed once.
import { lazyModule } from '../../lazy.js';

const undici = lazyModule<typeof import('undici')>('undici');
import { ShieldError, isShieldError } from '../../errors.js';
import { announcedDelayMs, withRetry, type RetryPolicy } from '../../upstream/retry.js';

/** Runs a call through a named breaker (services.breakers.run). */
export type BreakerRun = <T>(name: string, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal) => Promise<T>;

export interface Embedder {
  readonly model: string;
  /** The real vector size, probed by embedding one string (once per process). */
  dimension(signal?: AbortSignal): Promise<number>;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

export interface OllamaEmbedderOptions {
  url: string;
  model: string;
  batchSize: number;
  /** Retries of a failed embed call (knowledge.embedder.retries). */
  retries: number;
  breakers: BreakerRun;
  /** Longest wait Ollama may ask for (Retry-After) that is waited out in-job, in ms (default 10 s). */
  maxRetryAfterMs?: number;
}

/**
 * The embedder's back-off: `retries` from knowledge.embedder.retries, waits of 100 ms doubling
 * (no jitter: one batch at a time per job), an Ollama-announced wait honoured up to
 * `maxRetryAfterMs`.
 */
export function embedRetryPolicy(retries: number, maxRetryAfterMs = 10_000): RetryPolicy {
  // maxDelayMs is the fifth retry's wait, so the cap never bites within the config's 0..5 retries.
  return { maxAttempts: retries + 1, baseDelayMs: 100, multiplier: 2, maxDelayMs: 1_600, jitter: 0, maxRetryAfterMs };
}

/** Retry only an upstream that may recover: never a cancellation, a rejection or an open breaker. */
function classifyEmbedFailure(err: unknown): { retry: boolean; hintMs?: number | undefined } {
  const retry =
    isShieldError(err) &&
    (err.code === 'UPSTREAM_TIMEOUT' || err.code === 'UPSTREAM_RATE_LIMITED' || err.code === 'UPSTREAM_UNAVAILABLE') &&
    // An open breaker already says "not now": retrying it at once would only be refused again.
    (err.cause as { code?: string } | undefined)?.code !== 'EOPENBREAKER';
  return { retry, hintMs: announcedDelayMs(err) };
}

export class OllamaEmbedder implements Embedder {
  readonly model: string;
  private readonly opts: OllamaEmbedderOptions;
  private readonly policy: RetryPolicy;
  private probed: Promise<number> | undefined;

  constructor(options: OllamaEmbedderOptions) {
    this.opts = options;
    this.model = options.model;
    this.policy = embedRetryPolicy(options.retries, options.maxRetryAfterMs);
  }

  dimension(signal?: AbortSignal): Promise<number> {
    this.probed ??= this.embedBatch(['dimension probe'], signal).then((v) => v[0]!.length);
    this.probed.catch(() => (this.probed = undefined));
    return this.probed;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += this.opts.batchSize) {
      out.push(...(await this.embedBatch(texts.slice(i, i + this.opts.batchSize), signal)));
    }
    return out;
  }

  private async embedBatch(input: string[], signal?: AbortSignal): Promise<number[][]> {
    try {
      return await withRetry(() => this.opts.breakers('ollama', (sig) => this.requestBatch(input, sig), signal), {
        policy: this.policy,
        signal,
        classify: classifyEmbedFailure,
      });
    } catch (err) {
      // A cancelled back-off ends with the signal's reason; callers expect a ShieldError.
      if (signal?.aborted && !isShieldError(err)) throw new ShieldError('CANCELLED', 'Embedding with Ollama was cancelled.', { cause: err });
      throw err;
    }
  }

  /** One /api/embed request (run inside the breaker). */
  private async requestBatch(input: string[], sig: AbortSignal): Promise<number[][]> {
    let res;
    try {
      res = await undici().request(new URL('/api/embed', this.opts.url), {
        method: 'POST',
        signal: sig,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: this.model, input, truncate: true }),
      });
    } catch (err) {
      if (sig.aborted) throw err;
      throw new ShieldError('UPSTREAM_UNAVAILABLE', `Ollama at ${this.opts.url} is unreachable.`, { cause: err, retryAfterS: 10 });
    }
    const text = await res.body.text();
    let body: { embeddings?: number[][]; error?: string } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      /* a non-JSON answer is reported by status below */
    }
    if (res.statusCode === 404) {
      throw new ShieldError('UPSTREAM_REJECTED', `Ollama has no model "${this.model}": ${body.error ?? 'not found'}.`, {
        status: 404,
        hint: `Pull it on the Ollama host (ollama pull ${this.model}) or set knowledge.embedder.model to a pulled model.`,
      });
    }
    if (res.statusCode >= 400) {
      const code = res.statusCode === 429 ? 'UPSTREAM_RATE_LIMITED' : res.statusCode >= 500 ? 'UPSTREAM_UNAVAILABLE' : 'UPSTREAM_REJECTED';
      // The answer is kept as the cause: its Retry-After paces the next try (announcedDelayMs).
      const answer = { status: res.statusCode, headers: res.headers };
      const announced = announcedDelayMs(answer);
      throw new ShieldError(code, `Ollama answered ${res.statusCode}: ${body.error ?? text.slice(0, 200)}`, {
        status: res.statusCode,
        cause: answer,
        ...(announced !== undefined ? { retryAfterS: Math.max(1, Math.ceil(announced / 1000)) } : {}),
      });
    }
    const vectors = body.embeddings;
    if (!Array.isArray(vectors) || vectors.length !== input.length || vectors.some((v) => !Array.isArray(v) || v.length === 0)) {
      throw new ShieldError('UPSTREAM_REJECTED', `Ollama returned ${Array.isArray(vectors) ? vectors.length : 'no'} embeddings for ${input.length} inputs.`);
    }
    const dim = vectors[0]!.length;
    if (vectors.some((v) => v.length !== dim)) throw new ShieldError('UPSTREAM_REJECTED', 'Ollama returned embeddings of different sizes in one batch.');
    return vectors;
  }
}
