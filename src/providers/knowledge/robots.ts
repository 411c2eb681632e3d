// robots.txt per RFC 9309: fetched per origin, 4xx = allow all, 5xx or network error = disallow all, cached.
import { createRequire } from 'node:module';
import { ShieldError } from '../../errors.js';
import type { FetchOptions, SafeFetcher } from './fetcher.js';

interface ParsedRobots {
  isAllowed(url: string, ua?: string): boolean | undefined;
  getCrawlDelay(ua?: string): number | undefined;
  getSitemaps(): string[];
}
// robots-parser ships a CommonJS function whose typings do not describe a callable default export.
const robotsParser = createRequire(import.meta.url)('robots-parser') as (url: string, text: string) => ParsedRobots;

/** RFC 9309 asks crawlers to parse at least 500 KiB. */
const ROBOTS_MAX_BYTES = 512 * 1024;

export interface RobotsRules {
  /** How the rules were obtained: parsed file, allow-all (4xx) or disallow-all (5xx/unreachable). */
  mode: 'parsed' | 'allow_all' | 'disallow_all';
  isAllowed(url: string): boolean;
  /** Crawl-delay of the matching group, in ms (undefined when absent). */
  crawlDelayMs: number | undefined;
  sitemaps: string[];
}

interface Entry {
  rules: RobotsRules;
  expires: number;
}

/** The product token robots.txt groups are matched against: "ShieldBot/0.1 (...)" -> "ShieldBot". */
export function productToken(userAgent: string): string {
  return (/^[A-Za-z_-]+/.exec(userAgent)?.[0] ?? userAgent).toLowerCase();
}

export function parseRobots(robotsUrl: string, text: string, userAgent: string): RobotsRules {
  const robots = robotsParser(robotsUrl, text.slice(0, ROBOTS_MAX_BYTES));
  const token = productToken(userAgent);
  const delay = robots.getCrawlDelay(token);
  return {
    mode: 'parsed',
    // robots-parser answers undefined for another origin's URL: treat as not allowed by these rules.
    isAllowed: (url) => robots.isAllowed(url, token) === true,
    crawlDelayMs: typeof delay === 'number' && Number.isFinite(delay) ? delay * 1000 : undefined,
    sitemaps: robots.getSitemaps(),
  };
}

const allowAll: RobotsRules = { mode: 'allow_all', isAllowed: () => true, crawlDelayMs: undefined, sitemaps: [] };
/** How long a disallow-all caused by a 5xx or a network error is kept, in ms. */
export const ERROR_TTL_MS = 10 * 60_000;

function raceSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new ShieldError('CANCELLED', 'Cancelled while fetching robots.txt.'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new ShieldError('CANCELLED', 'Cancelled while fetching robots.txt.'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const disallowAll: RobotsRules = { mode: 'disallow_all', isAllowed: () => false, crawlDelayMs: undefined, sitemaps: [] };

export class RobotsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<RobotsRules>>();

  constructor(
    private readonly fetcher: SafeFetcher,
    private readonly userAgent: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Rules for the origin of `url` (fetched once per TTL; concurrent callers share one fetch). */
  async rulesFor(url: string, options: Pick<FetchOptions, 'signal' | 'via'> = {}): Promise<RobotsRules> {
    const origin = new URL(url).origin;
    const hit = this.entries.get(origin);
    if (hit && hit.expires > this.now()) return hit.rules;
    let p = this.inflight.get(origin);
    if (!p) {
      // The shared fetch belongs to the cache, not to the first caller: one crawl being cancelled
      // must not fail another crawl's robots.txt (the fetcher's own time cap still applies).
      p = this.load(origin, { ...(options.via ? { via: options.via } : {}) }).finally(() => this.inflight.delete(origin));
      this.inflight.set(origin, p);
    }
    return options.signal ? raceSignal(p, options.signal) : p;
  }

  private async load(origin: string, options: Pick<FetchOptions, 'signal' | 'via'>): Promise<RobotsRules> {
    const robotsUrl = `${origin}/robots.txt`;
    let rules: RobotsRules;
    try {
      const out = await this.fetcher.fetch(robotsUrl, { ...options, accept: undefined, maxRedirects: 5, maxBytes: ROBOTS_MAX_BYTES * 4 });
      if (out.kind === 'ok') rules = parseRobots(robotsUrl, out.body, this.userAgent);
      else if (out.kind === 'status') rules = out.status >= 400 && out.status < 500 ? allowAll : disallowAll;
      else rules = disallowAll;
    } catch (err) {
      // Cancellation is not an answer from the site: do not cache it.
      if (options.signal?.aborted || (err instanceof ShieldError && err.code === 'CANCELLED')) throw err;
      rules = disallowAll;
    }
    // A 5xx or an unreachable site is disallow-all, but only for a while: a passing outage must not
    // close the site to crawling for the whole day a good answer is cached.
    const ttl = rules === disallowAll ? Math.min(this.ttlMs, ERROR_TTL_MS) : this.ttlMs;
    this.entries.set(origin, { rules, expires: this.now() + ttl });
    return rules;
  }
}
