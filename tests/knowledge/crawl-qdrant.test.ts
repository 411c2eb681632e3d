// crawl_web -> qdrant_find through the MCP client with the Qdrant and Ollama doubles (OpenAPI-validated),
// and the embedded index with Ollama vectors fused with BM25.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { startOllamaFake, type OllamaFake } from '../fakes/ollama/ollama-fake.js';
import { startQdrantFake, type QdrantFake } from '../fakes/qdrant/qdrant-fake.js';
import { startSite, type LocalSite } from '../fakes/site/site.js';
import { connectClient, errorOf, makeApp, structured } from '../helpers/app.js';
import { sitePagesWithoutSlow } from './site-pages.js';

const OPENAPI = resolve(process.cwd(), '..', 'shared', 'reference', 'specs', 'qdrant-openapi.json');
const hasSpec = existsSync(OPENAPI);
if (!hasSpec) process.stderr.write(`[knowledge] ${OPENAPI} not found: the Qdrant double runs WITHOUT OpenAPI request validation\n`);

interface Handle {
  job: { status: string };
  result?: { pages: { indexed: number }; chunks: { indexed: number; unchanged: number }; embedding: { model: string; dimension: number } | null; backend: string };
}
interface Found {
  results: Array<{ text: string; url: string; heading: string; score: number }>;
  scoring: string;
  backend: string;
}

describe('with Qdrant and Ollama doubles', () => {
  let site: LocalSite;
  let qdrant: QdrantFake;
  let ollama: OllamaFake;
  let app: App;
  let client: Client;
  const layer = (over: Record<string, unknown> = {}) => ({
    jobs: { tools: { crawl_web: { inline_budget_ms: 25_000 } } },
    knowledge: {
      store: 'qdrant',
      qdrant: { url: qdrant.url, api_key_env: 'QDRANT_KEY', upsert_batch: 16 },
      embedder: { provider: 'ollama', url: ollama.url, model: 'nomic-embed-text', batch_size: 8 },
      crawler: { allow_private_origins: [site.url], min_delay_ms: 0 },
      ...over,
    },
  });

  beforeAll(async () => {
    site = await startSite(sitePagesWithoutSlow(12));
    qdrant = await startQdrantFake({ openapiPath: OPENAPI, apiKey: 'k-123' });
    ollama = await startOllamaFake({ models: { 'nomic-embed-text': 64, 'all-minilm': 32 } });
    app = await makeApp({ overrides: [layer()], env: { QDRANT_KEY: 'k-123' } });
    client = await connectClient(app);
  });
  afterAll(async () => {
    await client?.close();
    await app?.close();
    await Promise.all([site?.close(), qdrant?.close(), ollama?.close()]);
  });

  it('validates requests against the OpenAPI file when ../shared is present', () => {
    if (!hasSpec) {
      process.stderr.write('[knowledge] skipped: OpenAPI validation (spec file absent)\n');
      return;
    }
    expect(qdrant.validating).toBe(true);
  });

  it('crawls into Qdrant: collection on demand with the probed dimension, payload indexes, batched upserts', async () => {
    const res = structured<Handle>(await client.callTool({ name: 'crawl_web', arguments: { urls: [`${site.url}/`], max_pages: 40, collection: 'runbooks', source: 'handbook' } }, undefined, { timeout: 30_000 }));
    expect(res.job.status).toBe('succeeded');
    expect(res.result!.backend).toBe('qdrant');
    expect(res.result!.embedding).toEqual({ model: 'nomic-embed-text', dimension: 64 });
    const col = qdrant.collections.get('runbooks')!;
    expect(col.vectors).toEqual({ 'fast-nomic-embed-text': { size: 64, distance: 'Cosine' } });
    expect(Object.keys(col.indexes).sort()).toEqual(['metadata.source', 'metadata.url']);
    expect(col.points.size).toBe(res.result!.chunks.indexed);
    const p = [...col.points.values()][0]!.payload as { document: string; metadata: Record<string, unknown> };
    expect(typeof p.document).toBe('string');
    expect(Object.keys(p.metadata).sort()).toEqual(['content_hash', 'crawled_at', 'heading', 'source', 'title', 'url']);
    expect(qdrant.log.filter((l) => l.status === 422)).toEqual([]);
    expect(qdrant.log.some((l) => l.method === 'PUT' && /\/points$/.test(l.path))).toBe(true);
    expect(ollama.stats.requests).toBeGreaterThan(1);
  });

  it('finds by meaning with cosine scores, filters by source and URL prefix', async () => {
    const found = structured<Found>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'shadow server catches up after network outage replaying journal', collection: 'runbooks' } }));
    expect(found.backend).toBe('qdrant');
    expect(found.scoring).toBe('cosine');
    expect(found.results[0]!.url).toBe(`${site.url}/guide.md`);
    expect(found.results[0]!.score).toBeGreaterThan(0.3);
    const filtered = structured<Found>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'journal', collection: 'runbooks', url_prefix: `${site.url}/docs/`, source: 'handbook', limit: 3 } }));
    expect(filtered.results).toHaveLength(3);
    expect(filtered.results.every((r) => r.url.startsWith(`${site.url}/docs/`))).toBe(true);
    expect(qdrant.log.filter((l) => l.status === 422)).toEqual([]);
  });

  it('re-crawl leaves unchanged chunks alone', async () => {
    const before = ollama.stats.texts;
    const res = structured<Handle>(await client.callTool({ name: 'crawl_web', arguments: { urls: [`${site.url}/`], max_pages: 40, collection: 'runbooks', source: 'handbook' } }, undefined, { timeout: 30_000 }));
    expect(res.result!.chunks.indexed).toBe(0);
    expect(res.result!.chunks.unchanged).toBeGreaterThan(10);
    // Nothing new to embed, and the dimension probe is done once per process.
    expect(ollama.stats.texts - before).toBe(0);
  });

  it('a model with another dimension is a clear CONFLICT, not a crash', async () => {
    const other = await makeApp({ overrides: [layer({ embedder: { provider: 'ollama', url: ollama.url, model: 'all-minilm' } })], env: { QDRANT_KEY: 'k-123' } });
    const c = await connectClient(other);
    try {
      const err = errorOf(await c.callTool({ name: 'crawl_web', arguments: { urls: [`${site.url}/`], collection: 'runbooks' } }));
      expect(err.code).toBe('CONFLICT');
      expect(err.message).toContain('all-minilm');
    } finally {
      await c.close();
      await other.close();
    }
  });

  it('a model Ollama has not pulled is UPSTREAM_REJECTED with a hint', async () => {
    const other = await makeApp({ overrides: [layer({ embedder: { provider: 'ollama', url: ollama.url, model: 'not-pulled' } })], env: { QDRANT_KEY: 'k-123' } });
    const c = await connectClient(other);
    try {
      const err = errorOf(await c.callTool({ name: 'crawl_web', arguments: { urls: [`${site.url}/`], collection: 'x' } }));
      expect(err.code).toBe('UPSTREAM_REJECTED');
      expect(err.hint).toContain('ollama pull not-pulled');
    } finally {
      await c.close();
      await other.close();
    }
  });
});

