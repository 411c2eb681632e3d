// The crawl, step by step: open the collection, seed the frontier (start URLs, sitemaps), then workers fetch, extract and index each page.
import { ShieldError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { ChunkOptions } from './chunk.js';
import { PageFetcher } from './crawl/fetch-page.js';
import { Frontier, inDomains, type FrontierItem } from './crawl/frontier.js';
import { extractPage, PageIndexer } from './crawl/index-page.js';
import { runPool } from './crawl/pool.js';
import { sitemapPageUrls } from './crawl/sitemaps.js';
import { CrawlTally, type CrawlCounts, type CrawlFailure, type PageOutcome } from './crawl/tally.js';
import type { BreakerRun, Embedder } from './embedder.js';
import type { SafeFetcher } from './fetcher.js';
import type { RobotsCache } from './robots.js';
import type { EmbeddingSpec, KnowledgeStore } from './store.js';

export type { CrawlCounts } from './crawl/tally.js';

export interface CrawlRequest {
  startUrls: string[];
  /** Hosts (and their subdomains) the crawl may visit. */
  allowedDomains: string[];
  maxPages: number;
  maxDepth: number;
  include: string[];
  exclude: string[];
  collection: string;
  source: string;
}

export interface CrawlSettings {
  concurrency: number;
  perHostConcurrency: number;
  minDelayMs: number;
  maxCrawlDelayMs: number;
  useSitemaps: boolean;
  chunking: ChunkOptions;
}

export interface CrawlResult {
  collection: string;
  backend: 'embedded' | 'qdrant';
  source: string;
  pages: CrawlCounts;
  chunks: { indexed: number; unchanged: number; deleted: number };
  skipped_reasons: Record<string, number>;
  failures: CrawlFailure[];
  embedding: EmbeddingSpec | null;
  stopped_by: 'done' | 'max_pages';
  duration_ms: number;
}

export interface CrawlDeps {
  fetcher: SafeFetcher;
  robots: RobotsCache;
  store: KnowledgeStore;
  embedder: Embedder | null;
  breakers: BreakerRun;
  logger: Logger;
  settings: CrawlSettings;
  onPage?: (outcome: PageOutcome) => void;
  onChunks?: (outcome: 'indexed' | 'unchanged' | 'deleted', n: number) => void;
}

/** The parts one crawl's steps share. */
interface Crawl {
  req: CrawlRequest;
  deps: CrawlDeps;
  signal: AbortSignal;
  frontier: Frontier;
  pages: PageFetcher;
  indexer: PageIndexer;
  tally: CrawlTally;
}

export async function crawl(req: CrawlRequest, deps: CrawlDeps, signal: AbortSignal, progress: (c: CrawlCounts, message: string) => void): Promise<CrawlResult> {
  const started = Date.now();
  const { store, embedder, settings } = deps;
  const embedding = embedder ? { model: embedder.model, dimension: await embedder.dimension(signal) } : null;
  await store.ensureCollection(req.collection, embedding, signal);
  const c: Crawl = {
    req,
    deps,
    signal,
    frontier: new Frontier(req),
    pages: new PageFetcher({ fetcher: deps.fetcher, robots: deps.robots, breakers: deps.breakers, settings }, signal),
    indexer: new PageIndexer({ store, embedder, embedding, chunking: settings.chunking, collection: req.collection, source: req.source, signal, onChunks: deps.onChunks }),
    tally: new CrawlTally(deps.logger, deps.onPage),
  };
  for (const s of req.startUrls) c.frontier.add(s, 0);
  if (settings.useSitemaps && req.maxDepth >= 1) await seedFromSitemaps(c);
  const end = await runPool<FrontierItem>({
    concurrency: settings.concurrency,
    signal,
    done: () => c.frontier.exhausted(),
    next: () => c.frontier.next(),
    run: async (item) => {
      await visit(c, item);
      progress({ ...c.tally.counts }, c.tally.progressMessage(item.url));
    },
  });
  // Indexing errors (embedder, store) concern every page: they end the crawl with that error.
  if (end.failed && !signal.aborted) throw end.error;
  if (signal.aborted) throw new ShieldError('CANCELLED', `Crawl cancelled after ${c.tally.counts.fetched} pages.`);
  if (c.tally.onlyRefusals()) throw new ShieldError('URL_NOT_ALLOWED', c.tally.failures[0]!.message, { details: { failures: c.tally.failures } });
  return {
    collection: req.collection,
    backend: store.backend,
    source: req.source,
    pages: c.tally.counts,
    chunks: c.indexer.chunks,
    skipped_reasons: c.tally.reasons,
    failures: c.tally.failures,
    embedding,
    stopped_by: c.frontier.stoppedByBudget ? 'max_pages' : 'done',
    duration_ms: Date.now() - started,
  };
}

/** Queue, one step from the start, the pages the sitemaps of each start origin list. */
async function seedFromSitemaps(c: Crawl): Promise<void> {
  const origins = [...new Set(c.req.startUrls.map((u) => new URL(u).origin))];
  for (const origin of origins) {
    if (c.signal.aborted) break;
    const urls = await sitemapPageUrls(origin, {
      fetcher: c.deps.fetcher,
      robots: c.deps.robots,
      via: c.pages.via,
      signal: c.signal,
      allowed: (u) => inDomains(new URL(u).hostname, c.req.allowedDomains),
      maxUrlsPerDocument: c.req.maxPages * 2,
      logger: c.deps.logger,
    });
    for (const u of urls) c.frontier.add(u, 1);
  }
}

/** One page: fetch, see where it landed, queue its links, index it under its canonical URL. */
async function visit(c: Crawl, item: FrontierItem): Promise<void> {
  const { frontier, tally } = c;
  const out = await c.pages.fetch(item.url, () => frontier.claim());
  if (out.kind === 'not_attempted') return;
  if (out.kind === 'skipped') return tally.skip(out.reason);
  if (out.kind === 'failed') return tally.fail(item.url, out.error);
  tally.fetched();
  const landing = frontier.land(item.url, out.url, out.redirects);
  if ('skipped' in landing) return tally.skip(landing.skipped);
  const page = extractPage(out);
  if (!page.nofollow) frontier.addLinks(page.links, item.depth);
  const outcome = await c.indexer.index(frontier.documentUrl(landing.url, page.canonical), page);
  if (outcome === 'indexed') tally.indexed();
  else tally.skip(outcome);
}
