// messages.log: parse entries (continuation lines attached) and format them the way IRIS writes them.
import { open } from 'node:fs/promises';

export interface LogEntry {
  /** As written: MM/DD/YY-HH:MM:SS:mmm (local time of the instance). */
  time: string | null;
  /** ISO-8601, reading the written time as this host's local time. */
  ts: string | null;
  pid: number | null;
  /** 0 info, 1 warning, 2 severe, 3 fatal/alert; null for banner lines. */
  severity: number | null;
  category: string | null;
  text: string;
}

const ENTRY = /^(\d{2})\/(\d{2})\/(\d{2})-(\d{2}):(\d{2}):(\d{2}):(\d{3}) \((\d+)\) (\d)(?: \[([\w.%]+)\])? ?(.*)$/;
const BANNER = /^\*{3}/;

function toDate(m: RegExpExecArray): Date {
  const [, mo, d, y, h, mi, s, ms] = m.map(Number) as number[];
  return new Date(2000 + y!, mo! - 1, d!, h!, mi!, s!, ms!);
}

export function parseMessagesLog(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const m = ENTRY.exec(line);
    if (m) {
      const date = toDate(m);
      out.push({
        time: line.slice(0, 21),
        ts: Number.isNaN(date.getTime()) ? null : date.toISOString(),
        pid: Number(m[8]),
        severity: Number(m[9]),
        category: m[10] ?? null,
        text: m[11] ?? '',
      });
    } else if (BANNER.test(line) || out.length === 0) {
      out.push({ time: null, ts: null, pid: null, severity: null, category: null, text: line });
    } else {
      out[out.length - 1]!.text += `\n${line}`;
    }
  }
  return out;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** One entry in the real format: `MM/DD/YY-HH:MM:SS:mmm (pid) S [Category] text`. */
export function formatEntry(e: { severity: number; category: string; text: string; pid?: number; at?: Date }): string {
  const d = e.at ?? new Date();
  const t = `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)}-${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}:${pad(d.getMilliseconds(), 3)}`;
  return `${t} (${e.pid ?? process.pid}) ${e.severity} [${e.category}] ${e.text}\n`;
}

/** The last `maxBytes` of a file from `fromOffset` on (a partial first line is dropped). */
export async function readLogTail(path: string, maxBytes: number, fromOffset = 0): Promise<{ text: string; size: number }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', size: 0 };
    throw err;
  }
  try {
    const { size } = await fh.stat();
    const start = Math.max(fromOffset, size - maxBytes, 0);
    const len = size - start;
    if (len <= 0) return { text: '', size };
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, start);
    let text = buf.toString('utf8');
    if (start > fromOffset) text = text.slice(text.indexOf('\n') + 1);
    return { text, size };
  } finally {
    await fh.close();
  }
}

export interface LogFilter {
  since?: Date;
  minSeverity?: number;
  /** Exact category or its prefix before a dot ("Generic" matches "Generic.Event"). */
  category?: string;
  limit: number;
}

/** Newest first, filtered; banner lines pass only when no severity/category filter is set. */
export function filterEntries(entries: LogEntry[], f: LogFilter): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = entries.length - 1; i >= 0 && out.length < f.limit; i--) {
    const e = entries[i]!;
    if (f.since && (e.ts === null || new Date(e.ts) < f.since)) continue;
    if (f.minSeverity !== undefined && (e.severity === null || e.severity < f.minSeverity)) continue;
    if (f.category !== undefined) {
      const c = e.category ?? '';
      if (c.toLowerCase() !== f.category.toLowerCase() && !c.toLowerCase().startsWith(`${f.category.toLowerCase()}.`)) continue;
    }
    out.push(e);
  }
  return out;
}

/** Errors first (highest severity), then in the order they were written. */
export function errorsFirst(entries: LogEntry[]): LogEntry[] {
  return entries
    .map((e, i) => ({ e, i }))
    .sort((x, y) => (y.e.severity ?? -1) - (x.e.severity ?? -1) || x.i - y.i)
    .map((x) => x.e);
}
