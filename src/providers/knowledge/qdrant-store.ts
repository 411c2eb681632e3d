// The Qdrant backend: collection on demand with the probed dimension, payload indexes, batched upserts with wait.
import type { QdrantClient } from '@qdrant/js-client-rest';
import { lazyModule } from '../../lazy.js';

const qdrant = lazyModule<typeof import('@qdrant/js-client-rest')>('@qdrant/js-client-rest');
import { ShieldError, isShieldError } from '../../errors.js';
import { announcedDelayMs } from '../../upstream/retry.js';
import type { BreakerRun } from './embedder.js';
import type { ChunkPayload, EmbeddingSpec, KnowledgeStore, SearchHit, SearchQuery, StoredChunk } from './store.js';

export interface QdrantStoreOptions {
  url: string;
  apiKey?: string;
  upsertBatch: number;
  timeoutMs: number;
  breakers: BreakerRun;
}

/** Named vector per model, as the official Qdrant MCP server does ("fast-<model>"). */
export function vectorName(model: string): string {
  return `fast-${model.toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}`;
}

/**
 * Client errors -> ShieldError with a code and status. ApiError carries .status; the client's typed
 * 429 (QdrantClientResourceExhaustedError, thrown when Qdrant sent Retry-After) carries only
 * retry_after; fetch failures carry neither.
 */
function translate(err: unknown, what: string): unknown {
  if (isShieldError(err)) return err;
  const e = err as { status?: number; retry_after?: unknown; data?: { status?: { error?: string } }; message?: string };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.retry_after === 'number' ? 429 : undefined;
  const detail = e?.data?.status?.error ?? e?.message ?? String(err);
  if (status === undefined) return new ShieldError('UPSTREAM_UNAVAILABLE', `Qdrant is unreachable (${what}).`, { cause: err, retryAfterS: 10 });
  if (status === 404) return new ShieldError('NOT_FOUND', `Qdrant: ${detail}`, { status, cause: err });
  const announced = announcedDelayMs(err);
  const retryAfterS = (fallback: number): number => (announced !== undefined ? Math.max(1, Math.ceil(announced / 1000)) : fallback);
  if (status === 429) return new ShieldError('UPSTREAM_RATE_LIMITED', `Qdrant is rate limiting (${what}).`, { status, cause: err, retryAfterS: retryAfterS(5) });
  if (status >= 500) return new ShieldError('UPSTREAM_UNAVAILABLE', `Qdrant answered ${status} (${what}): ${detail}`, { status, cause: err, retryAfterS: retryAfterS(10) });
  return new ShieldError('UPSTREAM_REJECTED', `Qdrant refused ${what} (${status}): ${detail}`, { status, cause: err });
}

export class QdrantStore implements KnowledgeStore {
  readonly backend = 'qdrant' as const;
  private readonly client: QdrantClient;
  private readonly opts: QdrantStoreOptions;
  /** Collections checked in this process, with the vector name in use. */
  private readonly ready = new Map<string, string>();

  constructor(options: QdrantStoreOptions) {
    this.opts = options;
    // No version probe in the constructor: nothing is contacted until a crawl or search needs it.
    this.client = new (qdrant().QdrantClient)({ url: options.url, ...(options.apiKey ? { apiKey: options.apiKey } : {}), checkCompatibility: false, timeout: options.timeoutMs });
  }

  scoring(): 'cosine' {
    return 'cosine';
  }

