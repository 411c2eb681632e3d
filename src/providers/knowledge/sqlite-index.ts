// The embedded index in the SQLite store: FTS5/BM25, plus cosine over stored vectors fused by RRF.
import { ShieldError } from '../../errors.js';
import type { Db } from '../../store/sqlite.js';
import { reciprocalRankFusion, type ChunkPayload, type EmbeddingSpec, type KnowledgeStore, type SearchHit, type SearchQuery, type StoredChunk } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS knowledge_collections (
  name TEXT PRIMARY KEY,
  model TEXT,
  dimension INTEGER,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS knowledge_chunks (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  collection TEXT NOT NULL,
  url TEXT NOT NULL,
  source TEXT NOT NULL,
  title TEXT NOT NULL,
  heading TEXT NOT NULL,
  crawled_at TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  document TEXT NOT NULL,
  vector BLOB
);
CREATE INDEX IF NOT EXISTS knowledge_chunks_url ON knowledge_chunks (collection, url);
CREATE INDEX IF NOT EXISTS knowledge_chunks_source ON knowledge_chunks (collection, source);
CREATE VIRTUAL TABLE IF NOT EXISTS knowledge_fts USING fts5 (document, title, heading, tokenize = 'porter unicode61');
`;

interface Row {
  rid: number;
  id: string;
  url: string;
  source: string;
  title: string;
  heading: string;
  crawled_at: string;
  content_hash: string;
  document: string;
}

interface VectorCache {
  version: number;
  rids: number[];
  urls: string[];
  sources: string[];
  matrix: Float32Array;
  dim: number;
}

/** FTS5 query from free text: every word quoted (no operator injection), any word may match. */
export function ftsQuery(text: string): string | undefined {
  const words = text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
  const unique = [...new Set(words)].slice(0, 32);
  return unique.length ? unique.map((w) => `"${w}"`).join(' OR ') : undefined;
}

const likePrefix = (p: string): string => `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export class SqliteKnowledgeIndex implements KnowledgeStore {
  readonly backend = 'embedded' as const;
  private readonly db: Db;
  private readonly versions = new Map<string, number>();
  private readonly vectorCache = new Map<string, VectorCache>();

  constructor(db: Db) {
    this.db = db;
    db.exec(SCHEMA);
  }

  scoring(embedding: EmbeddingSpec | null): 'bm25' | 'rrf' {
    return embedding ? 'rrf' : 'bm25';
  }

  collection(name: string): { model: string | null; dimension: number | null } | undefined {
    return this.db.prepare('SELECT model, dimension FROM knowledge_collections WHERE name = ?').get(name) as { model: string | null; dimension: number | null } | undefined;
  }

  async ensureCollection(name: string, embedding: EmbeddingSpec | null): Promise<void> {
    const existing = this.collection(name);
    if (!existing) {
      this.db.prepare('INSERT INTO knowledge_collections (name, model, dimension, created_at) VALUES (?, ?, ?, ?)').run(name, embedding?.model ?? null, embedding?.dimension ?? null, new Date().toISOString());
      return;
    }
    const same = (existing.model ?? null) === (embedding?.model ?? null) && (existing.dimension ?? null) === (embedding?.dimension ?? null);
    if (same) return;
    const count = (this.db.prepare('SELECT count(*) AS n FROM knowledge_chunks WHERE collection = ?').get(name) as { n: number }).n;
    if (count === 0) {
      this.db.prepare('UPDATE knowledge_collections SET model = ?, dimension = ? WHERE name = ?').run(embedding?.model ?? null, embedding?.dimension ?? null, name);
      return;
    }
    const was = existing.model ? `model ${existing.model} (dimension ${existing.dimension})` : 'no embedding model (lexical only)';
    const now = embedding ? `model ${embedding.model} (dimension ${embedding.dimension})` : 'no embedding model';
    throw new ShieldError('CONFLICT', `Collection "${name}" was indexed with ${was}; the configured embedder is ${now}.`, {
      hint: 'Use another collection name, or configure the embedder the collection was built with.',
      details: { collection: name, recorded: existing, configured: embedding },
    });
  }

  async hashesForUrl(collection: string, url: string): Promise<Set<string>> {
    const rows = this.db.prepare('SELECT content_hash FROM knowledge_chunks WHERE collection = ? AND url = ?').all(collection, url) as Array<{ content_hash: string }>;
    return new Set(rows.map((r) => r.content_hash));
  }

  async upsert(collection: string, chunks: StoredChunk[]): Promise<void> {
    const del = this.db.prepare('SELECT rid FROM knowledge_chunks WHERE id = ?');
    const delChunk = this.db.prepare('DELETE FROM knowledge_chunks WHERE rid = ?');
    const delFts = this.db.prepare('DELETE FROM knowledge_fts WHERE rowid = ?');
    const ins = this.db.prepare(
      `INSERT INTO knowledge_chunks (id, collection, url, source, title, heading, crawled_at, content_hash, document, vector)
       VALUES (@id, @collection, @url, @source, @title, @heading, @crawled_at, @content_hash, @document, @vector)`,
    );
    const insFts = this.db.prepare('INSERT INTO knowledge_fts (rowid, document, title, heading) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const c of chunks) {
        const old = del.get(c.id) as { rid: number } | undefined;
        if (old) {
          delChunk.run(old.rid);
          delFts.run(old.rid);
        }
        const m = c.payload.metadata;
        const info = ins.run({
          id: c.id,
          collection,
          url: m.url,
          source: m.source,
          title: m.title,
          heading: m.heading,
          crawled_at: m.crawled_at,
          content_hash: m.content_hash,
          document: c.payload.document,
          vector: c.vector ? Buffer.from(new Float32Array(c.vector).buffer) : null,
        });
        insFts.run(info.lastInsertRowid, c.payload.document, m.title, m.heading);
      }
    })();
    this.bump(collection);
  }

  async deleteChunks(collection: string, url: string, hashes: string[]): Promise<void> {
    if (hashes.length === 0) return;
    const sel = this.db.prepare('SELECT rid FROM knowledge_chunks WHERE collection = ? AND url = ? AND content_hash = ?');
    const delChunk = this.db.prepare('DELETE FROM knowledge_chunks WHERE rid = ?');
    const delFts = this.db.prepare('DELETE FROM knowledge_fts WHERE rowid = ?');
    this.db.transaction(() => {
      for (const h of hashes) {
        for (const r of sel.all(collection, url, h) as Array<{ rid: number }>) {
          delChunk.run(r.rid);
          delFts.run(r.rid);
        }
      }
    })();
    this.bump(collection);
  }

  private bump(collection: string): void {
    this.versions.set(collection, (this.versions.get(collection) ?? 0) + 1);
  }

  async search(q: SearchQuery): Promise<SearchHit[]> {
    const info = this.collection(q.collection);
    if (!info) throw new ShieldError('NOT_FOUND', `No collection "${q.collection}" in the embedded index.`, { hint: 'Crawl into it first with crawl_web, or check the collection name.' });
    const candidates = Math.max(q.limit * 4, 50);
    const lexical = this.lexical(q, candidates);
    if (!q.vector || !info.model) {
      return lexical.map((h) => ({ payload: toPayload(h.row), score: h.score })).filter((h) => q.scoreThreshold === undefined || h.score >= q.scoreThreshold).slice(0, q.limit);
    }
    if (q.vector.length !== info.dimension) {
      throw new ShieldError('CONFLICT', `Collection "${q.collection}" holds ${info.dimension}-dimensional vectors (${info.model}); the query vector has ${q.vector.length}.`, {
        hint: 'Configure the embedder the collection was built with, or search another collection.',
      });
    }
    const dense = this.dense(q, candidates);
    const fused = reciprocalRankFusion<number>([lexical.map((h) => h.row.rid), dense], String);
    const top = fused.filter((f) => q.scoreThreshold === undefined || f.score >= q.scoreThreshold).slice(0, q.limit);
    const get = this.db.prepare('SELECT * FROM knowledge_chunks WHERE rid = ?');
    return top.map((f) => ({ payload: toPayload(get.get(f.item) as Row), score: f.score }));
  }

  private lexical(q: SearchQuery, k: number): Array<{ row: Row; score: number }> {
    const match = ftsQuery(q.text);
    if (!match) return [];
    const where = ['knowledge_fts MATCH @match', 'c.collection = @collection'];
    const params: Record<string, unknown> = { match, collection: q.collection, k };
    if (q.source !== undefined) {
      where.push('c.source = @source');
      params.source = q.source;
    }
    if (q.urlPrefix !== undefined) {
      where.push("c.url LIKE @prefix ESCAPE '\\'");
      params.prefix = likePrefix(q.urlPrefix);
    }
    // bm25() is lower-is-better; title and heading matches weigh more than body text.
    const rows = this.db
      .prepare(
        `SELECT c.*, -bm25(knowledge_fts, 1.0, 2.0, 1.5) AS score FROM knowledge_fts JOIN knowledge_chunks c ON c.rid = knowledge_fts.rowid
         WHERE ${where.join(' AND ')} ORDER BY bm25(knowledge_fts, 1.0, 2.0, 1.5) LIMIT @k`,
      )
      .all(params) as Array<Row & { score: number }>;
    return rows.map((r) => ({ row: r, score: r.score }));
  }

  private vectors(collection: string): VectorCache {
    const version = this.versions.get(collection) ?? 0;
    const hit = this.vectorCache.get(collection);
    if (hit && hit.version === version) return hit;
    const rows = this.db.prepare('SELECT rid, url, source, vector FROM knowledge_chunks WHERE collection = ? AND vector IS NOT NULL').all(collection) as Array<{ rid: number; url: string; source: string; vector: Buffer }>;
    const dim = rows[0] ? rows[0].vector.byteLength / 4 : 0;
    const matrix = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => {
      const v = new Float32Array(r.vector.buffer, r.vector.byteOffset, dim);
      // Rows are stored normalised in the cache so a search is one dot product per chunk.
      let n = 0;
      for (let j = 0; j < dim; j++) n += v[j]! * v[j]!;
      const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
      for (let j = 0; j < dim; j++) matrix[i * dim + j] = v[j]! * inv;
    });
    const cache: VectorCache = { version, rids: rows.map((r) => r.rid), urls: rows.map((r) => r.url), sources: rows.map((r) => r.source), matrix, dim };
    this.vectorCache.set(collection, cache);
    return cache;
  }

  private dense(q: SearchQuery, k: number): number[] {
    const c = this.vectors(q.collection);
    if (c.dim === 0 || !q.vector) return [];
    const qn = Math.sqrt(q.vector.reduce((s, x) => s + x * x, 0)) || 1;
    const scored: Array<{ rid: number; s: number }> = [];
    for (let i = 0; i < c.rids.length; i++) {
      if (q.source !== undefined && c.sources[i] !== q.source) continue;
      if (q.urlPrefix !== undefined && !c.urls[i]!.startsWith(q.urlPrefix)) continue;
      let dot = 0;
      const off = i * c.dim;
      for (let j = 0; j < c.dim; j++) dot += c.matrix[off + j]! * q.vector[j]!;
      scored.push({ rid: c.rids[i]!, s: dot / qn });
    }
    scored.sort((a, b) => b.s - a.s);
    return scored.slice(0, k).map((x) => x.rid);
  }
}

function toPayload(r: Row): ChunkPayload {
  return { document: r.document, metadata: { url: r.url, title: r.title, heading: r.heading, crawled_at: r.crawled_at, content_hash: r.content_hash, source: r.source } };
}
