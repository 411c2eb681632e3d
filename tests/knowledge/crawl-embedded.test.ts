// crawl_web -> qdrant_find end to end through the real MCP client, with the embedded SQLite index.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { htmlPage, startSite, testSitePages, type LocalSite } from '../fakes/site/site.js';
import { connectClient, errorOf, makeApp, structured } from '../helpers/app.js';
import { sitePagesWithoutSlow } from './site-pages.js';

interface CrawlHandle {
  job: { id: string; status: string; progress?: { done: number; total?: number; message?: string } };
  result?: {
    pages: { fetched: number; indexed: number; skipped: number; failed: number };
    chunks: { indexed: number; unchanged: number; deleted: number };
    skipped_reasons: Record<string, number>;
    failures: Array<{ url: string; code: string }>;
    stopped_by: string;
    backend: string;
  };
}
interface FindResult {
  results: Array<{ text: string; url: string; title: string; heading: string; score: number }>;
  truncated: boolean;
  backend: string;
  scoring: string;
}

describe('crawl_web + qdrant_find with the embedded index', () => {
  let site: LocalSite;
  let app: App;
  let client: Client;
  let first: CrawlHandle;
  const progress: Array<{ progress: number; message?: string }> = [];

  beforeAll(async () => {
    site = await startSite(sitePagesWithoutSlow(30));
    app = await makeApp({
      overrides: [
        {
          jobs: { tools: { crawl_web: { inline_budget_ms: 25_000 } } },
          knowledge: {
            crawler: {
              allow_private_origins: [site.url],
              min_delay_ms: 0,
              max_response_bytes: 1_000_000,
              user_agent: 'ShieldTestBot/2.0 (+tests)',
            },
            search: { response_budget_chars: 600 },
          },
        },
      ],
    });
    client = await connectClient(app);
    const res = await client.callTool({ name: 'crawl_web', arguments: { urls: [`${site.url}/`], max_pages: 60, max_depth: 4, source: 'handbook' } }, undefined, {
      onprogress: (p) => progress.push(p),
      timeout: 30_000,
    });
    first = structured<CrawlHandle>(res);
  });
  afterAll(async () => {
    await client?.close();
    await app?.close();
    await site?.close();
  });

  it('crawls the site and reports counts', () => {
    expect(first.job.status).toBe('succeeded');
    const r = first.result!;
    expect(r.backend).toBe('embedded');
    expect(r.pages.indexed).toBeGreaterThanOrEqual(30);
    expect(r.chunks.indexed).toBeGreaterThanOrEqual(r.pages.indexed);
    expect(r.stopped_by).toBe('done');
  });

  it('obeys robots.txt (longest match) and sends the configured User-Agent', () => {
    expect(site.hits).not.toContain('/private/secret');
    expect(site.hits).toContain('/private/allowed');
    expect(first.result!.skipped_reasons.robots).toBeGreaterThanOrEqual(1);
    expect([...site.userAgents]).toEqual(['ShieldTestBot/2.0 (+tests)']);
  });

  it('uses the sitemap, de-duplicates canonical and tracking URLs, follows redirects', () => {
    expect(site.hits).toContain('/orphan');
    expect(site.hits.filter((h) => h === '/docs/page-2' || h.startsWith('/docs/page-2?')).length).toBe(1);
    expect(site.hits).toContain('/moved');
    expect(first.result!.skipped_reasons.duplicate).toBeGreaterThanOrEqual(1);
    expect(site.hits).not.toContain('https://external.example/');
  });

  it('skips non-text content and oversized pages, and refuses a redirect to the metadata address', () => {
    const r = first.result!;
    expect(r.skipped_reasons.content_type).toBe(2);
    expect(r.skipped_reasons.too_large).toBe(1);
    const codes = Object.fromEntries(r.failures.map((f) => [new URL(f.url).pathname, f.code]));
    expect(codes['/to-metadata']).toBe('URL_NOT_ALLOWED');
    expect(codes['/missing']).toBe('NOT_FOUND');
  });

  it('sent progress notifications with counts', () => {
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.at(-1)!.message).toMatch(/fetched \d+, indexed \d+, skipped \d+, failed \d+/);
  });

  it('finds text, plain-text and Markdown content', async () => {
    const md = structured<FindResult>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'shadow server replaying journal files after network outage' } }));
    expect(md.scoring).toBe('bm25');
    expect(md.results[0]!.url).toBe(`${site.url}/guide.md`);
    expect(md.results[0]!.title).toBe('Markdown guide');
    expect(md.results[0]!.heading).toBe('Markdown guide > Rotation');
    const txt = structured<FindResult>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'rotate the audit log every Monday', limit: 1 } }));
    expect(txt.results[0]!.url).toBe(`${site.url}/notes.txt`);
    const canon = structured<FindResult>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'orphaned lock table entries cleanup' } }));
    expect(canon.results[0]!.url).toBe(`${site.url}/orphan`);
  });

  it('filters by URL prefix and source, applies limit and threshold, and keeps to the budget', async () => {
    const pre = structured<FindResult>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'journal subsystem', url_prefix: `${site.url}/docs/`, limit: 20 } }));
    expect(pre.results.length).toBeGreaterThan(1);
    expect(pre.results.every((r) => r.url.startsWith(`${site.url}/docs/`))).toBe(true);
    expect(pre.truncated).toBe(true);
    expect(pre.results.reduce((n, r) => n + r.text.length, 0)).toBeLessThanOrEqual(600);
    const none = structured<FindResult>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'journal subsystem', source: 'elsewhere' } }));
    expect(none.results).toEqual([]);
    const src = structured<FindResult>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'journal subsystem', source: 'handbook' } }));
    expect(src.results).toHaveLength(5);
    const high = structured<FindResult>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'journal subsystem', score_threshold: 1e9 } }));
    expect(high.results).toEqual([]);
    const missing = errorOf(await client.callTool({ name: 'qdrant_find', arguments: { query: 'x', collection: 'nope' } }));
    expect(missing.code).toBe('NOT_FOUND');
  });

  it('re-crawl skips unchanged chunks and replaces changed ones', async () => {
    site.setPage('/guide.md', { contentType: 'text/markdown', body: '# Markdown guide\n\n## Rotation\n\nThe standby mirror member takes over when the primary fails its quorum check.' });
    const res = structured<CrawlHandle>(
      await client.callTool({ name: 'crawl_web', arguments: { urls: [`${site.url}/`], max_pages: 60, max_depth: 4, source: 'handbook' } }, undefined, { timeout: 30_000 }),
    );
    expect(res.result!.chunks.indexed).toBe(1);
    expect(res.result!.chunks.deleted).toBe(1);
    expect(res.result!.chunks.unchanged).toBe(first.result!.chunks.indexed - 1);
    const old = structured<FindResult>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'shadow replaying journal files', url_prefix: `${site.url}/guide.md` } }));
    expect(old.results).toEqual([]);
    const now = structured<FindResult>(await client.callTool({ name: 'qdrant_find', arguments: { query: 'standby mirror quorum', limit: 1 } }));
    expect(now.results[0]!.url).toBe(`${site.url}/guide.md`);
  });

  it('honours max_pages and path patterns', async () => {
    const res = structured<CrawlHandle>(
      await client.callTool({ name: 'crawl_web', arguments: { urls: [`${site.url}/docs/page-1`], max_pages: 3, include_paths: ['/docs/'], exclude_paths: ['/docs/page-2*'], collection: 'small' } }),
    );
    expect(res.result!.pages.fetched).toBe(3);
    expect(res.result!.stopped_by).toBe('max_pages');
  });

  it('refuses a start URL to a private address with URL_NOT_ALLOWED', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://2130706433/', 'http://[::ffff:127.0.0.1]/', 'http://127.0.0.1/']) {
      const err = errorOf(await client.callTool({ name: 'crawl_web', arguments: { urls: [url] } }));
      expect(err.code).toBe('URL_NOT_ALLOWED');
    }
  });

  it('refuses a name resolving to 10.0.0.1 (injected resolver)', async () => {
    app.services.knowledge.useResolver(async () => [{ address: '10.0.0.1', family: 4 }]);
    const err = errorOf(await client.callTool({ name: 'crawl_web', arguments: { urls: ['http://wiki.internal.example/'] } }));
    expect(err.code).toBe('URL_NOT_ALLOWED');
  });
});

