// A faithful local double of Ollama's embedding API: deterministic hashed bag-of-words vectors.
import { createHash } from 'node:crypto';
import { listen, readBody, sendJson, type LocalServer } from '../knowledge-http.js';

export interface OllamaFakeOptions {
  /** Models that are "pulled", with their dimension. */
  models?: Record<string, number>;
}

export interface OllamaFake extends LocalServer {
  /** Number of /api/embed requests and texts embedded so far. */
  stats: { requests: number; texts: number };
}

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

export async function startOllamaFake(options: OllamaFakeOptions = {}): Promise<OllamaFake> {
  const models = options.models ?? { 'nomic-embed-text': 64 };
  const stats = { requests: 0, texts: 0 };
  const dimOf = (model: unknown): number | undefined => {
    if (typeof model !== 'string') return undefined;
    return models[model] ?? models[model.replace(/:latest$/, '')];
  };
  const srv = await listen(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/api/tags') {
      return sendJson(res, 200, { models: Object.keys(models).map((name) => ({ name: `${name}:latest`, model: `${name}:latest` })) });
    }
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end('Ollama is running');
    }
    if (req.method !== 'POST' || (path !== '/api/embed' && path !== '/api/embeddings')) return sendJson(res, 404, { error: '404 page not found' });
    let body: { model?: unknown; input?: unknown; prompt?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch {
      return sendJson(res, 400, { error: 'invalid JSON body' });
    }
    const dim = dimOf(body.model);
    if (!dim) return sendJson(res, 404, { error: `model "${String(body.model)}" not found, try pulling it first` });
    if (path === '/api/embeddings') {
      if (typeof body.prompt !== 'string') return sendJson(res, 400, { error: 'prompt is required' });
      return sendJson(res, 200, { embedding: hashedEmbedding(body.prompt, dim) });
    }
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    if (!Array.isArray(input) || input.some((t) => typeof t !== 'string')) return sendJson(res, 400, { error: 'input must be a string or an array of strings' });
    stats.requests++;
    stats.texts += input.length;
    return sendJson(res, 200, {
      model: body.model,
      embeddings: (input as string[]).map((t) => hashedEmbedding(t, dim)),
      total_duration: 1000,
      load_duration: 100,
      prompt_eval_count: input.length,
    });
  });
  return { url: srv.url, port: srv.port, close: srv.close, stats };
}
