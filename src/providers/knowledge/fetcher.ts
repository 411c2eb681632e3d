// The SSRF-safe fetcher: every hop is vetted, connects only to the vetted address, and caps size and time.
import type { LookupFunction } from 'node:net';
import type { Agent } from 'undici';
import { lazyModule } from '../../lazy.js';

const undici = lazyModule<typeof import('undici')>('undici');
import { ShieldError } from '../../errors.js';
import { vetUrl, type GuardPolicy, type ResolvedAddress, type Resolver } from './ssrf.js';

export interface FetchOptions {
  signal?: AbortSignal;
  /** Content types accepted (lower case, without parameters); others end with `skipped: content_type`. */
  accept?: readonly string[];
  /** Redirect hops to follow (each re-checked); defaults to the fetcher's. */
  maxRedirects?: number;
  maxBytes?: number;
  /** Runs one hop's network I/O (the crawler passes the per-host breaker here). */
  via?: <T>(host: string, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal) => Promise<T>;
}

export type FetchOutcome =
  | { kind: 'ok'; url: string; status: number; contentType: string; body: string; redirects: number }
  | { kind: 'status'; url: string; status: number }
  | { kind: 'skipped'; url: string; reason: 'content_type' | 'too_large'; detail: string };

export interface SafeFetcherOptions {
  policy: GuardPolicy;
  resolver: Resolver;
  userAgent: string;
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class SafeFetcher {
  private readonly opts: SafeFetcherOptions;
  /** Agents keyed by host and vetted addresses: keep-alive without ever trusting a fresh lookup. */
  private readonly agents = new Map<string, Agent>();

  constructor(options: SafeFetcherOptions) {
    this.opts = options;
  }

  private agentFor(host: string, addresses: ResolvedAddress[]): Agent {
    const key = `${host}|${addresses.map((a) => a.address).join(',')}`;
    let agent = this.agents.get(key);
    if (!agent) {
      // The socket connects to what was checked: DNS rebinding between check and connect is impossible.
      const pinned: LookupFunction = (_hostname, options, callback) => {
        const opts = typeof options === 'object' && options !== null ? options : {};
        if ((opts as { all?: boolean }).all) callback(null, addresses.map((a) => ({ address: a.address, family: a.family })));
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      };
      agent = new (undici().Agent)({ connect: { lookup: pinned, timeout: this.opts.timeoutMs }, connections: 8, keepAliveTimeout: 4000 });
      if (this.agents.size > 256) void this.close();
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** GET a URL following redirects by hand; URL_NOT_ALLOWED for any hop the guard refuses. */
  async fetch(input: string, options: FetchOptions = {}): Promise<FetchOutcome> {
    const maxRedirects = options.maxRedirects ?? this.opts.maxRedirects;
    const maxBytes = options.maxBytes ?? this.opts.maxBytes;
    let current = input;
    for (let hop = 0; ; hop++) {
      const target = await vetUrl(current, this.opts.policy, this.opts.resolver);
      const host = target.url.hostname;
      const dispatcher = this.agentFor(host, target.addresses);
      const once = async (signal: AbortSignal): Promise<FetchOutcome | { kind: 'redirect'; location: string }> => {
        // A timer we can clear: a late abort must not reach a response that was already read.
        const timer = new AbortController();
        const t = setTimeout(() => timer.abort(new Error('page time cap')), this.opts.timeoutMs);
        try {
          return await this.exchange(target.url, host, dispatcher, AbortSignal.any([signal, timer.signal]), timer.signal, signal, options, maxBytes, hop);
        } finally {
          clearTimeout(t);
        }
      };
      const out = options.via ? await options.via(host, once, options.signal) : await once(options.signal ?? new AbortController().signal);
      if (out.kind !== 'redirect') return out;
      if (hop >= maxRedirects) throw new ShieldError('URL_NOT_ALLOWED', `Too many redirects (more than ${maxRedirects}) from ${input}.`, { details: { url: input, reason: 'redirects' } });
      current = out.location;
    }
  }

  private async exchange(
    url: URL,
    host: string,
    dispatcher: Agent,
    sig: AbortSignal,
    timeout: AbortSignal,
    signal: AbortSignal,
    options: FetchOptions,
    maxBytes: number,
    hop: number,
  ): Promise<FetchOutcome | { kind: 'redirect'; location: string }> {
    const target = { url };
    const timedOut = (err: unknown): boolean => (timeout.aborted && !signal.aborted) || /TIMEOUT/.test(String((err as { code?: unknown })?.code ?? ''));
    const failure = (err: unknown, what: string): unknown => {
      if (signal.aborted) return err;
      if (timedOut(err)) return new ShieldError('UPSTREAM_TIMEOUT', `${host} did not ${what} within ${this.opts.timeoutMs} ms.`, { cause: err });
      return new ShieldError('UPSTREAM_UNAVAILABLE', `${host}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    };
    let res;
    try {
      res = await undici().request(target.url, {
        method: 'GET',
        dispatcher,
        signal: sig,
        headers: { 'user-agent': this.opts.userAgent, accept: (options.accept ?? ['text/html']).join(', ') + ';q=1, */*;q=0.1' },
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
    } catch (err) {
      throw failure(err, 'answer');
    }
    // Errors after we stop reading (a destroyed body, a late abort) are expected: never unhandled.
    res.body.on('error', () => undefined);
    const status = res.statusCode;
    const drop = async (): Promise<void> => {
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    };
    if (REDIRECTS.has(status)) {
      const loc = res.headers.location;
      await drop();
      const location = Array.isArray(loc) ? loc[0] : loc;
      if (!location) return { kind: 'status', url: target.url.href, status };
      // An absolute Location is vetted as written, so odd literal forms are seen before canonicalisation.
      return { kind: 'redirect', location: /^[a-z][a-z0-9+.-]*:/i.test(location) ? location : new URL(location, target.url).href };
    }
    if (status >= 500) {
      await drop();
      throw new ShieldError('UPSTREAM_UNAVAILABLE', `${host} answered ${status}.`, { status });
    }
    if (status < 200 || status >= 300) {
      await drop();
      return { kind: 'status', url: target.url.href, status };
    }
    const ct = String(res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (options.accept && !options.accept.includes(ct)) {
      res.body.destroy();
      return { kind: 'skipped', url: target.url.href, reason: 'content_type', detail: ct || '(none)' };
    }
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.body.destroy();
      return { kind: 'skipped', url: target.url.href, reason: 'too_large', detail: `${declared} bytes` };
    }
    const parts: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > maxBytes) {
          res.body.destroy();
          return { kind: 'skipped', url: target.url.href, reason: 'too_large', detail: `more than ${maxBytes} bytes` };
        }
        parts.push(chunk as Buffer);
      }
    } catch (err) {
      throw failure(err, 'send the page');
    }
    return { kind: 'ok', url: target.url.href, status, contentType: ct, body: Buffer.concat(parts).toString('utf8'), redirects: hop };
  }

  async close(): Promise<void> {
    const all = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(all.map((a) => a.close().catch(() => undefined)));
  }
}
