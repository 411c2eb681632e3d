// Markdown -> chunks: split on headings, then by size with overlap; each chunk carries a content hash.
import { createHash } from 'node:crypto';

export interface ChunkOptions {
  maxChars: number;
  overlapChars: number;
  minChars: number;
}

export interface Chunk {
  /** The heading path of the section, e.g. "Recovery > Step 2" (empty before the first heading). */
  heading: string;
  text: string;
  /** sha256 of the heading and text: equal chunks hash equally across crawls. */
  hash: string;
}

export function contentHash(heading: string, text: string): string {
  return createHash('sha256').update(heading).update('\u0000').update(text).digest('hex');
}

interface Section {
  heading: string;
  body: string;
}

function sections(markdown: string): Section[] {
  const out: Section[] = [];
  const path: string[] = [];
  let current: Section = { heading: '', body: '' };
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const m = inFence ? null : /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (m) {
      if (current.body.trim() || current.heading) out.push(current);
      const level = m[1]!.length;
      path.length = Math.min(path.length, level - 1);
      path[level - 1] = m[2]!.trim();
      current = { heading: path.filter(Boolean).join(' > '), body: '' };
      continue;
    }
    current.body += `${line}\n`;
  }
  if (current.body.trim() || current.heading) out.push(current);
  return out;
}

/** Split text at paragraph, then line, then sentence, then word boundaries to at most max chars. */
function splitBySize(text: string, max: number, overlap: number): string[] {
  if (text.length <= max) return [text];
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + max);
    if (end < text.length) {
      const window = text.slice(start, end);
      const cut = [window.lastIndexOf('\n\n'), window.lastIndexOf('\n'), window.lastIndexOf('. '), window.lastIndexOf(' ')].find((i) => i > max * 0.5);
      if (cut !== undefined) end = start + cut + 1;
    }
    pieces.push(text.slice(start, end).trim());
    if (end >= text.length) break;
    // Overlap: the next piece starts a little before this one ended, at a word boundary when possible.
    let next = Math.max(start + 1, end - overlap);
    const space = text.indexOf(' ', next);
    if (overlap > 0 && space !== -1 && space < end) next = space + 1;
    start = overlap > 0 ? next : end;
  }
  return pieces.filter((p) => p.length > 0);
}

export function chunkMarkdown(markdown: string, options: ChunkOptions): Chunk[] {
  const chunks: Chunk[] = [];
  let carry: Section | undefined;
  const all = sections(markdown);
  all.forEach((s, i) => {
    let body = s.body.trim();
    let heading = s.heading;
    if (carry) {
      // A short section joins the next one, under the next (more specific) heading.
      const label = carry.body && carry.heading && carry.heading !== heading ? carry.heading.split(' > ').pop() : '';
      body = [label, carry.body, body].filter(Boolean).join('\n\n');
      heading = heading || carry.heading;
      carry = undefined;
    }
    if (body.length < options.minChars && i < all.length - 1) {
      carry = { heading, body };
      return;
    }
    if (!body) return;
    for (const text of splitBySize(body, options.maxChars, Math.min(options.overlapChars, Math.floor(options.maxChars / 2)))) {
      chunks.push({ heading, text, hash: contentHash(heading, text) });
    }
  });
  // Identical chunks of one page are stored once.
  const seen = new Set<string>();
  return chunks.filter((c) => (seen.has(c.hash) ? false : (seen.add(c.hash), true)));
}
