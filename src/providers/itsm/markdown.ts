// Agent Markdown -> Jira ADF (Cloud), Jira wiki markup (Data Center) or plain text (ServiceNow).
// Raw HTML in the source is never passed through as markup: it ends up as literal, inert text.

export type Mark = { type: 'strong' } | { type: 'em' } | { type: 'code' } | { type: 'link'; href: string };
export interface Run {
  text: string;
  marks: Mark[];
}
export type Block =
  | { type: 'heading'; level: number; inline: Run[] }
  | { type: 'paragraph'; inline: Run[] }
  | { type: 'list'; ordered: boolean; items: Block[][] }
  | { type: 'code'; language: string; text: string }
  | { type: 'quote'; blocks: Block[] }
  | { type: 'rule' };

// --- parsing -------------------------------------------------------------------------------------

const FENCE = /^ {0,3}(```|~~~)\s*([\w+#.-]*)\s*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^( *)([-*+])\s+(.*)$/;
const ORDERED = /^( *)(\d{1,9})[.)]\s+(.*)$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;

export function parseMarkdown(src: string): Block[] {
  return parseLines(src.replace(/\r\n?/g, '\n').split('\n'));
}

function parseLines(lines: string[]): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !new RegExp(`^ {0,3}${fence[1]}\\s*$`).test(lines[i]!)) body.push(lines[i++]!);
      i++; // closing fence (or end of input)
      blocks.push({ type: 'code', language: fence[2] ?? '', text: body.join('\n') });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ type: 'heading', level: heading[1]!.length, inline: parseInline(heading[2]!) });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push({ type: 'rule' });
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const body: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i]!)) body.push(QUOTE.exec(lines[i++]!)![1]!);
      blocks.push({ type: 'quote', blocks: parseLines(body) });
      continue;
    }
    const bullet = BULLET.exec(line);
    const ordered = bullet ? null : ORDERED.exec(line);
    if (bullet || ordered) {
      const isOrdered = !!ordered;
      const indent = (bullet ?? ordered)![1]!.length;
      const items: string[][] = [];
      while (i < lines.length) {
        const l = lines[i]!;
        const m = isOrdered ? ORDERED.exec(l) : BULLET.exec(l);
        if (m && m[1]!.length === indent) {
          items.push([m[3]!]);
          i++;
          continue;
        }
        // Continuation: indented deeper than the marker (nested lists, wrapped text).
        if (items.length > 0 && l.trim() !== '' && /^ */.exec(l)![0].length > indent) {
          items[items.length - 1]!.push(l.slice(Math.min(l.length, indent + 2)));
          i++;
          continue;
        }
        break;
      }
      blocks.push({ type: 'list', ordered: isOrdered, items: items.map((it) => parseLines(it)) });
      continue;
    }
    const para: string[] = [];
    while (i < lines.length) {
      const l = lines[i]!;
      if (l.trim() === '' || FENCE.test(l) || HEADING.test(l) || RULE.test(l) || QUOTE.test(l) || BULLET.test(l) || ORDERED.test(l)) break;
      para.push(l.trim());
      i++;
    }
    blocks.push({ type: 'paragraph', inline: parseInline(para.join('\n')) });
  }
  return blocks;
}

/** Only these link targets survive; anything else (javascript:, data:) stays plain text. */
export function safeHref(href: string): string | undefined {
  const h = href.trim();
  return /^(https?:\/\/|mailto:)/i.test(h) && !/[\s<>"]/.test(h) ? h : undefined;
}

export function parseInline(src: string, marks: Mark[] = []): Run[] {
  const runs: Run[] = [];
  let text = '';
  const flush = (): void => {
    if (text) runs.push({ text, marks });
    text = '';
  };
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\' && i + 1 < src.length && /[\\`*_[\]()#+\-.!{}<>|~]/.test(src[i + 1]!)) {
      text += src[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end > i + 1) {
        flush();
        runs.push({ text: src.slice(i + 1, end), marks: [...marks.filter((m) => m.type === 'link'), { type: 'code' }] });
        i = end + 1;
        continue;
      }
    }
    if (c === '[') {
      const m = /^\[([^\]\n]+)\]\(([^)\s]+)\)/.exec(src.slice(i));
      if (m) {
        const href = safeHref(m[2]!);
        flush();
        if (href) runs.push(...parseInline(m[1]!, [...marks, { type: 'link', href }]));
        else runs.push(...parseInline(`${m[1]!} (${m[2]!})`, marks));
        i += m[0].length;
        continue;
      }
    }
    if ((c === '*' || c === '_') && src[i + 1] === c) {
      const end = src.indexOf(c + c, i + 2);
      if (end > i + 2) {
        flush();
        runs.push(...parseInline(src.slice(i + 2, end), [...marks, { type: 'strong' }]));
        i = end + 2;
        continue;
      }
    }
    if (c === '*' || c === '_') {
      const end = src.indexOf(c, i + 1);
      // Intraword underscores (snake_case) are not emphasis.
      const intraword = c === '_' && i > 0 && /\w/.test(src[i - 1]!);
      if (end > i + 1 && !intraword && src[i + 1] !== ' ') {
        flush();
        runs.push(...parseInline(src.slice(i + 1, end), [...marks, { type: 'em' }]));
        i = end + 1;
        continue;
      }
    }
    text += c;
    i++;
  }
  flush();
  return runs;
}

