// Sitemaps seed a crawl with pages no link reaches: found through robots.txt (or /sitemap.xml), parsed as XML, bounded.
import type { X2jOptions } from 'fast-xml-parser';
import { lazyModule } from '../../../lazy.js';
import type { Logger } from '../../../observability/logger.js';
import type { FetchOptions, SafeFetcher } from '../fetcher.js';
import type { RobotsCache } from '../robots.js';

const fxp = lazyModule<typeof import('fast-xml-parser')>('fast-xml-parser');

const SITEMAP_TYPES = ['application/xml', 'text/xml', 'text/plain', 'application/x-xml'];
/** Sitemaps taken from robots.txt, and from one index. */
const MAX_SITEMAPS_LISTED = 5;
/** Sitemap documents read per origin, indexes included. */
const MAX_DOCUMENTS = 10;
/** An index may list indexes (the protocol says it should not): two levels below the first sitemap, no more. */
const MAX_NESTING = 2;

export interface SitemapLimits {
  /** Larger documents are refused unparsed, in characters (the fetcher's byte cap usually bites first). */
  maxChars: number;
  /** <loc> values read from one document (the protocol allows 50,000). */
  maxLocs: number;
  /** Longer URLs are ignored (the protocol: less than 2,048 characters). */
  maxUrlLength: number;
}

export const SITEMAP_LIMITS: SitemapLimits = { maxChars: 10 * 1024 * 1024, maxLocs: 50_000, maxUrlLength: 2048 };

export interface ParsedSitemap {
  /** Page URLs of a <urlset>. */
  urls: string[];
  /** Sitemap URLs of a <sitemapindex>. */
  sitemaps: string[];
  /** Why the document was refused as a whole (then both lists are empty). */
  problem?: string;
}

/**
 * Entities are never expanded by the parser: no DTD is accepted (a sitemap needs none, and a DTD is
 * where entity bombs and external entities live), and the five predefined entities and character
 * references are decoded here, in <loc> text only. CDATA is kept apart so it is not decoded.
 */
const PARSER_OPTIONS: X2jOptions = {
  processEntities: false,
  htmlEntities: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  cdataPropName: '#cdata',
  maxNestedTags: 20,
  isArray: (name) => name === 'url' || name === 'sitemap' || name === 'loc',
};

const refused = (problem: string): ParsedSitemap => ({ urls: [], sitemaps: [], problem });

/** Read a <urlset> or a <sitemapindex> (any namespace prefix); anything else is refused, never thrown. */
export function parseSitemap(xml: string, limits: SitemapLimits = SITEMAP_LIMITS): ParsedSitemap {
  if (xml.length > limits.maxChars) return refused(`larger than ${limits.maxChars} characters`);
  if (/<!DOCTYPE/i.test(xml)) return refused('a DTD is not accepted in a sitemap');
  const { XMLParser, XMLValidator } = fxp();
  // The parser is lenient (it reads unclosed tags); the validator is not, and a sitemap must be well formed.
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return refused(`not well-formed XML: ${valid.err.msg}`);
  let doc: Record<string, unknown>;
  try {
    doc = new XMLParser(PARSER_OPTIONS).parse(xml) as Record<string, unknown>;
  } catch (err) {
    return refused(`unreadable XML: ${(err as Error).message}`);
  }
  if ('urlset' in doc) return { urls: locsOf(doc.urlset, 'url', limits), sitemaps: [] };
  if ('sitemapindex' in doc) return { urls: [], sitemaps: locsOf(doc.sitemapindex, 'sitemap', limits) };
  return refused(`not a sitemap (root ${Object.keys(doc)[0] ?? 'none'})`);
}

/** The http(s) URLs of the entries of a root; an entry without exactly one usable <loc> is ignored. */
function locsOf(root: unknown, entry: 'url' | 'sitemap', limits: SitemapLimits): string[] {
  const entries = typeof root === 'object' && root !== null ? (root as Record<string, unknown>)[entry] : undefined;
  if (!Array.isArray(entries)) return [];
  const out: string[] = [];
  for (const e of entries) {
    if (out.length >= limits.maxLocs) break;
    const locs = typeof e === 'object' && e !== null ? (e as { loc?: unknown }).loc : undefined;
    if (!Array.isArray(locs) || locs.length !== 1) continue;
    const url = locText(locs[0]);
    if (url !== undefined && url.length <= limits.maxUrlLength && isHttpUrl(url)) out.push(url);
  }
  return out;
}

/** Text of a <loc>: entity-decoded text, or CDATA as written; text mixed with CDATA is too odd to guess. */
function locText(value: unknown): string | undefined {
  if (typeof value === 'string') return decodeXmlText(value);
  if (typeof value !== 'object' || value === null || '#text' in value) return undefined;
  const cdata = (value as { '#cdata'?: unknown })['#cdata'];
  if (typeof cdata === 'string') return cdata.trim();
  if (Array.isArray(cdata) && cdata.every((c) => typeof c === 'string')) return cdata.join('').trim();
  return undefined;
}

const PREDEFINED = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
]);

/** Decode XML's predefined entities and character references; undefined if any other entity appears. */
export function decodeXmlText(text: string): string | undefined {
  let unknown = false;
  const out = text.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]*);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return PREDEFINED.get(ref) ?? ((unknown = true), whole);
    const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : ((unknown = true), whole);
  });
  return unknown ? undefined : out;
}

function isHttpUrl(s: string): boolean {
  if (!URL.canParse(s)) return false;
  const p = new URL(s).protocol;
  return p === 'http:' || p === 'https:';
}

export interface SitemapContext {
  fetcher: SafeFetcher;
  robots: RobotsCache;
  via: NonNullable<FetchOptions['via']>;
  signal: AbortSignal;
  /** Whether a sitemap's own URL may be fetched (the crawl's allowed domains). */
  allowed(url: string): boolean;
  /** Page URLs taken from one sitemap document. */
  maxUrlsPerDocument: number;
  logger: Logger;
}

/** Page URLs the sitemaps of `origin` list (robots Sitemap: lines, else /sitemap.xml); none when unusable. */
export async function sitemapPageUrls(origin: string, ctx: SitemapContext): Promise<string[]> {
  const found: string[] = [];
  try {
    const rules = await ctx.robots.rulesFor(origin, { signal: ctx.signal, via: ctx.via });
    const maps = rules.sitemaps.length ? rules.sitemaps : [`${origin}/sitemap.xml`];
    const pending = maps.slice(0, MAX_SITEMAPS_LISTED).map((url) => ({ url, nesting: 0 }));
    for (let n = 0; n < MAX_DOCUMENTS && pending.length; n++) {
      const m = pending.shift()!;
      if (!isHttpUrl(m.url) || !rules.isAllowed(m.url) || !ctx.allowed(m.url)) continue;
      const out = await ctx.fetcher.fetch(m.url, { signal: ctx.signal, via: ctx.via, accept: SITEMAP_TYPES });
      if (out.kind !== 'ok') continue;
      const parsed = parseSitemap(out.body);
      if (parsed.problem) ctx.logger.debug({ sitemap: m.url, problem: parsed.problem }, 'sitemap ignored');
      if (m.nesting < MAX_NESTING) pending.push(...parsed.sitemaps.slice(0, MAX_SITEMAPS_LISTED).map((url) => ({ url, nesting: m.nesting + 1 })));
      found.push(...parsed.urls.slice(0, ctx.maxUrlsPerDocument));
    }
  } catch (err) {
    if (!ctx.signal.aborted) ctx.logger.debug({ origin, err: (err as Error).message }, 'sitemap not used');
  }
  return found;
}
