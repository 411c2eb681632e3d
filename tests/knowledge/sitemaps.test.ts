// Sitemaps: the parser (urlset, index) and the bounded walk from robots.txt through indexes to page URLs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { parseSitemap, sitemapPageUrls, type SitemapContext } from '../../src/providers/knowledge/crawl/sitemaps.js';
import { SafeFetcher } from '../../src/providers/knowledge/fetcher.js';
import { RobotsCache } from '../../src/providers/knowledge/robots.js';
import { systemResolver } from '../../src/providers/knowledge/ssrf.js';
import { startSite, type LocalSite, type SitePage } from '../fakes/site/site.js';

const xml = (body: string): SitePage => ({ contentType: 'application/xml', body: `<?xml version="1.0" encoding="UTF-8"?>${body}` });
const urlset = (...paths: string[]): SitePage => xml(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${paths.map((p) => `<url><loc>${p}</loc></url>`).join('')}</urlset>`);
const index = (...paths: string[]): SitePage => xml(`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${paths.map((p) => `<sitemap><loc>${p}</loc></sitemap>`).join('')}</sitemapindex>`);

describe('parseSitemap', () => {
  it('reads the page URLs of a urlset', () => {
    expect(parseSitemap('<urlset><url><loc>https://a/x</loc></url></urlset>')).toEqual({ urls: ['https://a/x'], sitemaps: [] });
  });
  it('reads the sitemaps of an index', () => {
    expect(parseSitemap('<sitemapindex><sitemap><loc>https://a/s.xml</loc></sitemap></sitemapindex>')).toEqual({ urls: [], sitemaps: ['https://a/s.xml'] });
  });
});

describe('sitemapPageUrls', () => {
  let site: LocalSite;
  let fetcher: SafeFetcher;
  const ctx = (over: Partial<SitemapContext> = {}): SitemapContext => ({
    fetcher,
    robots: new RobotsCache(fetcher, 'ShieldBot/1', 60_000),
    via: (_host, fn, signal) => fn(signal ?? new AbortController().signal),
    signal: new AbortController().signal,
    allowed: () => true,
    maxUrlsPerDocument: 100,
    logger: createLogger({ level: 'silent' }),
    ...over,
  });
  const fetched = (path: string): number => site.hits.filter((h) => h === path).length;

  beforeAll(async () => {
    site = await startSite(new Map());
    fetcher = new SafeFetcher({ policy: { allowedPorts: [], allowPrivateNetworks: false, allowPrivateOrigins: [site.url] }, resolver: systemResolver, userAgent: 'ShieldBot/1', timeoutMs: 10_000, maxBytes: 1_000_000, maxRedirects: 5 });
  });
  afterAll(async () => {
    await fetcher.close();
    await site.close();
  });

  it('reads /sitemap.xml when robots.txt names no sitemap', async () => {
    site.setPage('/sitemap.xml', urlset('/a', '/b'));
    expect(await sitemapPageUrls(site.url, ctx())).toEqual([`${site.url}/a`, `${site.url}/b`]);
  });
  it('follows the Sitemap: lines of robots.txt and the sitemaps an index lists', async () => {
    site.setPage('/robots.txt', { contentType: 'text/plain', body: 'User-agent: *\nDisallow: /private/\n\nSitemap: /maps/index.xml\n' });
    site.setPage('/maps/index.xml', index('/maps/docs.xml', '/maps/blog.xml'));
    site.setPage('/maps/docs.xml', urlset('/docs/1', '/docs/2'));
    site.setPage('/maps/blog.xml', urlset('/blog/1'));
    expect(await sitemapPageUrls(site.url, ctx())).toEqual([`${site.url}/docs/1`, `${site.url}/docs/2`, `${site.url}/blog/1`]);
  });
  it('does not fetch a sitemap that robots.txt disallows or that lies outside the allowed domains', async () => {
    site.setPage('/maps/index.xml', index('/private/map.xml', '/maps/docs.xml'));
    site.setPage('/private/map.xml', urlset('/secret'));
    const urls = await sitemapPageUrls(site.url, ctx({ allowed: (u) => !u.endsWith('/docs.xml') }));
    expect(urls).toEqual([]);
    expect(fetched('/private/map.xml')).toBe(0);
  });
  it('takes at most maxUrlsPerDocument page URLs from one sitemap', async () => {
    site.setPage('/maps/index.xml', urlset(...Array.from({ length: 50 }, (_, i) => `/p/${i}`)));
    expect(await sitemapPageUrls(site.url, ctx({ maxUrlsPerDocument: 7 }))).toHaveLength(7);
  });
  it('reads at most 10 sitemap documents per origin, however indexes nest', async () => {
    site.setPage('/maps/index.xml', index(...Array.from({ length: 5 }, (_, i) => `/maps/n${i}.xml`)));
    for (let i = 0; i < 5; i++) site.setPage(`/maps/n${i}.xml`, index(...Array.from({ length: 5 }, (_, j) => `/maps/n${i}-${j}.xml`)));
    const before = site.hits.filter((h) => h.startsWith('/maps/')).length;
    await sitemapPageUrls(site.url, ctx());
    expect(site.hits.filter((h) => h.startsWith('/maps/')).length - before).toBe(10);
  });
  it('a sitemap that is missing or not XML gives no URLs and no error', async () => {
    site.setPage('/maps/index.xml', { status: 404, body: 'no' });
    expect(await sitemapPageUrls(site.url, ctx())).toEqual([]);
    site.setPage('/maps/index.xml', { contentType: 'text/html', body: '<html></html>' });
    expect(await sitemapPageUrls(site.url, ctx())).toEqual([]);
  });
});
