// One page along the polite, safe path: robots.txt rules, the page budget, per-host delay and concurrency, the host's breaker, the SSRF-safe fetcher.
import { ShieldError } from '../../../errors.js';
import type { BreakerRun } from '../embedder.js';
import type { FetchOptions, FetchOutcome, SafeFetcher } from '../fetcher.js';
import type { RobotsCache, RobotsRules } from '../robots.js';
import { HostGate } from './host-gate.js';

export const CONTENT_TYPES = ['text/html', 'text/plain', 'text/markdown'] as const;

export interface PolitenessSettings {
  perHostConcurrency: number;
  /** Minimum gap between two request starts on one host, in ms. */
  minDelayMs: number;
  /** A robots.txt Crawl-delay above this is capped, in ms. */
  maxCrawlDelayMs: number;
}

export type FetchedPage = Extract<FetchOutcome, { kind: 'ok' }>;

/** What became of one page: fetched, skipped (counted with a reason), failed, or nothing to count (budget spent, cancelled). */
export type PageFetch = FetchedPage | { kind: 'skipped'; reason: string } | { kind: 'failed'; error: unknown } | { kind: 'not_attempted' };

export interface PageFetcherDeps {
  fetcher: SafeFetcher;
  robots: RobotsCache;
  breakers: BreakerRun;
  settings: PolitenessSettings;
}

export class PageFetcher {
  private readonly gate: HostGate;
  /** Every hop runs through the breaker of its host (host:<name>). */
  readonly via: NonNullable<FetchOptions['via']>;

  constructor(
    private readonly deps: PageFetcherDeps,
    private readonly signal: AbortSignal,
  ) {
    this.gate = new HostGate(deps.settings.perHostConcurrency);
    this.via = (host, fn, s) => deps.breakers(`host:${host}`, fn, s);
  }

  /**
   * Fetch `url` if robots.txt allows it and `claim()` grants it a page of the budget (asked only
   * for allowed pages, so disallowed ones cost nothing).
   */
  async fetch(url: string, claim: () => boolean): Promise<PageFetch> {
    const { signal, via } = this;
    let rules: RobotsRules;
    try {
      rules = await this.deps.robots.rulesFor(url, { signal, via });
    } catch (error) {
      return signal.aborted ? { kind: 'not_attempted' } : { kind: 'failed', error };
    }
    if (!rules.isAllowed(url)) return { kind: 'skipped', reason: rules.mode === 'disallow_all' ? 'robots_unreachable' : 'robots' };
    if (!claim()) return { kind: 'not_attempted' };
    const release = await this.gate.acquire(new URL(url).hostname, this.delayFor(rules), signal);
    let out: FetchOutcome;
    try {
      out = await this.deps.fetcher.fetch(url, { signal, via, accept: CONTENT_TYPES });
    } catch (error) {
      return signal.aborted ? { kind: 'not_attempted' } : { kind: 'failed', error };
    } finally {
      release();
    }
    if (out.kind === 'skipped') return { kind: 'skipped', reason: out.reason };
    if (out.kind === 'status') {
      const code = out.status === 404 || out.status === 410 ? 'NOT_FOUND' : 'UPSTREAM_REJECTED';
      return { kind: 'failed', error: new ShieldError(code, `${url} answered ${out.status}.`) };
    }
    return out;
  }

  /** Our own minimum gap, raised by the site's Crawl-delay up to a cap (a crawl must finish). */
  private delayFor(rules: RobotsRules): number {
    const { minDelayMs, maxCrawlDelayMs } = this.deps.settings;
    return Math.max(minDelayMs, Math.min(rules.crawlDelayMs ?? 0, maxCrawlDelayMs));
  }
}
