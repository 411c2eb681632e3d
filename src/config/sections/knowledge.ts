// Configuration of the crawler, embedders and search stores.
import { z } from 'zod';

const crawlerSection = z
  .object({
    /** Sent on every request and matched against robots.txt groups (its first token). */
    user_agent: z.string().min(1).default('ShieldBot/0.1 (+https://github.com/shield-mcp; polite crawler)'),
    /** Upper bound for a call's max_pages (a call's default is 50, capped by this). */
    max_pages_cap: z.number().int().positive().default(500),
    /** Upper bound for a call's max_depth. */
    max_depth_cap: z.number().int().min(0).default(10),
    /** Pages fetched at once across hosts by one crawl job. */
    concurrency: z.number().int().positive().default(4),
    /** Requests in flight to one host at once. */
    per_host_concurrency: z.number().int().positive().default(2),
    /** Minimum time between two requests to one host, in ms (robots Crawl-delay raises it). */
    min_delay_ms: z.number().int().min(0).default(1000),
    /** A robots.txt Crawl-delay above this is capped (a crawl must finish), in ms. */
    max_crawl_delay_ms: z.number().int().min(0).default(30_000),
    /** Time allowed for one response (headers and body), in ms. */
    fetch_timeout_ms: z.number().int().positive().default(10_000),
    /** Largest response body read, in bytes; bigger pages are skipped. */
    max_response_bytes: z.number().int().positive().default(2 * 1024 * 1024),
    /** Redirect hops followed per URL (each re-checked), at most 5 (RFC 9309 for robots.txt). */
    max_redirects: z.number().int().min(0).max(5).default(5),
    /** How long a robots.txt answer is cached, in seconds (RFC 9309: at most 24 h). */
    robots_cache_ttl_s: z.number().int().positive().max(86_400).default(86_400),
    /** Ports a URL may use (origins in allow_private_origins are exempt). */
    allowed_ports: z.array(z.number().int().min(1).max(65535)).default([80, 443, 8080, 8443]),
    /** Allow loopback and private targets at all (tests only; never in production). */
    allow_private_networks: z.boolean().default(false),
    /** Exact origins (scheme://host:port) allowed although they resolve to loopback/private addresses. */
    allow_private_origins: z.array(z.string().url()).default([]),
    /** Read sitemap.xml (and Sitemap: lines of robots.txt) to seed the crawl. */
    use_sitemaps: z.boolean().default(true),
  })
  .strict()
  .prefault({});

const chunkingSection = z
  .object({
    /** Target chunk size in characters. */
    max_chars: z.number().int().min(200).default(1500),
    /** Characters repeated from the end of the previous chunk of the same section. */
    overlap_chars: z.number().int().min(0).default(150),
    /** Sections shorter than this are merged into the next one, in characters. */
    min_chars: z.number().int().min(0).default(80),
  })
  .strict()
  .prefault({});

const embedderSection = z
  .object({
    /** none: lexical search only (embedded store); ollama: dense vectors from an Ollama server. */
    provider: z.enum(['none', 'ollama']).default('none'),
    url: z.string().url().default('http://127.0.0.1:11434'),
    model: z.string().min(1).default('nomic-embed-text'),
    /** Texts per /api/embed request. */
    batch_size: z.number().int().positive().max(512).default(32),
    /** Retries of a failed embed call (breaker permitting). */
    retries: z.number().int().min(0).max(5).default(2),
  })
  .strict()
  .prefault({});

const qdrantSection = z
  .object({
    url: z.string().url().default('http://127.0.0.1:6333'),
    /** Name of the environment variable holding the Qdrant API key (optional). */
    api_key_env: z.string().optional(),
    /** Points per upsert request. */
    upsert_batch: z.number().int().positive().max(1000).default(64),
    timeout_ms: z.number().int().positive().default(10_000),
  })
  .strict()
  .prefault({});

export const knowledgeSection = z
  .object({
    /** embedded: the SQLite index (no external service); qdrant: a Qdrant server (needs an embedder). */
    store: z.enum(['embedded', 'qdrant']).default('embedded'),
    /** Collection used when a call names none. */
    default_collection: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('knowledge'),
    crawler: crawlerSection,
    chunking: chunkingSection,
    embedder: embedderSection,
    qdrant: qdrantSection,
    search: z
      .object({
        /** Upper bound of qdrant_find's limit. */
        max_limit: z.number().int().positive().default(20),
        /** Characters of chunk text returned per call, all results together. */
        response_budget_chars: z.number().int().min(500).default(12_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((k) => k.store !== 'qdrant' || k.embedder.provider !== 'none', {
    message: 'knowledge.store "qdrant" needs an embedder: set knowledge.embedder.provider to "ollama"',
    path: ['embedder', 'provider'],
  })
  .prefault({});

export type KnowledgeConfig = z.infer<typeof knowledgeSection>;
