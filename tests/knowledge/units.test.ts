// Unit tests: robots.txt (RFC 9309), chunking, reciprocal rank fusion, FTS queries, point ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkMarkdown, contentHash } from '../../src/providers/knowledge/chunk.js';
import { SafeFetcher } from '../../src/providers/knowledge/fetcher.js';
import { startSite, type LocalSite } from '../fakes/site/site.js';
import { ERROR_TTL_MS, parseRobots, productToken, RobotsCache } from '../../src/providers/knowledge/robots.js';
import { ftsQuery } from '../../src/providers/knowledge/sqlite-index.js';
import { systemResolver } from '../../src/providers/knowledge/ssrf.js';
import { chunkId, reciprocalRankFusion } from '../../src/providers/knowledge/store.js';

describe('robots.txt rules', () => {
  const txt = [
    'User-agent: *',
    'Disallow: /private/',
    'Allow: /private/allowed',
    'Disallow: /*.pdf$',
    '',
    'User-agent: ShieldBot',
    'Disallow: /only-for-others/',
    'Allow: /page',
    'Disallow: /page',
    'Crawl-delay: 2',
  ].join('\n');
  const base = 'https://site.example';
  const star = parseRobots(`${base}/robots.txt`, txt, 'OtherBot/1.0');
  const mine = parseRobots(`${base}/robots.txt`, txt, 'ShieldBot/0.1 (+https://x)');

  it('matches the product token case-insensitively, else the * group', () => {
    expect(productToken('ShieldBot/0.1 (+https://x)')).toBe('shieldbot');
    expect(mine.isAllowed(`${base}/private/x`)).toBe(true);
    expect(mine.isAllowed(`${base}/only-for-others/a`)).toBe(false);
    expect(star.isAllowed(`${base}/private/x`)).toBe(false);
  });
  it('longest match wins; equal length: allow wins', () => {
    expect(star.isAllowed(`${base}/private/allowed`)).toBe(true);
    expect(star.isAllowed(`${base}/private/allowed-too`)).toBe(true);
    expect(star.isAllowed(`${base}/private/other`)).toBe(false);
    expect(mine.isAllowed(`${base}/page`)).toBe(true);
  });
  it('supports * and $ wildcards', () => {
    expect(star.isAllowed(`${base}/docs/a.pdf`)).toBe(false);
    expect(star.isAllowed(`${base}/docs/a.pdf?x=1`)).toBe(true);
  });
  it('reads Crawl-delay of the matching group', () => {
    expect(mine.crawlDelayMs).toBe(2000);
    expect(star.crawlDelayMs).toBeUndefined();
  });
  it('refuses URLs of another origin', () => {
    expect(star.isAllowed('https://other.example/')).toBe(false);
  });
});

describe('robots.txt fetching', () => {
  let site: LocalSite;
  let fetcher: SafeFetcher;
  beforeAll(async () => {
    site = await startSite(new Map());
    fetcher = new SafeFetcher({
      policy: { allowedPorts: [], allowPrivateNetworks: false, allowPrivateOrigins: [site.url] },
      resolver: systemResolver,
      userAgent: 'ShieldBot/1',
      timeoutMs: 2000,
      maxBytes: 100_000,
      maxRedirects: 5,
    });
  });
  afterAll(async () => {
    await fetcher.close();
    await site.close();
  });

  it('4xx means no restrictions', async () => {
    site.setPage('/robots.txt', { status: 404, body: 'no' });
    const rules = await new RobotsCache(fetcher, 'ShieldBot/1', 60_000).rulesFor(`${site.url}/x`);
    expect(rules.mode).toBe('allow_all');
    expect(rules.isAllowed(`${site.url}/anything`)).toBe(true);
  });
  it('5xx means disallow everything', async () => {
    site.setPage('/robots.txt', { status: 503, body: 'down' });
    const rules = await new RobotsCache(fetcher, 'ShieldBot/1', 60_000).rulesFor(`${site.url}/x`);
    expect(rules.mode).toBe('disallow_all');
    expect(rules.isAllowed(`${site.url}/`)).toBe(false);
  });
  it('a network error means disallow everything', async () => {
    const dead = await startSite(new Map());
    const url = dead.url;
    await dead.close();
    const f = new SafeFetcher({ policy: { allowedPorts: [], allowPrivateNetworks: true, allowPrivateOrigins: [] }, resolver: systemResolver, userAgent: 'x', timeoutMs: 1000, maxBytes: 1000, maxRedirects: 5 });
    const rules = await new RobotsCache(f, 'x', 60_000).rulesFor(`${url}/`);
    await f.close();
    expect(rules.mode).toBe('disallow_all');
  });
  it('caches per origin until the TTL expires', async () => {
    site.setPage('/robots.txt', { contentType: 'text/plain', body: 'User-agent: *\nDisallow: /a\n' });
    let now = 1_000;
    const cache = new RobotsCache(fetcher, 'ShieldBot/1', 86_400_000, () => now);
    const before = site.hits.filter((h) => h === '/robots.txt').length;
    expect((await cache.rulesFor(`${site.url}/x`)).isAllowed(`${site.url}/a`)).toBe(false);
    site.setPage('/robots.txt', { contentType: 'text/plain', body: 'User-agent: *\nDisallow:\n' });
    expect((await cache.rulesFor(`${site.url}/y`)).isAllowed(`${site.url}/a`)).toBe(false);
    expect(site.hits.filter((h) => h === '/robots.txt').length - before).toBe(1);
    now += 86_400_001;
    expect((await cache.rulesFor(`${site.url}/y`)).isAllowed(`${site.url}/a`)).toBe(true);
  });
  it('keeps a disallow-all caused by a 5xx for a short while only', async () => {
    site.setPage('/robots.txt', { status: 503, body: 'down' });
    let now = 5_000;
    const cache = new RobotsCache(fetcher, 'ShieldBot/1', 86_400_000, () => now);
    expect((await cache.rulesFor(`${site.url}/x`)).mode).toBe('disallow_all');
    site.setPage('/robots.txt', { contentType: 'text/plain', body: 'User-agent: *\nDisallow:\n' });
    now += ERROR_TTL_MS - 1;
    expect((await cache.rulesFor(`${site.url}/x`)).mode).toBe('disallow_all');
    now += 2;
    expect((await cache.rulesFor(`${site.url}/x`)).mode).toBe('parsed');
  });
  it('one caller cancelling does not fail the shared robots.txt fetch of another', async () => {
    site.setPage('/robots.txt', { contentType: 'text/plain', body: 'User-agent: *\nDisallow: /private\n' });
    const cache = new RobotsCache(fetcher, 'ShieldBot/1', 60_000);
    const ac = new AbortController();
    const a = cache.rulesFor(`${site.url}/x`, { signal: ac.signal });
    const b = cache.rulesFor(`${site.url}/y`);
    ac.abort();
    await expect(a).rejects.toMatchObject({ code: 'CANCELLED' });
    expect((await b).mode).toBe('parsed');
  });
});

