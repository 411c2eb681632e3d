// The crawl loop: scope, robots.txt, politeness per host, sitemaps, de-duplication, extraction and indexing.
import { createHash } from 'node:crypto';
import { ShieldError, isShieldError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { chunkMarkdown, type ChunkOptions } from './chunk.js';
import type { BreakerRun, Embedder } from './embedder.js';
import { extractHtml, extractText, type ExtractedPage } from './extract.js';
import type { SafeFetcher } from './fetcher.js';
import type { RobotsCache } from './robots.js';
import { chunkId, type KnowledgeStore, type StoredChunk } from './store.js';

export const CONTENT_TYPES = ['text/html', 'text/plain', 'text/markdown'] as const;
const SITEMAP_TYPES = ['application/xml', 'text/xml', 'text/plain', 'application/x-xml'];

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

export interface CrawlCounts {
  fetched: number;
  indexed: number;
  skipped: number;
  failed: number;
}

export interface CrawlResult {
  collection: string;
  backend: 'embedded' | 'qdrant';
  source: string;
  pages: CrawlCounts;
  chunks: { indexed: number; unchanged: number; deleted: number };
  skipped_reasons: Record<string, number>;
  failures: Array<{ url: string; code: string; message: string }>;
  embedding: { model: string; dimension: number } | null;
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
  onPage?: (outcome: 'fetched' | 'indexed' | 'skipped' | 'failed') => void;
  onChunks?: (outcome: 'indexed' | 'unchanged' | 'deleted', n: number) => void;
}

const TRACKING = /^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid)$/i;

