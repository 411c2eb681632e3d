// Sitemaps seed a crawl with pages no link reaches: found through robots.txt (or /sitemap.xml), parsed, bounded.
import type { Logger } from '../../../observability/logger.js';
import type { FetchOptions, SafeFetcher } from '../fetcher.js';
import type { RobotsCache } from '../robots.js';

const SITEMAP_TYPES = ['application/xml', 'text/xml', 'text/plain', 'application/x-xml'];
/** Sitemaps taken from robots.txt, and from one index. */
const MAX_SITEMAPS_LISTED = 5;
/** Sitemap documents read per origin, indexes included. */
const MAX_DOCUMENTS = 10;

export function parseSitemap(xml: string): { urls: string[]; sitemaps: string[] } {
  const locs = [...xml.matchAll(/<loc>\s*([^<\s]+)\s*<\/loc>/gi)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  return /<sitemapindex[\s>]/i.test(xml) ? { urls: [], sitemaps: locs } : { urls: locs, sitemaps: [] };
}

export interface SitemapContext {
  fetcher: SafeFetcher;
  robots: RobotsCache;
  via: NonNullable<FetchOptions['via']>;
  signal: AbortSignal;
  /** Whether a sitemap's own URL may be fetched (the crawl's allowed domains). */
  allowed(url: string): boolean;
  /** Page URLs taken from one sitemap document. */
  maxUrlsPerDocument: number;
  logger: Logger;
}

/** Page URLs the sitemaps of `origin` list (robots Sitemap: lines, else /sitemap.xml); none when unusable. */
export async function sitemapPageUrls(origin: string, ctx: SitemapContext): Promise<string[]> {
  const found: string[] = [];
  try {
    const rules = await ctx.robots.rulesFor(origin, { signal: ctx.signal, via: ctx.via });
    const maps = rules.sitemaps.length ? rules.sitemaps : [`${origin}/sitemap.xml`];
    const pending = maps.slice(0, MAX_SITEMAPS_LISTED);
    for (let n = 0; n < MAX_DOCUMENTS && pending.length; n++) {
      const m = pending.shift()!;
      if (!rules.isAllowed(m) || !ctx.allowed(m)) continue;
      const out = await ctx.fetcher.fetch(m, { signal: ctx.signal, via: ctx.via, accept: SITEMAP_TYPES });
      if (out.kind !== 'ok') continue;
      const parsed = parseSitemap(out.body);
      pending.push(...parsed.sitemaps.slice(0, MAX_SITEMAPS_LISTED));
      found.push(...parsed.urls.slice(0, ctx.maxUrlsPerDocument));
    }
  } catch (err) {
    if (!ctx.signal.aborted) ctx.logger.debug({ origin, err: (err as Error).message }, 'sitemap not used');
  }
  return found;
}