  private call<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.opts.breakers(
      'qdrant',
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw translate(err, what);
        }
      },
      signal,
    );
  }

  /** GET / : the server's version (a cheap reachability check). */
  async version(signal?: AbortSignal): Promise<string> {
    const v = await this.call('version', () => this.client.versionInfo(), signal);
    return v.version;
  }

  async ensureCollection(name: string, embedding: EmbeddingSpec | null, signal?: AbortSignal): Promise<void> {
    if (!embedding) throw new ShieldError('INVALID_INPUT', 'The Qdrant store needs an embedder (knowledge.embedder.provider = "ollama").');
    const vname = vectorName(embedding.model);
    if (this.ready.get(name) === `${vname}/${embedding.dimension}`) return;
    const { exists } = await this.call('collection exists', () => this.client.collectionExists(name), signal);
    if (!exists) {
      await this.call('create collection', () => this.client.createCollection(name, { vectors: { [vname]: { size: embedding.dimension, distance: 'Cosine' } } }), signal);
      for (const field of ['metadata.url', 'metadata.source']) {
        await this.call('create payload index', () => this.client.createPayloadIndex(name, { field_name: field, field_schema: 'keyword', wait: true }), signal);
      }
    } else {
      const info = await this.call('get collection', () => this.client.getCollection(name), signal);
      const vectors = info.config?.params?.vectors as Record<string, unknown> | undefined;
      const named = vectors && typeof (vectors as { size?: unknown }).size !== 'number' ? (vectors as Record<string, { size?: number }>) : undefined;
      const mine = named?.[vname];
      if (!mine) {
        const have = named ? Object.keys(named).join(', ') : `an unnamed vector of size ${String((vectors as { size?: unknown } | undefined)?.size)}`;
        throw new ShieldError('CONFLICT', `Qdrant collection "${name}" has no vector "${vname}" for model ${embedding.model} (it has ${have}).`, {
          hint: 'Use another collection name, or configure the embedding model the collection was built with.',
          details: { collection: name, expected_vector: vname, found: have },
        });
      }
      if (mine.size !== embedding.dimension) {
        throw new ShieldError('CONFLICT', `Qdrant collection "${name}" stores ${mine.size}-dimensional "${vname}" vectors; ${embedding.model} produces ${embedding.dimension}.`, {
          hint: 'Use another collection name; a collection cannot change its vector size.',
          details: { collection: name, recorded: mine.size, probed: embedding.dimension },
        });
      }
    }
    this.ready.set(name, `${vname}/${embedding.dimension}`);
  }

  private vname(collection: string): string {
    const v = this.ready.get(collection);
    if (!v) throw new Error(`collection ${collection} used before ensureCollection`);
    return v.slice(0, v.lastIndexOf('/'));
  }

  async hashesForUrl(collection: string, url: string, signal?: AbortSignal): Promise<Set<string>> {
    const hashes = new Set<string>();
    let offset: string | number | undefined;
    // Bounded: a page has at most a few hundred chunks.
    for (let page = 0; page < 50; page++) {
      const res = await this.call(
        'scroll',
        () =>
          this.client.scroll(collection, {
            filter: { must: [{ key: 'metadata.url', match: { value: url } }] },
            with_payload: true,
            with_vector: false,
            limit: 256,
            ...(offset !== undefined ? { offset } : {}),
          }),
        signal,
      );
      for (const p of res.points) {
        const h = (p.payload as unknown as ChunkPayload | undefined)?.metadata?.content_hash;
        if (h) hashes.add(h);
      }
      const next = res.next_page_offset;
      if (next === undefined || next === null || typeof next === 'object') break;
      offset = next;
    }
    return hashes;
  }

  async upsert(collection: string, chunks: StoredChunk[], signal?: AbortSignal): Promise<void> {
    const vname = this.vname(collection);
    for (let i = 0; i < chunks.length; i += this.opts.upsertBatch) {
      const batch = chunks.slice(i, i + this.opts.upsertBatch);
      const points = batch.map((c) => {
        if (!c.vector) throw new Error('Qdrant points need a vector');
        return { id: c.id, vector: { [vname]: c.vector }, payload: c.payload as unknown as Record<string, unknown> };
      });
      await this.call('upsert', () => this.client.upsert(collection, { wait: true, points }), signal);
    }
  }

  async deleteChunks(collection: string, url: string, hashes: string[], signal?: AbortSignal): Promise<void> {
    if (hashes.length === 0) return;
    await this.call(
      'delete',
      () =>
        this.client.delete(collection, {
          wait: true,
          filter: { must: [{ key: 'metadata.url', match: { value: url } }, { key: 'metadata.content_hash', match: { any: hashes } }] },
        }),
      signal,
    );
  }

  async search(q: SearchQuery, signal?: AbortSignal): Promise<SearchHit[]> {
    if (!q.vector) throw new ShieldError('INVALID_INPUT', 'A Qdrant search needs the query embedding.');
    if (!q.model) throw new ShieldError('INVALID_INPUT', 'A Qdrant search needs the embedding model name.');
    const using = vectorName(q.model);
    const must: Array<Record<string, unknown>> = [];
    if (q.source !== undefined) must.push({ key: 'metadata.source', match: { value: q.source } });
    // Qdrant has no prefix match on keywords: over-fetch and keep the URLs that start with the prefix.
    const fetchLimit = q.urlPrefix !== undefined ? Math.min(q.limit * 10, 200) : q.limit;
    const res = await this.call(
      'query',
      () =>
        this.client.query(q.collection, {
          query: q.vector!,
          using,
          limit: fetchLimit,
          with_payload: true,
          ...(must.length ? { filter: { must } } : {}),
          ...(q.scoreThreshold !== undefined ? { score_threshold: q.scoreThreshold } : {}),
        } as Parameters<QdrantClient['query']>[1]),
      signal,
    );
    return res.points
      .map((p) => ({ payload: p.payload as unknown as ChunkPayload, score: p.score }))
      .filter((h) => h.payload?.metadata && (q.urlPrefix === undefined || h.payload.metadata.url.startsWith(q.urlPrefix)))
      .slice(0, q.limit);
  }
}
