// KnowledgeService: the crawler, embedder and search store wired from configuration (no I/O until used).
import type { Config } from '../../config/schema.js';
import { secretFromEnv } from '../../config/load.js';
import { ShieldError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Db } from '../../store/sqlite.js';
import { crawl, type CrawlRequest, type CrawlResult, type CrawlCounts } from './crawler.js';
import { OllamaEmbedder, type BreakerRun, type Embedder } from './embedder.js';
import { SafeFetcher } from './fetcher.js';
import { QdrantStore } from './qdrant-store.js';
import { RobotsCache } from './robots.js';
import { SqliteKnowledgeIndex } from './sqlite-index.js';
import { systemResolver, vetUrl, type GuardPolicy, type Resolver } from './ssrf.js';
import type { KnowledgeStore, SearchHit } from './store.js';

export interface KnowledgeServiceOptions {
  config: Config;
  env: NodeJS.ProcessEnv;
  db: Db;
  logger: Logger;
  metrics: Metrics;
  breakers: BreakerRun;
  /** DNS resolver for the SSRF guard (tests inject one; default: the system resolver). */
  resolver?: Resolver;
}

export interface FindRequest {
  query: string;
  collection: string;
  limit: number;
  source?: string;
  urlPrefix?: string;
  scoreThreshold?: number;
}

export interface FindResult {
  hits: SearchHit[];
  backend: 'embedded' | 'qdrant';
  scoring: 'bm25' | 'rrf' | 'cosine';
}

export class KnowledgeService {
  private readonly opts: KnowledgeServiceOptions;
  private resolver: Resolver;
  private fetcherInstance: SafeFetcher | undefined;
  private robotsInstance: RobotsCache | undefined;
  private storeInstance: KnowledgeStore | undefined;
  private embedderInstance: Embedder | null | undefined;
  private readonly pages;
  private readonly chunks;
  private readonly searchDuration;

  constructor(options: KnowledgeServiceOptions) {
    this.opts = options;
    this.resolver = options.resolver ?? systemResolver;
    const m = options.metrics;
    this.pages = m.counter('shield_knowledge_crawl_pages_total', 'Crawled pages by outcome (fetched, indexed, skipped, failed).', ['outcome']);
    this.chunks = m.counter('shield_knowledge_chunks_total', 'Chunks by outcome (indexed, unchanged, deleted).', ['outcome']);
    this.searchDuration = m.histogram('shield_knowledge_search_duration_seconds', 'qdrant_find search time in seconds.', ['backend']);
  }

  get config(): Config['knowledge'] {
    return this.opts.config.knowledge;
  }

  /** Replace the DNS resolver (tests; a deployment with its own resolver). Resets the fetcher. */
  useResolver(resolver: Resolver): void {
    this.resolver = resolver;
    void this.fetcherInstance?.close();
    this.fetcherInstance = undefined;
    this.robotsInstance = undefined;
  }

  get policy(): GuardPolicy {
    const c = this.config.crawler;
    return { allowedPorts: c.allowed_ports, allowPrivateNetworks: c.allow_private_networks, allowPrivateOrigins: c.allow_private_origins };
  }

  get fetcher(): SafeFetcher {
    const c = this.config.crawler;
    this.fetcherInstance ??= new SafeFetcher({
      policy: this.policy,
      resolver: this.resolver,
      userAgent: c.user_agent,
      timeoutMs: c.fetch_timeout_ms,
      maxBytes: c.max_response_bytes,
      maxRedirects: c.max_redirects,
    });
    return this.fetcherInstance;
  }

  private get robots(): RobotsCache {
    this.robotsInstance ??= new RobotsCache(this.fetcher, this.config.crawler.user_agent, this.config.crawler.robots_cache_ttl_s * 1000);
    return this.robotsInstance;
  }

  get store(): KnowledgeStore {
    if (!this.storeInstance) {
      const k = this.config;
      this.storeInstance =
        k.store === 'qdrant'
          ? new QdrantStore({
              url: k.qdrant.url,
              apiKey: secretFromEnv(this.opts.env, k.qdrant.api_key_env),
              upsertBatch: k.qdrant.upsert_batch,
              timeoutMs: k.qdrant.timeout_ms,
              breakers: this.opts.breakers,
            })
          : new SqliteKnowledgeIndex(this.opts.db);
    }
    return this.storeInstance;
  }

  get embedder(): Embedder | null {
    if (this.embedderInstance === undefined) {
      const e = this.config.embedder;
      this.embedderInstance =
        e.provider === 'ollama' ? new OllamaEmbedder({ url: e.url, model: e.model, batchSize: e.batch_size, retries: e.retries, breakers: this.opts.breakers }) : null;
    }
    return this.embedderInstance;
  }

  /** Vet the start URLs before anything is fetched: a refused start URL fails the whole call. */
  async vetStartUrls(urls: string[]): Promise<void> {
    for (const u of urls) await vetUrl(u, this.policy, this.resolver);
  }

  async crawl(req: CrawlRequest, signal: AbortSignal, progress: (c: CrawlCounts, message: string) => void, logger?: Logger): Promise<CrawlResult> {
    await this.vetStartUrls(req.startUrls);
    const c = this.config.crawler;
    return crawl(
      req,
      {
        fetcher: this.fetcher,
        robots: this.robots,
        store: this.store,
        embedder: this.embedder,
        breakers: this.opts.breakers,
        logger: logger ?? this.opts.logger,
        settings: {
          concurrency: c.concurrency,
          perHostConcurrency: c.per_host_concurrency,
          minDelayMs: c.min_delay_ms,
          maxCrawlDelayMs: c.max_crawl_delay_ms,
          useSitemaps: c.use_sitemaps,
          chunking: { maxChars: this.config.chunking.max_chars, overlapChars: this.config.chunking.overlap_chars, minChars: this.config.chunking.min_chars },
        },
        onPage: (o) => this.pages.inc({ outcome: o }),
        onChunks: (o, n) => {
          if (n > 0) this.chunks.inc({ outcome: o }, n);
        },
      },
      signal,
      progress,
    );
  }

  async find(req: FindRequest, signal?: AbortSignal): Promise<FindResult> {
    const started = process.hrtime.bigint();
    const store = this.store;
    const embedder = this.embedder;
    let vector: number[] | undefined;
    if (embedder) {
      const [v] = await embedder.embed([req.query], signal);
      vector = v;
    }
    if (store.backend === 'qdrant' && !vector) throw new ShieldError('INVALID_INPUT', 'The Qdrant store needs an embedder.');
    const hits = await store.search(
      {
        collection: req.collection,
        text: req.query,
        ...(vector ? { vector, model: embedder!.model } : {}),
        limit: req.limit,
        ...(req.source !== undefined ? { source: req.source } : {}),
        ...(req.urlPrefix !== undefined ? { urlPrefix: req.urlPrefix } : {}),
        ...(req.scoreThreshold !== undefined ? { scoreThreshold: req.scoreThreshold } : {}),
      },
      signal,
    );
    this.searchDuration.observe({ backend: store.backend }, Number(process.hrtime.bigint() - started) / 1e9);
    return { hits, backend: store.backend, scoring: store.scoring(vector && embedder ? { model: embedder.model, dimension: vector.length } : null) };
  }

  async close(): Promise<void> {
    await this.fetcherInstance?.close();
  }
}
