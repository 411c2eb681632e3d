// Sitemaps: the XML parser (urlset, index, namespaces, CDATA, entities, malformed and oversized input) and the bounded walk from robots.txt to page URLs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { decodeXmlText, parseSitemap, sitemapPageUrls, type SitemapContext } from '../../src/providers/knowledge/crawl/sitemaps.js';
import { SafeFetcher } from '../../src/providers/knowledge/fetcher.js';
import { RobotsCache } from '../../src/providers/knowledge/robots.js';
import { systemResolver } from '../../src/providers/knowledge/ssrf.js';
import { startSite, type LocalSite, type SitePage } from '../fakes/site/site.js';

const xml = (body: string): SitePage => ({ contentType: 'application/xml', body: `<?xml version="1.0" encoding="UTF-8"?>${body}` });
const urlset = (...paths: string[]): SitePage => xml(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${paths.map((p) => `<url><loc>${p}</loc></url>`).join('')}</urlset>`);
const index = (...paths: string[]): SitePage => xml(`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${paths.map((p) => `<sitemap><loc>${p}</loc></sitemap>`).join('')}</sitemapindex>`);

describe('parseSitemap', () => {
  const NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"';
  const refusedWith = (doc: string, problem: RegExp): void => {
    const out = parseSitemap(doc);
    expect(out.urls).toEqual([]);
    expect(out.sitemaps).toEqual([]);
    expect(out.problem).toMatch(problem);
  };

  it('reads the page URLs of a urlset', () => {
    const doc = `<?xml version="1.0" encoding="UTF-8"?>\n<urlset ${NS}>\n  <url>\n    <loc>\n      https://a.example/x\n    </loc>\n    <lastmod>2026-01-01</lastmod>\n  </url>\n  <url><loc>https://a.example/y</loc></url>\n</urlset>`;
    expect(parseSitemap(doc)).toEqual({ urls: ['https://a.example/x', 'https://a.example/y'], sitemaps: [] });
  });
  it('reads the sitemaps of an index', () => {
    expect(parseSitemap(`<sitemapindex ${NS}><sitemap><loc>https://a.example/s1.xml</loc></sitemap><sitemap><loc>https://a.example/s2.xml</loc></sitemap></sitemapindex>`)).toEqual({
      urls: [],
      sitemaps: ['https://a.example/s1.xml', 'https://a.example/s2.xml'],
    });
  });
  it('reads prefixed elements, and only the <loc> of the entry (not of an image extension)', () => {
    const doc = `<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
      <sm:url><sm:loc>https://a.example/page</sm:loc><image:image><image:loc>https://a.example/pic.png</image:loc></image:image></sm:url></sm:urlset>`;
    expect(parseSitemap(doc).urls).toEqual(['https://a.example/page']);
  });
  it('decodes the predefined entities and character references in <loc>, and leaves CDATA as written', () => {
    const doc = `<urlset ${NS}>
      <url><loc>https://a.example/q?a=1&amp;b=2&#38;c=&#x33;</loc></url>
      <url><loc><![CDATA[ https://a.example/c?a=1&amp;b=2 ]]></loc></url>
      <url><loc><![CDATA[https://a.example/]]><![CDATA[two-parts]]></loc></url></urlset>`;
    expect(parseSitemap(doc).urls).toEqual(['https://a.example/q?a=1&b=2&c=3', 'https://a.example/c?a=1&amp;b=2', 'https://a.example/two-parts']);
  });
  it('ignores entries it cannot trust and keeps the rest', () => {
    const doc = `<urlset ${NS}>
      <url><loc>https://a.example/ok</loc></url>
      <url><loc>https://a.example/&unknown;</loc></url>
      <url><loc>/relative</loc></url>
      <url><loc>javascript:alert(1)</loc></url>
      <url><loc>ftp://a.example/file</loc></url>
      <url><loc></loc></url>
      <url></url>
      <url>text only</url>
      <url><loc>https://a.example/1</loc><loc>https://a.example/2</loc></url>
      <url><loc>a<![CDATA[b]]>c</loc></url>
      <url><loc>https://a.example/${'x'.repeat(2100)}</loc></url>
      <url><loc>https://a.example/last</loc></url></urlset>`;
    expect(parseSitemap(doc)).toEqual({ urls: ['https://a.example/ok', 'https://a.example/last'], sitemaps: [] });
  });
  it('an empty urlset is no URLs and no problem', () => {
    expect(parseSitemap(`<urlset ${NS}/>`)).toEqual({ urls: [], sitemaps: [] });
  });
  it('refuses malformed documents without throwing', () => {
    refusedWith('<urlset><url><loc>https://a.example/x</url></urlset>', /well-formed/);
    refusedWith('<urlset><url><loc>https://a.example/x</loc></url><url><lo', /well-formed/);
    refusedWith('<urlset></urlset><urlset></urlset>', /well-formed/);
    refusedWith('<urlset><url><loc>https://a.example/x?a=1&b=2</loc></url></urlset>', /well-formed/);
    refusedWith('https://a.example/x\nhttps://a.example/y', /well-formed/);
    refusedWith('', /./);
    refusedWith('<html><body>Not a sitemap</body></html>', /not a sitemap \(root html\)/);
    refusedWith(`<urlset>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</urlset>`, /unreadable/);
    refusedWith('<urlset><__proto__><polluted>1</polluted></__proto__></urlset>', /unreadable/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('refuses a document over the size cap unparsed, and reads at most maxLocs URLs', () => {
    const many = `<urlset ${NS}>${Array.from({ length: 300 }, (_, i) => `<url><loc>https://a.example/${i}</loc></url>`).join('')}</urlset>`;
    const limits = { maxChars: many.length - 1, maxLocs: 10, maxUrlLength: 2048 };
    expect(parseSitemap(many, limits).problem).toMatch(/larger than/);
    expect(parseSitemap(many, { ...limits, maxChars: many.length }).urls).toHaveLength(10);
  });
  it('expands no entity: a DTD (entity bomb, external entity) is refused at once', () => {
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><urlset><url><loc>https://a.example/&lol9;</loc></url></urlset>`;
    const started = Date.now();
    refusedWith(lol, /DTD/);
    expect(Date.now() - started).toBeLessThan(1_000);
    refusedWith('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><urlset><url><loc>https://a.example/&xxe;</loc></url></urlset>', /DTD/);
    refusedWith('<!doctype urlset><urlset/>', /DTD/);
  });
  it('decodes references but not unknown or out-of-range ones', () => {
    expect(decodeXmlText('a&lt;b&gt;c&quot;d&apos;e&amp;f')).toBe(`a<b>c"d'e&f`);
    expect(decodeXmlText('&#x1F600;')).toBe('\u{1F600}');
    expect(decodeXmlText('&constructor;')).toBeUndefined();
    expect(decodeXmlText('&#x110000;')).toBeUndefined();
    expect(decodeXmlText('&#0;')).toBeUndefined();
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
  it('follows indexes two levels deep, no deeper', async () => {
    site.setPage('/maps/index.xml', index('/maps/l1.xml'));
    site.setPage('/maps/l1.xml', index('/maps/l2.xml'));
    site.setPage('/maps/l2.xml', index('/maps/l3.xml'));
    site.setPage('/maps/l3.xml', urlset('/too-deep'));
    expect(await sitemapPageUrls(site.url, ctx())).toEqual([]);
    expect(fetched('/maps/l2.xml')).toBe(1);
    expect(fetched('/maps/l3.xml')).toBe(0);
    site.setPage('/maps/l2.xml', urlset('/deep-enough'));
    expect(await sitemapPageUrls(site.url, ctx())).toEqual([`${site.url}/deep-enough`]);
  });
  it('a sitemap that is missing or not XML gives no URLs and no error', async () => {
    site.setPage('/maps/index.xml', { status: 404, body: 'no' });
    expect(await sitemapPageUrls(site.url, ctx())).toEqual([]);
    site.setPage('/maps/index.xml', { contentType: 'text/html', body: '<html></html>' });
    expect(await sitemapPageUrls(site.url, ctx())).toEqual([]);
  });
});
