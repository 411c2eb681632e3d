// Embeddings through Ollama's /api/embed: batched, behind the "ollama" breaker, retried, dimension probed once.
import { lazyModule } from '../../lazy.js';

const undici = lazyModule<typeof import('undici')>('undici');
import { ShieldError, isShieldError } from '../../errors.js';

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
  retries: number;
  breakers: BreakerRun;
}

/** Retry retryable failures with a short exponential back-off; never retries a cancellation or a rejection. */
export async function withRetry<T>(fn: () => Promise<T>, retries: number, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      // An open breaker already says "not now": retrying it at once would only be refused again.
      const retryable =
        isShieldError(err) &&
        (err.code === 'UPSTREAM_TIMEOUT' || err.code === 'UPSTREAM_RATE_LIMITED' || err.code === 'UPSTREAM_UNAVAILABLE') &&
        (err.cause as { code?: string } | undefined)?.code !== 'EOPENBREAKER';
      if (attempt >= retries || !retryable || signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
}

export class OllamaEmbedder implements Embedder {
  readonly model: string;
  private readonly opts: OllamaEmbedderOptions;
  private probed: Promise<number> | undefined;

  constructor(options: OllamaEmbedderOptions) {
    this.opts = options;
    this.model = options.model;
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

  private embedBatch(input: string[], signal?: AbortSignal): Promise<number[][]> {
    const url = new URL('/api/embed', this.opts.url);
    return withRetry(
      () =>
        this.opts.breakers(
          'ollama',
          async (sig) => {
            let res;
            try {
              res = await undici().request(url, {
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
              throw new ShieldError(code, `Ollama answered ${res.statusCode}: ${body.error ?? text.slice(0, 200)}`, { status: res.statusCode });
            }
            const vectors = body.embeddings;
            if (!Array.isArray(vectors) || vectors.length !== input.length || vectors.some((v) => !Array.isArray(v) || v.length === 0)) {
              throw new ShieldError('UPSTREAM_REJECTED', `Ollama returned ${Array.isArray(vectors) ? vectors.length : 'no'} embeddings for ${input.length} inputs.`);
            }
            const dim = vectors[0]!.length;
            if (vectors.some((v) => v.length !== dim)) throw new ShieldError('UPSTREAM_REJECTED', 'Ollama returned embeddings of different sizes in one batch.');
            return vectors;
          },
          signal,
        ),
      this.opts.retries,
      signal,
    );
  }
}
