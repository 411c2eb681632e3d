// JSON over undici with connect, header and total timeouts; failures classified by whether the
// request may have reached the upstream (ambiguous) or certainly did not.
import type { Agent } from 'undici';
import { lazyModule } from '../../lazy.js';

const undici = lazyModule<typeof import('undici')>('undici');

export interface HttpTimeouts {
  connectMs: number;
  headersMs: number;
  totalMs: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** A non-2xx answer. `status` lets the breaker registry treat 4xx (not 408/429) as neutral. */
export class HttpStatusError extends Error {
  readonly status: number;
  readonly headers: HttpResponse['headers'];
  readonly body: unknown;
  constructor(method: string, path: string, res: HttpResponse) {
    super(`${method} ${path} answered ${res.status}`);
    this.name = 'HttpStatusError';
    this.status = res.status;
    this.headers = res.headers;
    this.body = res.body;
  }
}

export type TransportKind = 'connect' | 'timeout' | 'reset' | 'cancelled';

/** No usable answer. `ambiguous`: the request may have been processed upstream. */
export class TransportError extends Error {
  readonly kind: TransportKind;
  readonly ambiguous: boolean;
  constructor(kind: TransportKind, ambiguous: boolean, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'TransportError';
    this.kind = kind;
    this.ambiguous = ambiguous;
  }
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function errCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } } | null;
  return e?.code ?? e?.cause?.code;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  signal?: AbortSignal;
}

export class HttpClient {
  readonly baseUrl: string;
  private readonly agent: Agent;
  private readonly timeouts: HttpTimeouts;

  constructor(baseUrl: string, timeouts: HttpTimeouts) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeouts = timeouts;
    this.agent = new (undici().Agent)({
      connect: { timeout: timeouts.connectMs },
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.totalMs,
      keepAliveTimeout: 4_000,
    });
  }

  /** Any status comes back as a response; only the transport failing throws (TransportError). */
  async send(method: 'GET' | 'POST', pathOrUrl: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}${pathOrUrl}`;
    const total = AbortSignal.timeout(this.timeouts.totalMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, total]) : total;
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    let body: string | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(opts.form).toString();
    }
    const sent = method === 'POST';
    try {
      const res = await undici().request(url, { method, headers, body, signal, dispatcher: this.agent });
      const text = await res.body.text();
      let parsed: unknown = text;
      if (text && String(res.headers['content-type'] ?? '').includes('json')) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      return { status: res.statusCode, headers: res.headers, body: parsed };
    } catch (err) {
      const code = errCode(err);
      if (code && CONNECT_CODES.has(code)) throw new TransportError('connect', false, `${method} ${url}: cannot connect (${code})`, err);
      if (opts.signal?.aborted) throw new TransportError('cancelled', sent, `${method} ${url}: cancelled`, err);
      if (total.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new TransportError('timeout', sent, `${method} ${url}: no complete answer within the timeout (${code ?? 'total'})`, err);
      }
      throw new TransportError('reset', sent, `${method} ${url}: connection failed (${code ?? (err as Error).message})`, err);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
