// Indexing one fetched page: extract, drop noindex/empty/duplicate content, chunk, embed only what changed, store, delete what disappeared.
import { createHash } from 'node:crypto';
import { ShieldError } from '../../../errors.js';
import { chunkMarkdown, type Chunk, type ChunkOptions } from '../chunk.js';
import type { Embedder } from '../embedder.js';
import { extractHtml, extractText, type ExtractedPage } from '../extract.js';
import { chunkId, type EmbeddingSpec, type KnowledgeStore, type StoredChunk } from '../store.js';

/** Main content, links and robots meta of a fetched page, by its content type. */
export function extractPage(page: { body: string; url: string; contentType: string }): ExtractedPage {
  return page.contentType === 'text/html' ? extractHtml(page.body, page.url) : extractText(page.body, page.url, page.contentType);
}

export interface PageIndexerOptions {
  store: KnowledgeStore;
  embedder: Embedder | null;
  /** The model and dimension the collection was opened with (null without an embedder). */
  embedding: EmbeddingSpec | null;
  chunking: ChunkOptions;
  collection: string;
  source: string;
  signal: AbortSignal;
  onChunks?: (outcome: 'indexed' | 'unchanged' | 'deleted', n: number) => void;
}

export type IndexOutcome = 'indexed' | 'noindex' | 'empty' | 'duplicate';

export class PageIndexer {
  readonly chunks = { indexed: 0, unchanged: 0, deleted: 0 };
  /** Content hashes and document URLs indexed by this crawl: the same page twice is a duplicate. */
  private readonly pages = new Set<string>();

  constructor(private readonly o: PageIndexerOptions) {}

  /** Index `page` under `docUrl`, or say why not. Store and embedder failures throw: they concern every page. */
  async index(docUrl: string, page: ExtractedPage): Promise<IndexOutcome> {
    if (page.noindex) return 'noindex';
    if (!page.markdown.trim()) return 'empty';
    const pageHash = createHash('sha256').update(page.markdown).digest('hex');
    if (this.pages.has(pageHash) || this.pages.has(`url:${docUrl}`)) return 'duplicate';
    this.pages.add(pageHash);
    this.pages.add(`url:${docUrl}`);
    await this.store(docUrl, page);
    return 'indexed';
  }

  /** Only chunks whose hash is not stored yet are embedded and written; stored ones that vanished are deleted. */
  private async store(docUrl: string, page: ExtractedPage): Promise<void> {
    const { store, collection, signal } = this.o;
    const chunks = chunkMarkdown(page.markdown, this.o.chunking);
    const existing = await store.hashesForUrl(collection, docUrl, signal);
    const fresh = chunks.filter((c) => !existing.has(c.hash));
    const current = new Set(chunks.map((c) => c.hash));
    const stale = [...existing].filter((h) => !current.has(h));
    const crawledAt = new Date().toISOString();
    const vectors = await this.embed(page.title, fresh);
    const stored: StoredChunk[] = fresh.map((c, i) => ({
      id: chunkId(collection, docUrl, c.hash),
      payload: {
        document: c.text,
        metadata: { url: docUrl, title: page.title, heading: c.heading, crawled_at: crawledAt, content_hash: c.hash, source: this.o.source },
      },
      ...(vectors ? { vector: vectors[i]! } : {}),
    }));
    if (stored.length) await store.upsert(collection, stored, signal);
    await store.deleteChunks(collection, docUrl, stale, signal);
    this.count('indexed', stored.length);
    this.count('unchanged', chunks.length - fresh.length);
    this.count('deleted', stale.length);
  }

  /** Vectors for the fresh chunks (title and heading give a chunk its context), checked against the collection's dimension. */
  private async embed(title: string, fresh: Chunk[]): Promise<number[][] | undefined> {
    const { embedder, embedding } = this.o;
    if (!embedder || !fresh.length) return undefined;
    const vectors = await embedder.embed(fresh.map((c) => `${title}${c.heading ? ` - ${c.heading}` : ''}\n\n${c.text}`), this.o.signal);
    const dim = vectors[0]?.length;
    if (embedding && dim !== embedding.dimension) {
      throw new ShieldError('CONFLICT', `The embedding model ${embedder.model} returned ${dim}-dimensional vectors, but ${embedding.dimension} were probed for collection "${this.o.collection}".`);
    }
    return vectors;
  }

  private count(outcome: 'indexed' | 'unchanged' | 'deleted', n: number): void {
    this.chunks[outcome] += n;
    this.o.onChunks?.(outcome, n);
  }
}
