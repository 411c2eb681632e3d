// The crawl frontier: which URLs are in scope, their canonical form, the queue with depths, and the page budget.

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

export interface FrontierScope {
  /** Hosts (and their subdomains) the crawl may visit. */
  allowedDomains: string[];
  /** Path patterns (see pathMatcher); when any is given, a URL must match one. */
  include: string[];
  exclude: string[];
  /** Links are followed this many steps from a start URL (sitemap URLs count as one step). */
  maxDepth: number;
  /** Pages fetched at most (robots-disallowed URLs do not count). */
  maxPages: number;
}

export interface FrontierItem {
  url: string;
  depth: number;
}

/** Where a fetched page landed after redirects: the URL to index it under, or why it is not indexed. */
export type Landing = { url: string } | { skipped: 'off_site_redirect' | 'duplicate' };

export class Frontier {
  private readonly queue: FrontierItem[] = [];
  /** Canonical URLs queued, visited, redirected to or named canonical: none is fetched twice. */
  private readonly seen = new Set<string>();
  private readonly includes: Array<(pq: string) => boolean>;
  private readonly excludes: Array<(pq: string) => boolean>;
  private attempts = 0;
  /** Set when the page budget ended the crawl while URLs were still waiting. */
  stoppedByBudget = false;

  constructor(private readonly scope: FrontierScope) {
    this.includes = scope.include.map(pathMatcher);
    this.excludes = scope.exclude.map(pathMatcher);
  }

  /** The canonical form of `raw` when the crawl may visit it, else undefined. */
  inScope(raw: string): string | undefined {
    let u: URL;
    try {
      u = new URL(normalizeUrl(raw));
    } catch {
      return undefined;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    if (!inDomains(u.hostname, this.scope.allowedDomains)) return undefined;
    const pq = u.pathname + u.search;
    if (this.includes.length && !this.includes.some((m) => m(pq))) return undefined;
    if (this.excludes.some((m) => m(pq))) return undefined;
    return u.href;
  }

  /** Queue a URL found at `depth` (start URLs 0, sitemap URLs 1, links one more than their page). */
  add(raw: string, depth: number): void {
    const u = this.inScope(raw);
    if (!u || this.seen.has(u) || depth > this.scope.maxDepth) return;
    // The frontier is bounded: pages beyond a few times the budget would never be fetched.
    if (this.queue.length > this.scope.maxPages * 10) return;
    this.seen.add(u);
    this.queue.push({ url: u, depth });
  }

  /** Queue the links of a page visited at `depth`, unless they would go deeper than allowed. */
  addLinks(links: readonly string[], depth: number): void {
    if (depth >= this.scope.maxDepth) return;
    for (const l of links) this.add(l, depth + 1);
  }

  next(): FrontierItem | undefined {
    return this.queue.shift();
  }

  /** True once the page budget is spent (URLs still queued then mean the crawl stopped by max_pages). */
  exhausted(): boolean {
    if (this.attempts < this.scope.maxPages) return false;
    if (this.queue.length) this.stoppedByBudget = true;
    return true;
  }

  /** Take one page from the budget before fetching; false (and stopped by max_pages) when none is left. */
  claim(): boolean {
    if (this.attempts >= this.scope.maxPages) {
      this.stoppedByBudget = true;
      return false;
    }
    this.attempts++;
    return true;
  }

  /**
   * A page asked for as `requested` came from `finalUrl` after `redirects` hops. A redirect may leave
   * the include/exclude paths (still indexed, under its own URL) but not the allowed domains; landing
   * on a page already known through a redirect is a duplicate.
   */
  land(requested: string, finalUrl: string, redirects: number): Landing {
    const url = this.inScope(finalUrl) ?? (inDomains(new URL(finalUrl).hostname, this.scope.allowedDomains) ? normalizeUrl(finalUrl) : undefined);
    if (!url) return { skipped: 'off_site_redirect' };
    if (url !== requested) {
      if (this.seen.has(url) && redirects > 0) return { skipped: 'duplicate' };
      this.seen.add(url);
    }
    return { url };
  }

  /** The URL a page is indexed under: its in-scope rel=canonical if it names one, else where it landed. */
  documentUrl(landed: string, canonical: string | undefined): string {
    const canon = canonical === undefined ? undefined : this.inScope(canonical);
    if (!canon || canon === landed) return landed;
    // The canonical page is this one: do not fetch it again.
    this.seen.add(canon);
    return canon;
  }
}