/** Canonical form for de-duplication: no fragment, no tracking parameters, sorted query. */
export function normalizeUrl(input: string): string {
  const u = new URL(input);
  u.hash = '';
  const params = [...u.searchParams.entries()].filter(([k]) => !TRACKING.test(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  u.search = params.length ? `?${new URLSearchParams(params).toString()}` : '';
  return u.href;
}

export function inDomains(host: string, domains: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return domains.some((d) => {
    const dd = d.toLowerCase().replace(/^\[|\]$/g, '');
    return h === dd || h.endsWith(`.${dd}`);
  });
}

/** A path pattern: "*" matches anything; without "*" it is a prefix of path + query. */
export function pathMatcher(pattern: string): (pathAndQuery: string) => boolean {
  if (!pattern.includes('*')) return (p) => p.startsWith(pattern);
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}`);
  return (p) => re.test(p);
}

export function parseSitemap(xml: string): { urls: string[]; sitemaps: string[] } {
  const locs = [...xml.matchAll(/<loc>\s*([^<\s]+)\s*<\/loc>/gi)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  return /<sitemapindex[\s>]/i.test(xml) ? { urls: [], sitemaps: locs } : { urls: locs, sitemaps: [] };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Per-host politeness: at most N requests in flight and a minimum gap between request starts. */
export class HostGate {
  private readonly hosts = new Map<string, { active: number; next: number; waiters: Array<() => void> }>();
  constructor(private readonly perHost: number) {}

  async acquire(host: string, delayMs: number, signal: AbortSignal): Promise<() => void> {
    let h = this.hosts.get(host);
    if (!h) this.hosts.set(host, (h = { active: 0, next: 0, waiters: [] }));
    const state = h;
    while (!signal.aborted) {
      if (state.active < this.perHost) {
        const wait = state.next - Date.now();
        if (wait <= 0) {
          state.active++;
          state.next = Date.now() + delayMs;
          let released = false;
          return () => {
            if (released) return;
            released = true;
            state.active--;
            state.waiters.shift()?.();
          };
        }
        await sleep(wait, signal);
      } else {
        await new Promise<void>((resolve) => {
          const onAbort = (): void => resolve();
          state.waiters.push(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          });
          signal.addEventListener('abort', onAbort, { once: true });
        });
      }
    }
    throw new ShieldError('CANCELLED', 'Crawl cancelled.');
  }
}

interface Item {
  url: string;
  depth: number;
}

export async function crawl(req: CrawlRequest, deps: CrawlDeps, signal: AbortSignal, progress: (c: CrawlCounts, message: string) => void): Promise<CrawlResult> {
  const started = Date.now();
  const { fetcher, robots, store, embedder, settings, logger } = deps;
  const counts: CrawlCounts = { fetched: 0, indexed: 0, skipped: 0, failed: 0 };
  const chunkCounts = { indexed: 0, unchanged: 0, deleted: 0 };
  const reasons: Record<string, number> = {};
  const failures: CrawlResult['failures'] = [];
  const seen = new Set<string>();
  const pageHashes = new Set<string>();
  const queue: Item[] = [];
  const gate = new HostGate(settings.perHostConcurrency);
  const includes = req.include.map(pathMatcher);
  const excludes = req.exclude.map(pathMatcher);
  const via = <T>(host: string, fn: (s: AbortSignal) => Promise<T>, s?: AbortSignal): Promise<T> => deps.breakers(`host:${host}`, fn, s);
  let attempts = 0;
  let stoppedBy: CrawlResult['stopped_by'] = 'done';
  let embedding: CrawlResult['embedding'] = null;

  if (embedder) embedding = { model: embedder.model, dimension: await embedder.dimension(signal) };
  await store.ensureCollection(req.collection, embedding, signal);

  const skip = (reason: string): void => {
    counts.skipped++;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    deps.onPage?.('skipped');
  };
  const fail = (url: string, err: unknown): void => {
    counts.failed++;
    deps.onPage?.('failed');
    const code = isShieldError(err) ? err.code : 'UPSTREAM_UNAVAILABLE';
    const message = isShieldError(err) ? err.message : `fetch failed: ${(err as Error)?.message ?? String(err)}`;
    if (failures.length < 20) failures.push({ url, code, message });
    logger.debug({ url, code, message }, 'page failed');
  };
  const report = (message: string): void => progress({ ...counts }, message);

  const inScope = (raw: string): string | undefined => {
    let u: URL;
    try {
      u = new URL(normalizeUrl(raw));
    } catch {
      return undefined;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    if (!inDomains(u.hostname, req.allowedDomains)) return undefined;
    const pq = u.pathname + u.search;
    if (includes.length && !includes.some((m) => m(pq))) return undefined;
    if (excludes.some((m) => m(pq))) return undefined;
    return u.href;
  };
  const enqueue = (raw: string, depth: number): void => {
    const u = inScope(raw);
    if (!u || seen.has(u) || depth > req.maxDepth) return;
    // The frontier is bounded: pages beyond a few times the budget would never be fetched.
    if (queue.length > req.maxPages * 10) return;
    seen.add(u);
    queue.push({ url: u, depth });
  };

  for (const s of req.startUrls) enqueue(s, 0);

  if (settings.useSitemaps && req.maxDepth >= 1) {
    const origins = [...new Set(req.startUrls.map((u) => new URL(u).origin))];
    for (const origin of origins) {
      if (signal.aborted) break;
      try {
        const rules = await robots.rulesFor(origin, { signal, via });
        const maps = rules.sitemaps.length ? rules.sitemaps : [`${origin}/sitemap.xml`];
        const pending = maps.slice(0, 5);
        // Bounded: at most 10 sitemap documents per origin (an index may name a few more).
        for (let n = 0; n < 10 && pending.length; n++) {
          const m = pending.shift()!;
          if (!rules.isAllowed(m) || !inDomains(new URL(m).hostname, req.allowedDomains)) continue;
          const out = await fetcher.fetch(m, { signal, via, accept: SITEMAP_TYPES });
          if (out.kind !== 'ok') continue;
          const parsed = parseSitemap(out.body);
          pending.push(...parsed.sitemaps.slice(0, 5));
          for (const u of parsed.urls.slice(0, req.maxPages * 2)) enqueue(u, 1);
        }
      } catch (err) {
        if (signal.aborted) break;
        logger.debug({ origin, err: (err as Error).message }, 'sitemap not used');
      }
    }
  }

  const indexPage = async (docUrl: string, page: ExtractedPage): Promise<void> => {
    const chunks = chunkMarkdown(page.markdown, settings.chunking);
    const existing = await store.hashesForUrl(req.collection, docUrl, signal);
    const fresh = chunks.filter((c) => !existing.has(c.hash));
    const current = new Set(chunks.map((c) => c.hash));
    const stale = [...existing].filter((h) => !current.has(h));
    const crawledAt = new Date().toISOString();
    let vectors: number[][] | undefined;
    if (embedder && fresh.length) {
      vectors = await embedder.embed(fresh.map((c) => `${page.title}${c.heading ? ` - ${c.heading}` : ''}\n\n${c.text}`), signal);
      const dim = vectors[0]?.length;
      if (embedding && dim !== embedding.dimension) {
        throw new ShieldError('CONFLICT', `The embedding model ${embedder.model} returned ${dim}-dimensional vectors, but ${embedding.dimension} were probed for collection "${req.collection}".`);
      }
    }
    const stored: StoredChunk[] = fresh.map((c, i) => ({
      id: chunkId(req.collection, docUrl, c.hash),
      payload: {
        document: c.text,
        metadata: { url: docUrl, title: page.title, heading: c.heading, crawled_at: crawledAt, content_hash: c.hash, source: req.source },
      },
      ...(vectors ? { vector: vectors[i]! } : {}),
    }));
    if (stored.length) await store.upsert(req.collection, stored, signal);
    await store.deleteChunks(req.collection, docUrl, stale, signal);
    chunkCounts.indexed += stored.length;
    chunkCounts.unchanged += chunks.length - fresh.length;
    chunkCounts.deleted += stale.length;
    deps.onChunks?.('indexed', stored.length);
    deps.onChunks?.('unchanged', chunks.length - fresh.length);
    deps.onChunks?.('deleted', stale.length);
  };

  const processItem = async (item: Item): Promise<void> => {
    const host = new URL(item.url).hostname;
    let rules;
    try {
      rules = await robots.rulesFor(item.url, { signal, via });
    } catch (err) {
      if (signal.aborted) return;
      return fail(item.url, err);
    }
    if (!rules.isAllowed(item.url)) return skip(rules.mode === 'disallow_all' ? 'robots_unreachable' : 'robots');
    if (attempts >= req.maxPages) {
      stoppedBy = 'max_pages';
      return;
    }
    attempts++;
    const delay = Math.max(settings.minDelayMs, Math.min(rules.crawlDelayMs ?? 0, settings.maxCrawlDelayMs));
    const release = await gate.acquire(host, delay, signal);
    let out;
    try {
      out = await fetcher.fetch(item.url, { signal, via, accept: CONTENT_TYPES });
    } catch (err) {
      if (signal.aborted) return;
      return fail(item.url, err);
    } finally {
      release();
    }
    if (out.kind === 'skipped') return skip(out.reason);
    if (out.kind === 'status') return fail(item.url, new ShieldError(out.status === 404 || out.status === 410 ? 'NOT_FOUND' : 'UPSTREAM_REJECTED', `${item.url} answered ${out.status}.`));
    counts.fetched++;
    deps.onPage?.('fetched');
    // A redirect may leave the allowed domains: such a page is not indexed.
    const finalUrl = inScope(out.url) ?? (inDomains(new URL(out.url).hostname, req.allowedDomains) ? normalizeUrl(out.url) : undefined);
    if (!finalUrl) return skip('off_site_redirect');
    if (finalUrl !== item.url) {
      if (seen.has(finalUrl) && out.redirects > 0) return skip('duplicate');
      seen.add(finalUrl);
    }
    const page = out.contentType === 'text/html' ? extractHtml(out.body, out.url) : extractText(out.body, out.url, out.contentType);
    if (!page.nofollow && item.depth < req.maxDepth) for (const l of page.links) enqueue(l, item.depth + 1);
    let docUrl = finalUrl;
    if (page.canonical) {
      const canon = inScope(page.canonical);
      if (canon && canon !== docUrl) {
        docUrl = canon;
        // The canonical page is this one: do not fetch it again.
        seen.add(canon);
      }
    }
    if (page.noindex) return skip('noindex');
    if (!page.markdown.trim()) return skip('empty');
    const pageHash = createHash('sha256').update(page.markdown).digest('hex');
    if (pageHashes.has(pageHash) || pageHashes.has(`url:${docUrl}`)) return skip('duplicate');
    pageHashes.add(pageHash);
    pageHashes.add(`url:${docUrl}`);
    await indexPage(docUrl, page);
    counts.indexed++;
    deps.onPage?.('indexed');
  };

  // Workers share the frontier; a worker with nothing to do waits for one that may still add links.
  let active = 0;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let fatal: unknown;
  const worker = async (): Promise<void> => {
    while (!signal.aborted && fatal === undefined) {
      if (attempts >= req.maxPages) {
        if (queue.length) stoppedBy = 'max_pages';
        return;
      }
      const item = queue.shift();
      if (!item) {
        if (active === 0) return notify();
        await new Promise<void>((r) => {
          const prev = wake;
          wake = () => {
            prev?.();
            r();
          };
        });
        continue;
      }
      active++;
      try {
        await processItem(item);
        report(`fetched ${counts.fetched}, indexed ${counts.indexed}, skipped ${counts.skipped}, failed ${counts.failed}: ${item.url}`);
      } catch (err) {
        // Indexing errors (embedder, store) concern every page: stop the crawl with that error.
        fatal ??= err;
      } finally {
        active--;
        notify();
      }
    }
    notify();
  };
  const onAbort = (): void => notify();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(Array.from({ length: settings.concurrency }, () => worker()));
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (fatal !== undefined && !signal.aborted) throw fatal;
  if (signal.aborted) throw new ShieldError('CANCELLED', `Crawl cancelled after ${counts.fetched} pages.`);
  if (counts.fetched === 0 && failures.length > 0 && failures.every((f) => f.code === 'URL_NOT_ALLOWED')) {
    throw new ShieldError('URL_NOT_ALLOWED', failures[0]!.message, { details: { failures } });
  }
  return {
    collection: req.collection,
    backend: store.backend,
    source: req.source,
    pages: counts,
    chunks: chunkCounts,
    skipped_reasons: reasons,
    failures,
    embedding,
    stopped_by: stoppedBy,
    duration_ms: Date.now() - started,
  };
}
