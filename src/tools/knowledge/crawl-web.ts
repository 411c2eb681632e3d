// crawl_web: crawl a site politely and safely, chunk its pages, embed and index them (a job).
import { z } from 'zod';
import { defineJobTool } from '../define-tool.js';

const collectionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (at most 64)');
const countsSchema = z.object({ fetched: z.number().int(), indexed: z.number().int(), skipped: z.number().int(), failed: z.number().int() });

export const crawlResultSchema = z.object({
  collection: z.string(),
  backend: z.enum(['embedded', 'qdrant']),
  source: z.string(),
  pages: countsSchema,
  chunks: z.object({ indexed: z.number().int(), unchanged: z.number().int(), deleted: z.number().int() }),
  skipped_reasons: z.record(z.string(), z.number().int()),
  failures: z.array(z.object({ url: z.string(), code: z.string(), message: z.string() })),
  embedding: z.object({ model: z.string(), dimension: z.number().int() }).nullable(),
  stopped_by: z.enum(['done', 'max_pages']),
  duration_ms: z.number().int(),
});

export const crawlWebTool = defineJobTool({
  name: 'crawl_web',
  title: 'Crawl a website into the knowledge index',
  description:
    'Crawl public http(s) pages starting from the given URLs, obeying robots.txt, and index their main content in a ' +
    'collection for qdrant_find. Only pages within allowed_domains (default: the start hosts) are visited; HTML, plain ' +
    'text and Markdown are indexed. Runs as a job: progress counts fetched/indexed/skipped/failed pages; poll ' +
    'get_job_status with the returned job id. Re-crawling skips unchanged chunks and replaces changed ones.',
  toolset: 'knowledge',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z.object({
    urls: z.array(z.string().min(1).max(2048)).min(1).max(20).describe('Start URLs (http or https).'),
    allowed_domains: z.array(z.string().min(1).max(253)).max(20).optional().describe('Hosts the crawl may visit (subdomains included). Default: the start hosts.'),
    max_pages: z.number().int().positive().optional().describe('Pages to fetch at most (default 50, capped by configuration).'),
    max_depth: z.number().int().min(0).optional().describe('Link hops from a start URL (default 3, capped by configuration).'),
    include_paths: z.array(z.string().min(1).max(200)).max(20).default([]).describe('Only paths matching one of these (prefix, or glob with *).'),
    exclude_paths: z.array(z.string().min(1).max(200)).max(20).default([]).describe('Skip paths matching any of these (prefix, or glob with *).'),
    collection: collectionName.optional().describe('Collection to index into (default from configuration).'),
    source: z.string().min(1).max(100).optional().describe('Label stored as metadata.source (default: the first start host); qdrant_find can filter on it.'),
  }),
  result: crawlResultSchema,
  resumable: true,
  inlineBudgetMs: 2000,
  run: async (args, ctx) => {
    const knowledge = ctx.services.knowledge;
    const cfg = knowledge.config;
    const hosts = args.urls.map((u) => {
      try {
        return new URL(u).hostname;
      } catch {
        return '';
      }
    });
    const maxPages = Math.min(args.max_pages ?? 50, cfg.crawler.max_pages_cap);
    const result = await knowledge.crawl(
      {
        startUrls: args.urls,
        allowedDomains: args.allowed_domains?.length ? args.allowed_domains : [...new Set(hosts.filter(Boolean))],
        maxPages,
        maxDepth: Math.min(args.max_depth ?? 3, cfg.crawler.max_depth_cap),
        include: args.include_paths,
        exclude: args.exclude_paths,
        collection: args.collection ?? cfg.default_collection,
        source: args.source ?? (hosts[0] || 'web'),
      },
      ctx.signal,
      (c, message) => ctx.progress({ done: c.fetched + c.skipped + c.failed, total: maxPages, message }),
      ctx.logger,
    );
    return result;
  },
});
