// What a crawl counts: outcomes, skip reasons, the listed failures and their codes, the progress line.
import { describe, expect, it } from 'vitest';
import { ShieldError } from '../../src/errors.js';
import { createLogger } from '../../src/observability/logger.js';
import { CrawlTally, type PageOutcome } from '../../src/providers/knowledge/crawl/tally.js';

const logger = createLogger({ level: 'silent' });

describe('CrawlTally', () => {
  it('counts pages by outcome and reports each to the metrics callback', () => {
    const seen: PageOutcome[] = [];
    const t = new CrawlTally(logger, (o) => seen.push(o));
    t.fetched();
    t.indexed();
    t.skip('robots');
    t.skip('robots');
    t.skip('duplicate');
    t.fail('https://a/x', new ShieldError('NOT_FOUND', 'https://a/x answered 404.'));
    expect(t.counts).toEqual({ fetched: 1, indexed: 1, skipped: 3, failed: 1 });
    expect(t.reasons).toEqual({ robots: 2, duplicate: 1 });
    expect(seen).toEqual(['fetched', 'indexed', 'skipped', 'skipped', 'skipped', 'failed']);
    expect(t.progressMessage('https://a/y')).toBe('fetched 1, indexed 1, skipped 3, failed 1: https://a/y');
  });
  it('lists the first 20 failures with a stable code; other errors are UPSTREAM_UNAVAILABLE', () => {
    const t = new CrawlTally(logger);
    t.fail('https://a/0', new Error('socket hang up'));
    for (let i = 1; i < 30; i++) t.fail(`https://a/${i}`, new ShieldError('UPSTREAM_TIMEOUT', 'slow'));
    expect(t.counts.failed).toBe(30);
    expect(t.failures).toHaveLength(20);
    expect(t.failures[0]).toEqual({ url: 'https://a/0', code: 'UPSTREAM_UNAVAILABLE', message: 'fetch failed: socket hang up' });
    expect(t.failures[1]!.code).toBe('UPSTREAM_TIMEOUT');
  });
  it('knows when nothing was fetched because every URL was refused', () => {
    const t = new CrawlTally(logger);
    expect(t.onlyRefusals()).toBe(false);
    t.fail('http://10.0.0.1/', new ShieldError('URL_NOT_ALLOWED', 'no'));
    expect(t.onlyRefusals()).toBe(true);
    t.fetched();
    expect(t.onlyRefusals()).toBe(false);
  });
});
