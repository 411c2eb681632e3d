// What a crawl counts: pages by outcome, why pages were skipped, the first failures, and the metric callbacks.
import { isShieldError } from '../../../errors.js';
import type { Logger } from '../../../observability/logger.js';

export type PageOutcome = 'fetched' | 'indexed' | 'skipped' | 'failed';

export interface CrawlCounts {
  fetched: number;
  indexed: number;
  skipped: number;
  failed: number;
}

export interface CrawlFailure {
  url: string;
  code: string;
  message: string;
}

/** Failures listed in a result; the count covers all of them. */
const MAX_FAILURES_LISTED = 20;

export class CrawlTally {
  readonly counts: CrawlCounts = { fetched: 0, indexed: 0, skipped: 0, failed: 0 };
  readonly reasons: Record<string, number> = {};
  readonly failures: CrawlFailure[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly onPage?: (outcome: PageOutcome) => void,
  ) {}

  fetched(): void {
    this.counts.fetched++;
    this.onPage?.('fetched');
  }

  indexed(): void {
    this.counts.indexed++;
    this.onPage?.('indexed');
  }

  skip(reason: string): void {
    this.counts.skipped++;
    this.reasons[reason] = (this.reasons[reason] ?? 0) + 1;
    this.onPage?.('skipped');
  }

  fail(url: string, err: unknown): void {
    this.counts.failed++;
    this.onPage?.('failed');
    const code = isShieldError(err) ? err.code : 'UPSTREAM_UNAVAILABLE';
    const message = isShieldError(err) ? err.message : `fetch failed: ${(err as Error)?.message ?? String(err)}`;
    if (this.failures.length < MAX_FAILURES_LISTED) this.failures.push({ url, code, message });
    this.logger.debug({ url, code, message }, 'page failed');
  }

  /** The progress line: counts so far and the page just done. */
  progressMessage(url: string): string {
    const c = this.counts;
    return `fetched ${c.fetched}, indexed ${c.indexed}, skipped ${c.skipped}, failed ${c.failed}: ${url}`;
  }

  /** Every failure was a refused URL and nothing was fetched: the call itself was not allowed. */
  onlyRefusals(): boolean {
    return this.counts.fetched === 0 && this.failures.length > 0 && this.failures.every((f) => f.code === 'URL_NOT_ALLOWED');
  }
}
