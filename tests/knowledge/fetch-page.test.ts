// One page along the polite path, against the local site: robots rules, the page budget, errors as outcomes, Crawl-delay, the host breaker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageFetcher } from '../../src/providers/knowledge/crawl/fetch-page.js';
import type { BreakerRun } from '../../src/providers/knowledge/embedder.js';
import { SafeFetcher } from '../../src/providers/knowledge/fetcher.js';
import { RobotsCache } from '../../src/providers/knowledge/robots.js';
import { systemResolver } from '../../src/providers/knowledge/ssrf.js';
import { htmlPage, startSite, type LocalSite, type SitePage } from '../fakes/site/site.js';

const page = (title: string): SitePage => ({ body: htmlPage(title, `<p>${title}</p>`) });

describe('PageFetcher', () => {
  let site: LocalSite;
  let fetcher: SafeFetcher;
  const breakerNames: string[] = [];
  const breakers: BreakerRun = (name, fn, signal) => {
    breakerNames.push(name);
    return fn(signal ?? new AbortController().signal);
  };
  const make = (over: { minDelayMs?: number; maxCrawlDelayMs?: number } = {}, signal = new AbortController().signal): PageFetcher =>
    new PageFetcher(
      { fetcher, robots: new RobotsCache(fetcher, 'ShieldBot/1', 60_000), breakers, settings: { perHostConcurrency: 2, minDelayMs: 0, maxCrawlDelayMs: 30_000, ...over } },
      signal,
    );

  beforeAll(async () => {
    site = await startSite(
      new Map<string, SitePage>([
        ['/robots.txt', { contentType: 'text/plain', body: 'User-agent: *\nDisallow: /private/\n' }],
        ['/a', page('A')],
        ['/b', page('B')],
        ['/private/x', page('Private')],
        ['/moved', { status: 301, location: '/a' }],
        ['/to-metadata', { status: 302, location: 'http://169.254.169.254/latest/meta-data/' }],
        ['/gone', { status: 410, body: 'gone' }],
        ['/forbidden', { status: 403, body: 'no' }],
        ['/data.json', { contentType: 'application/json', body: '{}' }],
      ]),
    );
    // Time is not the subject of these tests: the cap is generous.
    fetcher = new SafeFetcher({ policy: { allowedPorts: [], allowPrivateNetworks: false, allowPrivateOrigins: [site.url] }, resolver: systemResolver, userAgent: 'ShieldBot/1', timeoutMs: 10_000, maxBytes: 100_000, maxRedirects: 5 });
  });
  afterAll(async () => {
    await fetcher.close();
    await site.close();
  });

  it('fetches an allowed page through the breaker of its host', async () => {
    const out = await make().fetch(`${site.url}/a`, () => true);
    expect(out).toMatchObject({ kind: 'ok', status: 200, contentType: 'text/html', redirects: 0 });
    expect(breakerNames).toContain('host:127.0.0.1');
  });
  it('follows a redirect and says where the page came from', async () => {
    expect(await make().fetch(`${site.url}/moved`, () => true)).toMatchObject({ kind: 'ok', url: `${site.url}/a`, redirects: 1 });
  });
  it('skips a page robots.txt disallows without taking from the budget or fetching it', async () => {
    let claimed = 0;
    const out = await make().fetch(`${site.url}/private/x`, () => ++claimed > 0);
    expect(out).toEqual({ kind: 'skipped', reason: 'robots' });
    expect(claimed).toBe(0);
    expect(site.hits).not.toContain('/private/x');
  });
  it('fetches nothing once the budget is spent', async () => {
    const before = site.hits.filter((h) => h === '/b').length;
    expect(await make().fetch(`${site.url}/b`, () => false)).toEqual({ kind: 'not_attempted' });
    expect(site.hits.filter((h) => h === '/b').length).toBe(before);
  });
  it('turns answers that are not pages into failures and skips', async () => {
    const f = make();
    expect(await f.fetch(`${site.url}/gone`, () => true)).toMatchObject({ kind: 'failed', error: { code: 'NOT_FOUND' } });
    expect(await f.fetch(`${site.url}/forbidden`, () => true)).toMatchObject({ kind: 'failed', error: { code: 'UPSTREAM_REJECTED' } });
    expect(await f.fetch(`${site.url}/data.json`, () => true)).toEqual({ kind: 'skipped', reason: 'content_type' });
  });
  it('re-checks every redirect hop: one to the metadata address fails with URL_NOT_ALLOWED', async () => {
    expect(await make().fetch(`${site.url}/to-metadata`, () => true)).toMatchObject({ kind: 'failed', error: { code: 'URL_NOT_ALLOWED' } });
  });
  it('keeps the larger of its own delay and Crawl-delay between two pages of one host', async () => {
    site.setPage('/robots.txt', { contentType: 'text/plain', body: 'User-agent: *\nCrawl-delay: 0.2\n' });
    const f = make({ minDelayMs: 50 });
    const t0 = Date.now();
    await f.fetch(`${site.url}/a`, () => true);
    await f.fetch(`${site.url}/b`, () => true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(199);
  });
  it('caps a long Crawl-delay at maxCrawlDelayMs', async () => {
    site.setPage('/robots.txt', { contentType: 'text/plain', body: 'User-agent: *\nCrawl-delay: 3600\n' });
    const ac = new AbortController();
    const f = make({ maxCrawlDelayMs: 100 }, ac.signal);
    await f.fetch(`${site.url}/a`, () => true);
    const t0 = Date.now();
    // Generous bound: the point is an hour was not waited.
    const timer = setTimeout(() => ac.abort(), 20_000);
    await expect(f.fetch(`${site.url}/b`, () => true)).resolves.toMatchObject({ kind: 'ok' });
    clearTimeout(timer);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
  });
  it('with robots.txt unreachable (5xx) every page is skipped as robots_unreachable', async () => {
    site.setPage('/robots.txt', { status: 503, body: 'down' });
    expect(await make().fetch(`${site.url}/a`, () => true)).toEqual({ kind: 'skipped', reason: 'robots_unreachable' });
  });
});
