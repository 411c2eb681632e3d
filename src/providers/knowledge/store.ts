// The search store interface both backends implement (embedded SQLite and Qdrant), and shared helpers.
import { createHash } from 'node:crypto';

/** The payload shape the official Qdrant MCP server reads: collections can be shared with it. */
export interface ChunkPayload {
  document: string;
  metadata: {
    url: string;
    title: string;
    heading: string;
    crawled_at: string;
    content_hash: string;
    source: string;
  };
}

export interface StoredChunk {
  id: string;
  payload: ChunkPayload;
  vector?: number[];
}

export interface EmbeddingSpec {
  model: string;
  dimension: number;
}

export interface SearchQuery {
  collection: string;
  text: string;
  /** The query's embedding, when an embedder is configured, and the model that made it. */
  vector?: number[];
  model?: string;
  limit: number;
  source?: string;
  urlPrefix?: string;
  scoreThreshold?: number;
}

export interface SearchHit {
  payload: ChunkPayload;
  score: number;
}

export interface KnowledgeStore {
  readonly backend: 'embedded' | 'qdrant';
  /** How scores are computed: bm25 (lexical), rrf (BM25 fused with cosine) or cosine. */
  readonly scoring: (embedding: EmbeddingSpec | null) => 'bm25' | 'rrf' | 'cosine';
  /** Create on demand; a collection made with another model or dimension is a CONFLICT. */
  ensureCollection(name: string, embedding: EmbeddingSpec | null, signal?: AbortSignal): Promise<void>;
  /** Content hashes already stored for one URL (a re-crawl skips these). */
  hashesForUrl(collection: string, url: string, signal?: AbortSignal): Promise<Set<string>>;
  upsert(collection: string, chunks: StoredChunk[], signal?: AbortSignal): Promise<void>;
  deleteChunks(collection: string, url: string, hashes: string[], signal?: AbortSignal): Promise<void>;
  search(query: SearchQuery, signal?: AbortSignal): Promise<SearchHit[]>;
  close?(): Promise<void>;
}

/** Deterministic point id (a UUID Qdrant accepts) from collection, URL and content hash. */
export function chunkId(collection: string, url: string, hash: string): string {
  const h = createHash('sha256').update(collection).update('\u0000').update(url).update('\u0000').update(hash).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Reciprocal rank fusion (k = 60): each list contributes 1 / (k + rank), ranks from 1. */
export function reciprocalRankFusion<T>(lists: ReadonlyArray<ReadonlyArray<T>>, key: (item: T) => string, k = 60): Array<{ item: T; score: number }> {
  const acc = new Map<string, { item: T; score: number }>();
  for (const list of lists) {
    list.forEach((item, i) => {
      const id = key(item);
      const e = acc.get(id) ?? { item, score: 0 };
      e.score += 1 / (k + i + 1);
      acc.set(id, e);
    });
  }
  return [...acc.values()].sort((a, b) => b.score - a.score);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
