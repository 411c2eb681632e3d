// Indexing one page: extraction by content type, noindex/empty/duplicate content, and a re-crawl that stores and embeds only what changed.
import { describe, expect, it } from 'vitest';
import { extractPage, PageIndexer, type PageIndexerOptions } from '../../src/providers/knowledge/crawl/index-page.js';
import type { Embedder } from '../../src/providers/knowledge/embedder.js';
import type { ExtractedPage } from '../../src/providers/knowledge/extract.js';
import type { KnowledgeStore, StoredChunk } from '../../src/providers/knowledge/store.js';

/** A store kept in a map: enough to see what the indexer writes and deletes. */
function memoryStore(): KnowledgeStore & { chunks: Map<string, StoredChunk>; upserts: number } {
  const chunks = new Map<string, StoredChunk>();
  const store = {
    chunks,
    upserts: 0,
    backend: 'embedded' as const,
    scoring: () => 'bm25' as const,
    ensureCollection: async () => undefined,
    hashesForUrl: async (_c: string, url: string) => new Set([...chunks.values()].filter((c) => c.payload.metadata.url === url).map((c) => c.payload.metadata.content_hash)),
    upsert: async (_c: string, list: StoredChunk[]) => {
      store.upserts++;
      for (const c of list) chunks.set(c.id, c);
    },
    deleteChunks: async (_c: string, url: string, hashes: string[]) => {
      for (const [id, c] of chunks) if (c.payload.metadata.url === url && hashes.includes(c.payload.metadata.content_hash)) chunks.delete(id);
    },
    search: async () => [],
  };
  return store;
}

function countingEmbedder(dimension: number): Embedder & { texts: string[] } {
  const texts: string[] = [];
  return { model: 'test-model', texts, dimension: async () => dimension, embed: async (t) => (texts.push(...t), t.map(() => Array.from({ length: dimension }, () => 0.5))) };
}

const md = (steps: string): ExtractedPage => ({
  title: 'Gmheap',
  markdown: `# Gmheap\n\n## Symptoms\n\n${'Processes fail to allocate shared memory when the heap is exhausted. '.repeat(3)}\n\n## Fix\n\n${steps}`,
  links: [],
  canonical: undefined,
  noindex: false,
  nofollow: false,
});
const steps1 = 'Raise gmheap in the configuration and restart the instance during a maintenance window.';
const steps2 = 'Lower the number of processes first, then raise gmheap and restart during a maintenance window.';

function indexer(store: KnowledgeStore, over: Partial<PageIndexerOptions> = {}): PageIndexer {
  return new PageIndexer({ store, embedder: null, embedding: null, chunking: { maxChars: 1500, overlapChars: 100, minChars: 20 }, collection: 'c', source: 'handbook', signal: new AbortController().signal, ...over });
}

describe('extractPage', () => {
  it('reads HTML with links, canonical and robots meta; text and Markdown as they are', () => {
    const html = extractPage({
      url: 'https://a.example/x',
      contentType: 'text/html',
      body: '<html><head><title>T</title><link rel="canonical" href="/y"><meta name="robots" content="noindex"></head><body><main><p>Hello there.</p><a href="/z">z</a></main></body></html>',
    });
    expect(html).toMatchObject({ title: 'T', canonical: 'https://a.example/y', links: ['https://a.example/z'], noindex: true, nofollow: false });
    expect(extractPage({ url: 'https://a.example/g.md', contentType: 'text/markdown', body: '# Guide\n\nText.' })).toMatchObject({ title: 'Guide', markdown: '# Guide\n\nText.' });
    expect(extractPage({ url: 'https://a.example/n.txt', contentType: 'text/plain', body: 'Notes\n\nRotate logs.' }).title).toBe('Notes');
  });
});

describe('PageIndexer', () => {
  it('stores every chunk of a new page with its metadata', async () => {
    const store = memoryStore();
    const ix = indexer(store);
    expect(await ix.index('https://a.example/gmheap', md(steps1))).toBe('indexed');
    expect(ix.chunks).toEqual({ indexed: 2, unchanged: 0, deleted: 0 });
    const meta = [...store.chunks.values()].map((c) => c.payload.metadata);
    expect(meta.map((m) => m.heading).sort()).toEqual(['Gmheap > Fix', 'Gmheap > Symptoms']);
    expect(meta.every((m) => m.url === 'https://a.example/gmheap' && m.source === 'handbook' && m.title === 'Gmheap')).toBe(true);
  });
  it('a re-crawl embeds and writes only the changed chunk and deletes the one it replaced', async () => {
    const store = memoryStore();
    const embedder = countingEmbedder(4);
    const embedding = { model: 'test-model', dimension: 4 };
    await indexer(store, { embedder, embedding }).index('https://a.example/gmheap', md(steps1));
    expect(embedder.texts).toHaveLength(2);
    const same = indexer(store, { embedder, embedding });
    await same.index('https://a.example/gmheap', md(steps1));
    expect(same.chunks).toEqual({ indexed: 0, unchanged: 2, deleted: 0 });
    expect(embedder.texts).toHaveLength(2);
    const counted: Array<[string, number]> = [];
    const changed = indexer(store, { embedder, embedding, onChunks: (o, n) => counted.push([o, n]) });
    await changed.index('https://a.example/gmheap', md(steps2));
    expect(counted).toEqual([
      ['indexed', 1],
      ['unchanged', 1],
      ['deleted', 1],
    ]);
    expect(embedder.texts).toHaveLength(3);
    expect(embedder.texts[2]).toMatch(/^Gmheap - Gmheap > Fix\n\nLower the number/);
    expect([...store.chunks.values()].map((c) => c.payload.document).join('\n')).not.toContain('Raise gmheap in the configuration');
    expect(changed.chunks).toEqual({ indexed: 1, unchanged: 1, deleted: 1 });
  });
  it('does not index noindex, empty or duplicate pages', async () => {
    const store = memoryStore();
    const ix = indexer(store);
    expect(await ix.index('https://a.example/n', { ...md(steps1), noindex: true })).toBe('noindex');
    expect(await ix.index('https://a.example/e', { ...md(steps1), markdown: '  \n' })).toBe('empty');
    expect(await ix.index('https://a.example/a', md(steps1))).toBe('indexed');
    // The same content under another URL, and the same URL with other content.
    expect(await ix.index('https://a.example/b', md(steps1))).toBe('duplicate');
    expect(await ix.index('https://a.example/a', md(steps2))).toBe('duplicate');
    expect(store.upserts).toBe(1);
  });
  it('refuses vectors of another dimension than the collection was opened with (CONFLICT)', async () => {
    const ix = indexer(memoryStore(), { embedder: countingEmbedder(3), embedding: { model: 'test-model', dimension: 4 } });
    await expect(ix.index('https://a.example/gmheap', md(steps1))).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});
