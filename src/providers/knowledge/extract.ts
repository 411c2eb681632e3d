// Page -> main content as Markdown: linkedom DOM, Readability for the article, turndown for Markdown.
import type TurndownService from 'turndown';
import { lazyModule } from '../../lazy.js';

const readability = lazyModule<typeof import('@mozilla/readability')>('@mozilla/readability');
const linkedom = lazyModule<typeof import('linkedom')>('linkedom');
const turndownModule = lazyModule<typeof TurndownService>('turndown');

export interface ExtractedPage {
  title: string;
  markdown: string;
  /** Absolute http(s) links found in the page (before Readability trims the DOM). */
  links: string[];
  /** <link rel="canonical"> resolved against the page URL, when present. */
  canonical: string | undefined;
  /** <meta name="robots" content="noindex|nofollow"> */
  noindex: boolean;
  nofollow: boolean;
}

let turndownInstance: TurndownService | undefined;
function turndown(): TurndownService {
  if (!turndownInstance) {
    const Turndown = turndownModule();
    turndownInstance = new Turndown({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-' });
    turndownInstance.remove(['script', 'style', 'noscript', 'iframe', 'form']);
  }
  return turndownInstance;
}

function absolute(href: string | null | undefined, base: string): string | undefined {
  if (!href) return undefined;
  try {
    const u = new URL(href, base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

export function extractHtml(html: string, url: string): ExtractedPage {
  const { document } = linkedom().parseHTML(html);
  const links = new Set<string>();
  for (const a of document.querySelectorAll('a[href]')) {
    const rel = (a.getAttribute('rel') ?? '').toLowerCase();
    if (rel.includes('nofollow')) continue;
    const abs = absolute(a.getAttribute('href'), url);
    if (abs) links.add(abs);
  }
  const canonical = absolute(document.querySelector('link[rel="canonical"]')?.getAttribute('href'), url);
  const robotsMeta = (document.querySelector('meta[name="robots"]')?.getAttribute('content') ?? '').toLowerCase();
  const docTitle = (document.querySelector('title')?.textContent ?? '').trim();
  // Readability mutates the DOM it is given, so it runs after links and metadata were read.
  let article: { title?: string | null; content?: string | null } | null = null;
  try {
    const { Readability } = readability();
    article = new Readability(document as unknown as ConstructorParameters<typeof Readability>[0], { charThreshold: 100 }).parse();
  } catch {
    article = null;
  }
  const bodyHtml = article?.content ?? document.querySelector('main')?.innerHTML ?? document.body?.innerHTML ?? '';
  const markdown = turndown().turndown(bodyHtml).replace(/\n{3,}/g, '\n\n').trim();
  const title = docTitle || (article?.title ?? '').trim() || new URL(url).pathname;
  return { title, markdown, links: [...links], canonical, noindex: robotsMeta.includes('noindex'), nofollow: robotsMeta.includes('nofollow') };
}

/** Plain text and Markdown pages are indexed as they are; the title is the first heading or line. */
export function extractText(text: string, url: string, contentType: string): ExtractedPage {
  const firstHeading = /^#{1,6}\s+(.+)$/m.exec(text)?.[1];
  const firstLine = text.split('\n').find((l) => l.trim() !== '')?.trim();
  const title = (contentType === 'text/markdown' ? firstHeading : undefined) ?? firstLine?.slice(0, 120) ?? new URL(url).pathname;
  return { title, markdown: text.trim(), links: [], canonical: undefined, noindex: false, nofollow: false };
}
