// The crawl frontier: canonical URLs, scope, depth, the queue bound, the page budget, redirects and rel=canonical.
import { describe, expect, it } from 'vitest';
import { Frontier, inDomains, normalizeUrl, pathMatcher, type FrontierScope } from '../../src/providers/knowledge/crawl/frontier.js';

const scope = (over: Partial<FrontierScope> = {}): FrontierScope => ({ allowedDomains: ['example.com'], include: [], exclude: [], maxDepth: 2, maxPages: 5, ...over });
const drain = (f: Frontier): Array<[string, number]> => {
  const out: Array<[string, number]> = [];
  for (let i = f.next(); i; i = f.next()) out.push([i.url, i.depth]);
  return out;
};

describe('URLs and scope', () => {
  it('normalises for de-duplication: no fragment, no tracking parameters, sorted query', () => {
    expect(normalizeUrl('HTTP://Example.COM:80/a?utm_source=x&b=2&a=1#frag')).toBe('http://example.com/a?a=1&b=2');
    expect(normalizeUrl('https://example.com/a?fbclid=1&gclid=2')).toBe('https://example.com/a');
  });
  it('matches allowed domains and subdomains only', () => {
    expect(inDomains('docs.example.com', ['example.com'])).toBe(true);
    expect(inDomains('EXAMPLE.com', ['example.com'])).toBe(true);
    expect(inDomains('badexample.com', ['example.com'])).toBe(false);
    expect(inDomains('[::1]', ['::1'])).toBe(true);
  });
  it('matches path prefixes and globs', () => {
    expect(pathMatcher('/docs/')('/docs/a')).toBe(true);
    expect(pathMatcher('/docs/')('/doc')).toBe(false);
    expect(pathMatcher('*.pdf')('/a/b.pdf')).toBe(true);
    expect(pathMatcher('/a.b*')('/aXb')).toBe(false);
  });
  it('keeps http(s) URLs of the allowed domains within the include and exclude paths', () => {
    const f = new Frontier(scope({ include: ['/docs/'], exclude: ['/docs/private*'] }));
    expect(f.inScope('https://docs.example.com/docs/a#x')).toBe('https://docs.example.com/docs/a');
    expect(f.inScope('https://other.example/docs/a')).toBeUndefined();
    expect(f.inScope('ftp://example.com/docs/a')).toBeUndefined();
    expect(f.inScope('mailto:ops@example.com')).toBeUndefined();
    expect(f.inScope('not a url')).toBeUndefined();
    expect(f.inScope('https://example.com/blog/')).toBeUndefined();
    expect(f.inScope('https://example.com/docs/private/x')).toBeUndefined();
  });
});

describe('the queue', () => {
  it('queues each canonical URL once, in order, with its depth', () => {
    const f = new Frontier(scope());
    f.add('https://example.com/', 0);
    f.add('https://example.com/a?utm_source=x', 1);
    f.add('https://example.com/a#top', 1);
    f.add('https://other.example/', 1);
    expect(drain(f)).toEqual([
      ['https://example.com/', 0],
      ['https://example.com/a', 1],
    ]);
    f.add('https://example.com/a', 1);
    expect(f.next()).toBeUndefined();
  });
  it('does not go deeper than maxDepth', () => {
    const f = new Frontier(scope({ maxDepth: 1 }));
    f.add('https://example.com/deep', 2);
    f.addLinks(['https://example.com/b'], 0);
    f.addLinks(['https://example.com/c'], 1);
    expect(drain(f)).toEqual([['https://example.com/b', 1]]);
  });
  it('is bounded to a few times the page budget', () => {
    const f = new Frontier(scope({ maxPages: 1 }));
    for (let i = 0; i < 50; i++) f.add(`https://example.com/p${i}`, 0);
    expect(drain(f)).toHaveLength(11);
  });
});

describe('the page budget', () => {
  it('grants maxPages claims, then stops the crawl by max_pages', () => {
    const f = new Frontier(scope({ maxPages: 2 }));
    expect(f.exhausted()).toBe(false);
    expect([f.claim(), f.claim()]).toEqual([true, true]);
    expect(f.stoppedByBudget).toBe(false);
    expect(f.claim()).toBe(false);
    expect(f.stoppedByBudget).toBe(true);
  });
  it('counts as stopped by max_pages only when URLs were left waiting', () => {
    const f = new Frontier(scope({ maxPages: 1 }));
    f.claim();
    expect(f.exhausted()).toBe(true);
    expect(f.stoppedByBudget).toBe(false);
    f.add('https://example.com/left', 0);
    expect(f.exhausted()).toBe(true);
    expect(f.stoppedByBudget).toBe(true);
  });
});

describe('where a page lands', () => {
  it('indexes a page under its own URL when it did not move', () => {
    const f = new Frontier(scope());
    expect(f.land('https://example.com/a', 'https://example.com/a', 0)).toEqual({ url: 'https://example.com/a' });
  });
  it('skips a redirect that leaves the allowed domains', () => {
    const f = new Frontier(scope());
    expect(f.land('https://example.com/a', 'https://evil.example/', 1)).toEqual({ skipped: 'off_site_redirect' });
  });
  it('follows a redirect out of the include paths but within the domains', () => {
    const f = new Frontier(scope({ include: ['/docs/'] }));
    expect(f.land('https://example.com/docs/old', 'https://example.com/new?utm_source=x', 1)).toEqual({ url: 'https://example.com/new' });
  });
  it('a redirect to a page already known is a duplicate, and its target is not fetched again', () => {
    const f = new Frontier(scope());
    f.add('https://example.com/target', 0);
    expect(f.land('https://example.com/moved', 'https://example.com/target', 1)).toEqual({ skipped: 'duplicate' });
    expect(f.land('https://example.com/moved2', 'https://example.com/other', 1)).toEqual({ url: 'https://example.com/other' });
    f.next();
    f.add('https://example.com/other', 1);
    expect(f.next()).toBeUndefined();
  });
  it('indexes under an in-scope rel=canonical and never fetches that URL again', () => {
    const f = new Frontier(scope({ exclude: ['/private'] }));
    expect(f.documentUrl('https://example.com/alias', 'https://example.com/page#x')).toBe('https://example.com/page');
    f.add('https://example.com/page', 1);
    expect(f.next()).toBeUndefined();
    expect(f.documentUrl('https://example.com/alias', 'https://other.example/page')).toBe('https://example.com/alias');
    expect(f.documentUrl('https://example.com/alias', 'https://example.com/private')).toBe('https://example.com/alias');
    expect(f.documentUrl('https://example.com/alias', undefined)).toBe('https://example.com/alias');
  });
});