describe('embedded index with Ollama vectors (hybrid BM25 + cosine by RRF)', () => {
  it('crawls, fuses and refuses a mismatched model', async () => {
    const site = await startSite(sitePagesWithoutSlow(8));
    const ollama = await startOllamaFake({ models: { 'nomic-embed-text': 48, 'all-minilm': 24 } });
    const cfg = (model: string) => ({
      jobs: { tools: { crawl_web: { inline_budget_ms: 25_000 } } },
      knowledge: { embedder: { provider: 'ollama', url: ollama.url, model }, crawler: { allow_private_origins: [site.url], min_delay_ms: 0 } },
    });
    const app = await makeApp({ overrides: [cfg('nomic-embed-text')] });
    const client = await connectClient(app);
    try {
      const res = structured<Handle>(await client.callTool({ name: 'crawl_web', arguments: { urls: [`${site.url}/`], max_pages: 30 } }, undefined, { timeout: 30_000 }));
      expect(res.result!.backend).toBe('embedded');
      expect(res.result!.embedding).toEqual({ model: 'nomic-embed-text', dimension: 48 });
      const found = structured<Found>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'rotate audit log Monday' } }));
      expect(found.scoring).toBe('rrf');
      expect(found.results[0]!.url).toBe(`${site.url}/notes.txt`);
      expect(found.results[0]!.score).toBeGreaterThan(1 / 62);
      // Same database, another model: the recorded model/dimension refuses it.
      const db = app.services.db;
      const { KnowledgeService } = await import('../../src/providers/knowledge/service.js');
      const svc = new KnowledgeService({ config: { ...app.services.config, knowledge: { ...app.services.config.knowledge, embedder: { ...app.services.config.knowledge.embedder, model: 'all-minilm' } } }, env: {}, db, logger: app.services.logger, metrics: app.services.metrics, breakers: (n, fn, s) => app.services.breakers.run(n, fn, s) });
      const err = await svc.crawl({ startUrls: [`${site.url}/`], allowedDomains: ['127.0.0.1'], maxPages: 2, maxDepth: 1, include: [], exclude: [], collection: 'knowledge', source: 's' }, new AbortController().signal, () => undefined).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('CONFLICT');
      await svc.close();
    } finally {
      await client.close();
      await app.close();
      await site.close();
      await ollama.close();
    }
  });
});