describe('crawl_web time cap', () => {
  it('fails a page slower than fetch_timeout_ms with UPSTREAM_TIMEOUT', async () => {
    // Time is the subject here, and only here: the cap is short, the page far slower still.
    const pages = testSitePages(1);
    pages.set('/slow', { ...pages.get('/slow')!, delayMs: 60_000 });
    const site = await startSite(pages);
    const app = await makeApp({
      overrides: [{ jobs: { tools: { crawl_web: { inline_budget_ms: 25_000 } } }, knowledge: { crawler: { allow_private_origins: [site.url], min_delay_ms: 0, fetch_timeout_ms: 3_000 } } }],
    });
    const client = await connectClient(app);
    try {
      const res = structured<CrawlHandle>(await client.callTool({ name: 'crawl_web', arguments: { urls: [`${site.url}/slow`], max_depth: 0 } }, undefined, { timeout: 30_000 }));
      expect(res.result!.failures.map((f) => [new URL(f.url).pathname, f.code])).toEqual([['/slow', 'UPSTREAM_TIMEOUT']]);
    } finally {
      await client.close();
      await app.close();
      await site.close();
    }
  });
});

describe('crawl_web cancellation', () => {
  it('stops promptly when cancelled', async () => {
    const pages = testSitePages(40);
    for (const [p, page] of pages) if (p.startsWith('/docs/')) pages.set(p, { ...page, delayMs: 150 });
    pages.set('/', { body: htmlPage('Home', pages.get('/')!.body!.replace('<a href="/slow">Slow</a>', '')) });
    const site = await startSite(pages);
    const app = await makeApp({
      overrides: [{ jobs: { tools: { crawl_web: { inline_budget_ms: 0 } } }, knowledge: { crawler: { allow_private_origins: [site.url], min_delay_ms: 100, per_host_concurrency: 1 } } }],
    });
    const client = await connectClient(app);
    try {
      const handle = structured<CrawlHandle>(await client.callTool({ name: 'crawl_web', arguments: { urls: [`${site.url}/`], max_pages: 40 } }));
      // Bounded wait for the crawl to get going.
      for (let i = 0; i < 50 && site.hits.filter((h) => h.startsWith('/docs/')).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      await client.callTool({ name: 'cancel_job', arguments: { job_id: handle.job.id } });
      let status = '';
      for (let i = 0; i < 40 && status !== 'cancelled'; i++) {
        const s = await client.callTool({ name: 'get_job_status', arguments: { job_id: handle.job.id } });
        status = ((s.structuredContent ?? {}) as CrawlHandle).job?.status ?? '';
        if (status !== 'cancelled') await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe('cancelled');
      expect(Date.now() - t0).toBeLessThan(2000);
      const hitsAtCancel = site.hits.length;
      await new Promise((r) => setTimeout(r, 400));
      expect(site.hits.length).toBe(hitsAtCancel);
    } finally {
      await client.close();
      await app.close();
      await site.close();
    }
  });
});