// --- ADF (Jira Cloud) ----------------------------------------------------------------------------

export interface AdfNode {
  type: string;
  attrs?: Record<string, unknown>;
  content?: AdfNode[];
  text?: string;
  marks?: Array<{ type: string; attrs?: Record<string, unknown> }>;
}

function adfInline(runs: Run[]): AdfNode[] {
  const out: AdfNode[] = [];
  for (const r of runs) {
    // A hard line break inside a paragraph is a hardBreak node in ADF.
    r.text.split('\n').forEach((part, idx) => {
      if (idx > 0) out.push({ type: 'hardBreak' });
      if (!part) return;
      const node: AdfNode = { type: 'text', text: part };
      // ADF allows code only together with link.
      const marks = r.marks.some((m) => m.type === 'code') ? r.marks.filter((m) => m.type === 'code' || m.type === 'link') : r.marks;
      if (marks.length > 0) node.marks = marks.map((m) => (m.type === 'link' ? { type: 'link', attrs: { href: m.href } } : { type: m.type }));
      out.push(node);
    });
  }
  return out;
}

function adfBlock(b: Block): AdfNode {
  switch (b.type) {
    case 'heading':
      return { type: 'heading', attrs: { level: b.level }, content: adfInline(b.inline) };
    case 'paragraph':
      return { type: 'paragraph', content: adfInline(b.inline) };
    case 'code':
      return { type: 'codeBlock', ...(b.language ? { attrs: { language: b.language } } : {}), content: b.text ? [{ type: 'text', text: b.text }] : [] };
    case 'quote':
      return { type: 'blockquote', content: b.blocks.map(adfBlock).filter((n) => ['paragraph', 'bulletList', 'orderedList', 'codeBlock'].includes(n.type)) };
    case 'rule':
      return { type: 'rule' };
    case 'list':
      return {
        type: b.ordered ? 'orderedList' : 'bulletList',
        content: b.items.map((item) => {
          const content = item.map(adfBlock);
          // A listItem must start with a paragraph (or list); an empty item gets an empty paragraph.
          if (content.length === 0 || content[0]!.type === 'heading') content.unshift({ type: 'paragraph', content: [] });
          return { type: 'listItem', content };
        }),
      };
  }
}

export function toAdf(blocks: Block[]): AdfNode {
  return { type: 'doc', version: 1, content: blocks.map(adfBlock) } as AdfNode;
}

// --- wiki markup (Jira Data Center) --------------------------------------------------------------

/** Characters with a meaning in wiki markup: escaped so agent text stays text ({html}, !img!, [link]). */
const wikiEscape = (s: string): string => s.replace(/[\\{}[\]*_|!^~+?#]/g, (c) => `\\${c}`).replace(/^(h[1-6]\.|bq\.)/gm, '\\$1');

function wikiInline(runs: Run[]): string {
  return runs
    .map((r) => {
      const code = r.marks.some((m) => m.type === 'code');
      let t = code ? `{{${r.text.replace(/[{}]/g, (c) => `\\${c}`)}}}` : wikiEscape(r.text);
      if (!code) {
        if (r.marks.some((m) => m.type === 'em')) t = `_${t}_`;
        if (r.marks.some((m) => m.type === 'strong')) t = `*${t}*`;
      }
      const link = r.marks.find((m): m is Extract<Mark, { type: 'link' }> => m.type === 'link');
      if (link) t = `[${t}|${link.href}]`;
      return t;
    })
    .join('');
}

function wikiBlocks(blocks: Block[], listPrefix = ''): string[] {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'heading':
        out.push(`h${b.level}. ${wikiInline(b.inline)}`);
        break;
      case 'paragraph':
        out.push(wikiInline(b.inline));
        break;
      case 'code':
        out.push(`{code${b.language ? `:${b.language}` : ''}}\n${b.text.replace(/\{code/g, '\\{code')}\n{code}`);
        break;
      case 'quote':
        out.push(`{quote}\n${wikiBlocks(b.blocks).join('\n\n')}\n{quote}`);
        break;
      case 'rule':
        out.push('----');
        break;
      case 'list': {
        const prefix = listPrefix + (b.ordered ? '#' : '*');
        const lines: string[] = [];
        for (const item of b.items) {
          const [first, ...rest] = item;
          lines.push(`${prefix} ${first && first.type !== 'list' ? wikiBlocks([first]).join('') : ''}`);
          for (const r of first?.type === 'list' ? item : rest) {
            if (r.type === 'list') lines.push(...wikiBlocks([r], prefix));
            else lines.push(wikiBlocks([r]).join('\n'));
          }
        }
        out.push(lines.join('\n'));
        break;
      }
    }
  }
  return out;
}