describe('chunking', () => {
  const opts = { maxChars: 300, overlapChars: 40, minChars: 20 };
  const md = `Intro text before any heading that is long enough to stand alone as a chunk.

# Gmheap exhaustion

## Symptoms

${'The gmheap is exhausted and processes fail to allocate shared memory. '.repeat(10)}

## Fix

Increase gmheap in iris.cpf and restart.

\`\`\`
# not a heading inside a fence
gmheap=393216
\`\`\`
`;
  const chunks = chunkMarkdown(md, opts);

  it('splits on headings and records the heading path', () => {
    const headings = [...new Set(chunks.map((c) => c.heading))];
    expect(headings).toEqual(['', 'Gmheap exhaustion > Symptoms', 'Gmheap exhaustion > Fix']);
    expect(chunks.find((c) => c.heading.endsWith('Fix'))!.text).toContain('# not a heading inside a fence');
  });
  it('keeps chunks within the size limit, with overlap between pieces of a long section', () => {
    const sym = chunks.filter((c) => c.heading.endsWith('Symptoms'));
    expect(sym.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(opts.maxChars);
    const tail = sym[0]!.text.slice(-20);
    expect(sym[1]!.text.slice(0, 60)).toContain(tail.trim().split(' ').pop()!);
  });
  it('hashes content deterministically and distinguishes changes', () => {
    expect(chunkMarkdown(md, opts).map((c) => c.hash)).toEqual(chunks.map((c) => c.hash));
    expect(contentHash('h', 'a')).not.toBe(contentHash('h', 'b'));
    expect(contentHash('h1', 'a')).not.toBe(contentHash('h2', 'a'));
  });
  it('merges a too-short section into the next one', () => {
    const c = chunkMarkdown('# A\n\nshort\n\n# B\n\nA longer section body that is comfortably above the minimum size.', opts);
    expect(c).toHaveLength(1);
    expect(c[0]!.text).toContain('short');
  });
});

describe('reciprocal rank fusion', () => {
  it('rewards items ranked well in both lists', () => {
    const fused = reciprocalRankFusion([['a', 'b', 'c'], ['b', 'c', 'd']], (x) => x);
    expect(fused.map((f) => f.item)).toEqual(['b', 'c', 'a', 'd']);
    expect(fused[0]!.score).toBeCloseTo(1 / 62 + 1 / 61, 10);
    expect(fused[2]!.score).toBeCloseTo(1 / 61, 10);
  });
});

describe('queries and ids', () => {
  it('quotes every FTS word so no operator can be injected', () => {
    expect(ftsQuery('gmheap NEAR(exhaustion) OR "x"')).toBe('"gmheap" OR "near" OR "exhaustion" OR "or" OR "x"');
    expect(ftsQuery('!!!')).toBeUndefined();
  });
  it('derives stable UUID point ids', () => {
    const id = chunkId('c', 'https://a/', 'abc');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(chunkId('c', 'https://a/', 'abc')).toBe(id);
  });
});
