// A local website on loopback for tests, the bench and the demo: pages, links, robots.txt, a sitemap,
// redirects, a slow page, an oversized page and non-HTML content. Pages can be changed between crawls.
import { LoopbackServer, type LoggedRequest, type Reply } from '../loopback.js';

export interface SitePage {
  status?: number;
  contentType?: string;
  body?: string;
  /** Redirect target (sets status 301 unless given). */
  location?: string;
  /** Wait this long before answering, in ms (the slow page). */
  delayMs?: number;
  /** Send this many bytes of HTML (the oversized page); no content-length, streamed. */
  sizeBytes?: number;
}


export function htmlPage(title: string, body: string, extraHead = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>${extraHead}</head>
<body><nav><a href="/">Home</a></nav><main><article><h1>${title}</h1>
${body}
</article></main><footer>Local test site</footer></body></html>`;
}

const TOPICS = ['journal', 'mirror', 'license', 'backup', 'ecp', 'shadow', 'audit', 'lock table', 'routine buffer', 'global buffer', 'tasks', 'namespaces'];

/** The generated site: `pageCount` documentation pages in a linked chain plus the special cases. */
export function testSitePages(pageCount = 30): Map<string, SitePage> {
  const pages = new Map<string, SitePage>();
  const docs = Array.from({ length: pageCount }, (_, i) => `/docs/page-${i + 1}`);
  const para = (i: number): string => {
    const t = TOPICS[i % TOPICS.length]!;
    return `<p>Page ${i + 1} explains how to operate the ${t} subsystem. Check the ${t} status first, then follow the numbered steps.
The ${t} settings live in the configuration file; change them during a maintenance window.</p>`;
  };
  pages.set('/', {
    body: htmlPage('Operations handbook', `<p>Welcome to the operations handbook for the platform team. It lists every runbook we maintain.</p>
<ul>${docs.slice(0, 5).map((d) => `<li><a href="${d}">${d}</a></li>`).join('')}</ul>
<p><a href="/private/secret">Private</a> <a href="/private/allowed">Allowed private</a> <a href="/moved">Moved</a>
<a href="/slow">Slow</a> <a href="/big">Big</a> <a href="/data.json">JSON</a> <a href="/image.png">Image</a>
<a href="/notes.txt">Notes</a> <a href="/guide.md">Guide</a> <a href="/docs/page-2?utm_source=home#top">Page 2 again</a>
<a href="/alias">Alias</a> <a href="/to-metadata">Metadata</a> <a href="/missing">Missing</a>
<a href="https://external.example/">External</a> <a href="mailto:ops@example.com">Mail</a></p>`),
  });
  docs.forEach((d, i) => {
    const links = [docs[i + 1], docs[i + 2], docs[(i * 7) % docs.length]].filter(Boolean).map((l) => `<a href="${l}">next ${l}</a>`).join(' ');
    pages.set(d, {
      body: htmlPage(`Runbook ${i + 1}: ${TOPICS[i % TOPICS.length]}`, `<h2>Symptoms</h2>${para(i)}<h2>Resolution</h2>${para(i + 1)}<p>${links}</p>`),
    });
  });
  pages.set('/robots.txt', {
    contentType: 'text/plain',
    body: 'User-agent: *\nDisallow: /private/\nAllow: /private/allowed\n\nUser-agent: badbot\nDisallow: /\n\nSitemap: /sitemap.xml\n',
  });
  pages.set('/private/secret', { body: htmlPage('Secret', '<p>This page is disallowed by robots.txt and must never be fetched.</p>') });
  pages.set('/private/allowed', { body: htmlPage('Allowed private page', '<p>The longest matching robots rule allows this page even though its folder is disallowed.</p>') });
  pages.set('/moved', { status: 301, location: '/docs/page-3' });
  pages.set('/to-metadata', { status: 302, location: 'http://169.254.169.254/latest/meta-data/' });
  pages.set('/slow', { delayMs: 5000, body: htmlPage('Slow page', '<p>This page answers too slowly.</p>') });
  pages.set('/big', { sizeBytes: 3 * 1024 * 1024 });
  pages.set('/data.json', { contentType: 'application/json', body: '{"not":"indexed"}' });
  pages.set('/image.png', { contentType: 'image/png', body: 'PNG' });
  pages.set('/notes.txt', { contentType: 'text/plain; charset=utf-8', body: 'Operator notes\n\nRotate the audit log every Monday. The audit database grows by about 2 GB per week.' });
  pages.set('/guide.md', { contentType: 'text/markdown', body: '# Markdown guide\n\n## Rotation\n\nThe shadow server catches up after a network outage by replaying journal files in order.' });
  pages.set('/alias', { body: htmlPage(`Runbook 1: ${TOPICS[0]}`, `<p>Alias of the first runbook.</p>`, '<link rel="canonical" href="/docs/page-1">') });
  pages.set('/orphan', { body: htmlPage('Orphan page from the sitemap', '<p>Only the sitemap links to this page about orphaned lock table entries and their cleanup.</p>') });
  pages.set('/sitemap.xml', {
    contentType: 'application/xml',
    body: `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>/orphan</loc></url></urlset>`,
  });
  return pages;
}

function* blocksOf(sizeBytes: number): Generator<string> {
  const block = `<p>${'x'.repeat(1020)}</p>\n`;
  // Bounded: the page is a fixed number of blocks (the server stops early when the client hangs up).
  for (let sent = 0; sent < sizeBytes; sent += block.length) yield block;
}

/** The site; fault targets are page paths (`/robots.txt`), or 'any'. */
export class LocalSite extends LoopbackServer {
  /** Paths requested, in order (with the query). */
  readonly hits: string[] = [];
  /** User-Agent headers seen. */
  readonly userAgents = new Set<string>();

  constructor(readonly pages: Map<string, SitePage> = testSitePages()) {
    super();
  }

  setPage(path: string, page: SitePage): void {
    this.pages.set(path, page);
  }

  protected override errorReply(status: number, message?: string): Reply {
    return { status, headers: { 'content-type': 'text/html' }, text: `<h1>${message ?? `HTTP ${status}`}</h1>` };
  }

  protected override targetOf(_req: LoggedRequest, url: URL): string {
    return url.pathname;
  }

  protected override async handle(req: LoggedRequest, url: URL): Promise<Reply> {
    this.hits.push(url.pathname + url.search);
    const ua = req.headers['user-agent'];
    if (ua) this.userAgents.add(ua);
    const page = this.pages.get(url.pathname);
    if (!page) return { status: 404, headers: { 'content-type': 'text/html' }, text: '<h1>Not found</h1>' };
    if (page.delayMs) await this.pause(page.delayMs);
    if (page.location) return { status: page.status ?? 301, headers: { location: page.location.startsWith('/') ? `${this.url}${page.location}` : page.location } };
    if (page.sizeBytes) return { status: page.status ?? 200, headers: { 'content-type': 'text/html; charset=utf-8' }, stream: blocksOf(page.sizeBytes) };
    let body = page.body ?? '';
    // Sitemaps need absolute URLs: the generator writes paths and the server fills in its origin.
    if ((page.contentType ?? '').includes('xml') || (page.contentType ?? '').startsWith('text/plain')) body = body.replace(/<loc>\//g, `<loc>${this.url}/`).replace(/^Sitemap: \//m, `Sitemap: ${this.url}/`);
    return { status: page.status ?? 200, headers: { 'content-type': page.contentType ?? 'text/html; charset=utf-8' }, text: body };
  }
}

export async function startSite(pages: Map<string, SitePage> = testSitePages()): Promise<LocalSite> {
  const site = new LocalSite(pages);
  await site.start();
  return site;
}