export function toWiki(blocks: Block[]): string {
  return wikiBlocks(blocks).join('\n\n');
}

// --- plain text (ServiceNow) ---------------------------------------------------------------------

/** ServiceNow renders HTML in some views and [code]...[/code] in journals: neither may go live. */
export const neutraliseHtml = (s: string): string =>
  s.replace(/&(?=[#\w]+;)/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\[(\/?code)\]/gi, '[ $1 ]');

function plainInline(runs: Run[]): string {
  return runs
    .map((r) => {
      const link = r.marks.find((m): m is Extract<Mark, { type: 'link' }> => m.type === 'link');
      return link && link.href !== r.text ? `${r.text} (${link.href})` : r.text;
    })
    .join('');
}

function plainBlocks(blocks: Block[], indent = ''): string[] {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'heading':
        out.push(indent + plainInline(b.inline));
        break;
      case 'paragraph':
        out.push(indent + plainInline(b.inline).replace(/\n/g, `\n${indent}`));
        break;
      case 'code':
        out.push(b.text.split('\n').map((l) => `${indent}    ${l}`).join('\n'));
        break;
      case 'quote':
        out.push(plainBlocks(b.blocks).join('\n\n').split('\n').map((l) => `${indent}> ${l}`).join('\n'));
        break;
      case 'rule':
        out.push(`${indent}----`);
        break;
      case 'list':
        out.push(
          b.items
            .map((item, n) => {
              const marker = b.ordered ? `${n + 1}. ` : '- ';
              const [first, ...rest] = plainBlocks(item, `${indent}  `);
              return [`${indent}${marker}${(first ?? '').trimStart()}`, ...rest].join('\n');
            })
            .join('\n'),
        );
        break;
    }
  }
  return out;
}

export function toPlain(blocks: Block[]): string {
  return neutraliseHtml(plainBlocks(blocks).join('\n\n'));
}

// --- fitting a platform limit --------------------------------------------------------------------

export type DescriptionFormat = 'adf' | 'wiki' | 'plain' | 'markdown';

export interface Fitted<T> {
  value: T;
  truncated: boolean;
  /** Characters of the Markdown source that made it into the ticket. */
  kept_chars: number;
}

function renderAs(format: DescriptionFormat, md: string): unknown {
  if (format === 'markdown') return neutraliseHtml(md);
  const blocks = parseMarkdown(md);
  if (format === 'adf') return toAdf(blocks);
  if (format === 'wiki') return toWiki(blocks);
  return toPlain(blocks);
}

/** Size as the platform counts it: the string, or the serialised document for ADF. */
const measure = (v: unknown): number => (typeof v === 'string' ? v.length : JSON.stringify(v).length);

export function truncationNotice(total: number, limit: number): string {
  return `\n\n---\n\n*[Truncated by Shield: the original description had ${total} characters; the platform limit is ${limit}.]*`;
}

/**
 * Render Markdown for a platform and, when it exceeds the limit, cut the source and append a
 * visible notice so the ticket is created rather than rejected.
 */
export function renderDescription(md: string, format: DescriptionFormat, limit: number): Fitted<unknown> {
  const full = renderAs(format, md);
  if (measure(full) <= limit) return { value: full, truncated: false, kept_chars: md.length };
  const notice = truncationNotice(md.length, limit);
  let keep = Math.max(0, md.length - (measure(full) - limit) - notice.length * 2);
  for (let round = 0; round < 30; round++) {
    let head = md.slice(0, keep);
    // Do not leave the notice inside an unclosed code fence.
    if ((head.match(/^ {0,3}(```|~~~)/gm) ?? []).length % 2 === 1) head += '\n```';
    const candidate = renderAs(format, head + notice);
    const size = measure(candidate);
    if (size <= limit) return { value: candidate, truncated: true, kept_chars: keep };
    keep = Math.max(0, keep - (size - limit) - 32);
  }
  // The notice alone does not fit: the limit is absurdly small, keep what we can as plain text.
  return { value: renderAs(format, notice.trim()), truncated: true, kept_chars: 0 };
}
