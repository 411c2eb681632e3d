// A faithful local double of Ollama's embedding API: deterministic hashed bag-of-words vectors.
import { createHash } from 'node:crypto';
import { INVALID_JSON, LoopbackServer, type LoggedRequest, type Reply } from '../loopback.js';

export interface OllamaFakeOptions {
  /** Models that are "pulled", with their dimension. */
  models?: Record<string, number>;
}

/** Fault targets: embedding calls (/api/embed and the legacy /api/embeddings) and the model list. */
export type OllamaTarget = 'embed' | 'tags';

/** Hashed bag of words (with a light suffix strip), L2-normalised: similar texts get similar vectors. */
export function hashedEmbedding(text: string, dim: number): number[] {
  const v = new Array<number>(dim).fill(0);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const raw of words) {
    const w = raw.length > 4 ? raw.replace(/(ing|ed|es|s)$/, '') : raw;
    const h = createHash('md5').update(w).digest();
    const i = h.readUInt32LE(0) % dim;
    v[i]! += h[4]! & 1 ? 1 : -1;
  }
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / n);
}

const error = (status: number, message: string): Reply => ({ status, body: { error: message } });

export class OllamaFake extends LoopbackServer<OllamaTarget> {
  /** Number of /api/embed requests and texts embedded so far. */
  readonly stats = { requests: 0, texts: 0 };
  private readonly models: Record<string, number>;

  constructor(options: OllamaFakeOptions = {}) {
    // The npm client parses an error message only from a JSON answer: every error here is JSON.
    super({ alwaysJson: true });
    this.models = options.models ?? { 'nomic-embed-text': 64 };
  }

  protected override errorReply(status: number, message?: string): Reply {
    return error(status, message ?? (status === 503 ? 'server busy, please try again.  maximum pending requests exceeded' : `HTTP ${status}`));
  }

  protected override targetOf(req: LoggedRequest, url: URL): OllamaTarget | undefined {
    if (url.pathname === '/api/embed' || url.pathname === '/api/embeddings') return 'embed';
    return url.pathname === '/api/tags' ? 'tags' : undefined;
  }

  private dimOf(model: unknown): number | undefined {
    if (typeof model !== 'string') return undefined;
    return this.models[model] ?? this.models[model.replace(/:latest$/, '')];
  }

  protected override handle(req: LoggedRequest, url: URL): Reply {
    const path = url.pathname;
    if (req.method === 'GET' && path === '/api/tags') {
      return { status: 200, body: { models: Object.keys(this.models).map((name) => ({ name: `${name}:latest`, model: `${name}:latest` })) } };
    }
    if (req.method === 'GET' && path === '/') return { status: 200, headers: { 'content-type': 'text/plain' }, text: 'Ollama is running' };
    if (req.method !== 'POST' || (path !== '/api/embed' && path !== '/api/embeddings')) return error(404, '404 page not found');
    if (!req.raw || req.body === INVALID_JSON) return error(400, 'invalid JSON body');
    const body = req.body as { model?: unknown; input?: unknown; prompt?: unknown };
    const dim = this.dimOf(body.model);
    if (!dim) return error(404, `model "${String(body.model)}" not found, try pulling it first`);
    if (path === '/api/embeddings') {
      if (typeof body.prompt !== 'string') return error(400, 'prompt is required');
      return { status: 200, body: { embedding: hashedEmbedding(body.prompt, dim) } };
    }
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    if (!Array.isArray(input) || input.some((t) => typeof t !== 'string')) return error(400, 'input must be a string or an array of strings');
    this.stats.requests++;
    this.stats.texts += input.length;
    return {
      status: 200,
      body: { model: body.model, embeddings: (input as string[]).map((t) => hashedEmbedding(t, dim)), total_duration: 1000, load_duration: 100, prompt_eval_count: input.length },
    };
  }
}

export async function startOllamaFake(options: OllamaFakeOptions = {}): Promise<OllamaFake> {
  const fake = new OllamaFake(options);
  await fake.start();
  return fake;
}
