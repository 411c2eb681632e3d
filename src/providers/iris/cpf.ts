// iris.cpf parser/editor: keeps every byte of every line it does not edit (CRLF, order, comments,
// unknown lines), so an unchanged document serializes to exactly the input.
import { createHash } from 'node:crypto';

export interface CpfLine {
  /** The line as read, without its ending. */
  text: string;
  /** '\r\n', '\n' or '' (last line without ending). */
  eol: string;
  kind: 'blank' | 'section' | 'param' | 'other';
  /** Section heading name, or the section a parameter belongs to. */
  section?: string;
  name?: string;
  value?: string;
}

const SECTION = /^\s*\[([^\]]+)\]\s*$/;
// A parameter: a name without blanks or brackets, '=', the value. Anything else is kept verbatim.
const PARAM = /^(\s*)([^\s=[\];#][^=]*?)(\s*=\s*)(.*?)(\s*)$/;

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export class CpfDocument {
  readonly lines: CpfLine[];

  private constructor(lines: CpfLine[]) {
    this.lines = lines;
  }

  static parse(text: string): CpfDocument {
    const lines: CpfLine[] = [];
    let section: string | undefined;
    const re = /([^\r\n]*)(\r\n|\n|\r|$)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const [, body = '', eol = ''] = m;
      if (body === '' && eol === '') break;
      lines.push(classify(body, eol, () => section, (s) => (section = s)));
    }
    return new CpfDocument(lines);
  }

  toString(): string {
    return this.lines.map((l) => l.text + l.eol).join('');
  }

  /** The line ending most lines use (CRLF for a real iris.cpf). */
  get eol(): string {
    let crlf = 0;
    let lf = 0;
    for (const l of this.lines) {
      if (l.eol === '\r\n') crlf++;
      else if (l.eol === '\n') lf++;
    }
    return crlf >= lf ? '\r\n' : '\n';
  }

  sections(): string[] {
    return this.lines.filter((l) => l.kind === 'section').map((l) => l.section!);
  }

  private find(section: string, name: string): number {
    const s = section.toLowerCase();
    return this.lines.findIndex((l) => l.kind === 'param' && l.section?.toLowerCase() === s && l.name === name);
  }

  get(section: string, name: string): string | undefined {
    const i = this.find(section, name);
    return i < 0 ? undefined : this.lines[i]!.value;
  }

  hasSection(section: string): boolean {
    const s = section.toLowerCase();
    return this.lines.some((l) => l.kind === 'section' && l.section!.toLowerCase() === s);
  }

  /** A copy with one parameter set: only its line changes (or one line is added to the section). */
  with(section: string, name: string, value: string): CpfDocument {
    if (/[\r\n]/.test(value)) throw new Error('a CPF value cannot span lines');
    const lines = this.lines.map((l) => ({ ...l }));
    const i = this.find(section, name);
    if (i >= 0) {
      const l = lines[i]!;
      const m = PARAM.exec(l.text)!;
      l.text = `${m[1]}${m[2]}${m[3]}${value}${m[5]}`;
      l.value = value;
      return new CpfDocument(lines);
    }
    const s = section.toLowerCase();
    const head = lines.findIndex((l) => l.kind === 'section' && l.section!.toLowerCase() === s);
    if (head < 0) throw new Error(`no section [${section}]`);
    // After the last parameter of the section (or right after its heading).
    let at = head;
    for (let j = head + 1; j < lines.length && lines[j]!.kind !== 'section'; j++) if (lines[j]!.kind === 'param') at = j;
    const eol = this.eol;
    const prev = lines[at]!;
    if (prev.eol === '') prev.eol = eol;
    lines.splice(at + 1, 0, { text: `${name}=${value}`, eol: at + 1 === lines.length ? '' : eol, kind: 'param', section: lines[head]!.section!, name, value });
    return new CpfDocument(lines);
  }
}

function classify(text: string, eol: string, current: () => string | undefined, setSection: (s: string) => void): CpfLine {
  if (text.trim() === '') return { text, eol, kind: 'blank' };
  const s = SECTION.exec(text);
  if (s) {
    setSection(s[1]!.trim());
    return { text, eol, kind: 'section', section: s[1]!.trim() };
  }
  const sec = current();
  const p = PARAM.exec(text);
  if (p && sec !== undefined) return { text, eol, kind: 'param', section: sec, name: p[2]!, value: p[4]! };
  return { text, eol, kind: 'other' };
}

/** A unified diff of two texts by line (endings shown without CR), with 3 lines of context. */
export function unifiedDiff(before: string, after: string, label: string, context = 3): string {
  const a = CpfDocument.parse(before).lines.map((l) => l.text);
  const b = CpfDocument.parse(after).lines.map((l) => l.text);
  // LCS table over the middle part (common prefix and suffix trimmed first: edits are local).
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const n = am.length;
  const m = bm.length;
  const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) dp[i]![j] = am[i] === bm[j] ? dp[i + 1]![j + 1]! + 1 : Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!);
  type Op = { t: ' ' | '-' | '+'; s: string; ai: number; bi: number };
  const ops: Op[] = [];
  for (let k = 0; k < pre; k++) ops.push({ t: ' ', s: a[k]!, ai: k, bi: k });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && am[i] === bm[j]) {
      ops.push({ t: ' ', s: am[i]!, ai: pre + i, bi: pre + j });
      i++;
      j++;
    } else if (i < n && (j === m || dp[i + 1]![j]! >= dp[i]![j + 1]!)) {
      ops.push({ t: '-', s: am[i]!, ai: pre + i, bi: pre + j });
      i++;
    } else {
      ops.push({ t: '+', s: bm[j]!, ai: pre + i, bi: pre + j });
      j++;
    }
  }
  for (let k = 0; k < suf; k++) ops.push({ t: ' ', s: a[a.length - suf + k]!, ai: a.length - suf + k, bi: b.length - suf + k });

  const out = [`--- ${label}`, `+++ ${label}`];
  let idx = 0;
  while (idx < ops.length) {
    if (ops[idx]!.t === ' ') {
      idx++;
      continue;
    }
    let start = Math.max(0, idx - context);
    let end = idx;
    // Extend the hunk while changes are within 2*context of each other.
    for (;;) {
      while (end < ops.length && ops[end]!.t !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next]!.t === ' ') next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const hunk = ops.slice(start, stop);
    const aStart = hunk[0]!.ai;
    const bStart = hunk[0]!.bi;
    const aLen = hunk.filter((o) => o.t !== '+').length;
    const bLen = hunk.filter((o) => o.t !== '-').length;
    out.push(`@@ -${aLen ? aStart + 1 : aStart},${aLen} +${bLen ? bStart + 1 : bStart},${bLen} @@`);
    for (const o of hunk) out.push(`${o.t}${o.s}`);
    idx = stop;
    start = stop;
  }
  return `${out.join('\n')}\n`;
}
