// The one loopback HTTP server under every upstream double: 127.0.0.1 on port 0, bodies read with a
// cap, JSON replies, a request log, fault injection by target, and a close that leaves no handle.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export type Fault =
  /** Answer with this status (and headers/body) instead of handling the request: 429 with or
   *  without Retry-After, a 503 burst (with `times`), a 400 the upstream chose to send. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: unknown }
  /** Never answer (the connection stays open until the client gives up or the double closes). */
  | { kind: 'hang' }
  /** Handle the request (commit it), then answer after `ms`: a slow answer beyond the timeout. */
  | { kind: 'slow'; ms: number }
  /** Handle the request (commit it), then drop the connection without an answer: the
   *  duplicate-ticket trap. `reset` sends a TCP RST (ECONNRESET) instead of a plain close. */
  | { kind: 'lost'; reset?: boolean }
  /** Handle the request (commit it), then answer its status with a body that says nothing useful:
   *  `{}` by default, or these raw bytes (a truncated JSON document, a proxy's HTML page). */
  | { kind: 'garbled'; text?: string };

/** Which requests a fault applies to: a name the double gives a request, or every named one. */
export type FaultTarget<T extends string = string> = T | 'any';

export interface InjectOptions<T extends string = string> {
  /** Default: the double's default target (`create` for the ITSM doubles, `any` otherwise). */
  target?: FaultTarget<T>;
  /** How many matching requests get the fault. Default 1. */
  times?: number;
  /** Let this many matching requests through untouched first. Default 0. */
  after?: number;
}

/** A request body that was not the JSON its content type announced. */
export const INVALID_JSON: unique symbol = Symbol.for('invalid-json');

export interface LoggedRequest {
  method: string;
  /** Path with the query string, as sent. */
  path: string;
  headers: IncomingMessage['headers'];
  /** Parsed body: JSON (or INVALID_JSON), a form as an object, else the text ('' when empty). */
  body: unknown;
  /** The body as received (cut at the cap). */
  raw: string;
  /** The target the double named this request (undefined: faults never apply to it). */
  target?: string;
  /** The fault applied to this request, if any. */
  fault?: Fault['kind'];
  /** Status answered; undefined while pending or when no answer was sent (hang, lost). */
  status?: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (set the content type in `headers`). */
  text?: string;
  /** Written chunk by chunk with back-pressure, without a content length; stops when the client leaves. */
  stream?: Iterable<string> | AsyncIterable<string>;
}

export interface LoopbackOptions<T extends string = string> {
  /** Answers a request. Throwing answers 500 with the double's error body. */
  handle?(req: LoggedRequest, url: URL): Reply | Promise<Reply>;
  /** Names the request for fault injection; undefined keeps faults away from it. */
  targetOf?(req: LoggedRequest, url: URL): T | undefined;
  /** The upstream's own error answer for a status (used by status faults, 500s and 413s). */
  errorReply?(status: number, message?: string): Reply;
  /** Target of `inject` without one. Default 'any'. */
  defaultTarget?: FaultTarget<T>;
  /** Largest body read, in bytes; larger bodies are drained and answered 413. Default 32 MiB. */
  bodyLimitBytes?: number;
  /** Parse JSON bodies whatever their content type (some clients send none). Default false. */
  alwaysJson?: boolean;
  /** Content type of JSON replies. Default 'application/json'. */
  jsonContentType?: string;
}

const DEFAULT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * A loopback HTTP server. Doubles either subclass it (overriding handle, targetOf, errorReply) or
 * pass those as options; both get the same log, faults and clean close.
 */
export class LoopbackServer<T extends string = string> {
  readonly requests: LoggedRequest[] = [];
  /** `http://127.0.0.1:<port>` once started. */
  baseUrl = '';
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly faults: Array<{ fault: Fault; target: FaultTarget<T>; times: number; after: number }> = [];
  /** Aborted by close(): ends slow answers and delays so no timer outlives the double. */
  private readonly closing = new AbortController();

  constructor(protected readonly loopback: LoopbackOptions<T> = {}) {}

  /** Same as baseUrl (the knowledge doubles' name for it). */
  get url(): string {
    return this.baseUrl;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.dispatch(req, res));
    this.server = server;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.baseUrl = `http://127.0.0.1:${this.port}`;
    return this.baseUrl;
  }

  /** Stops listening and destroys every open socket (hung and keep-alive ones too). */
  async close(): Promise<void> {
    this.closing.abort();
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Apply `fault` to `times` requests of the target, after letting `after` of them through. */
  inject(fault: Fault, options: InjectOptions<T> = {}): this {
    const target = options.target ?? this.loopback.defaultTarget ?? 'any';
    this.faults.push({ fault, target, times: options.times ?? 1, after: options.after ?? 0 });
    return this;
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Waits `ms`, or less when the double closes first (resolves false then). */
  protected async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.closing.signal });
      return true;
    } catch {
      return false;
    }
  }

  protected handle(req: LoggedRequest, url: URL): Reply | Promise<Reply> {
    if (!this.loopback.handle) throw new Error(`no handler for ${req.method} ${url.pathname}`);
    return this.loopback.handle(req, url);
  }

  protected targetOf(req: LoggedRequest, url: URL): T | undefined {
    return this.loopback.targetOf?.(req, url);
  }

  protected errorReply(status: number, message?: string): Reply {
    return this.loopback.errorReply?.(status, message) ?? { status, body: { error: message ?? `HTTP ${status}` } };
  }

  private takeFault(target: T | undefined): Fault | undefined {
    if (target === undefined) return undefined;
    const i = this.faults.findIndex((f) => f.target === 'any' || f.target === target);
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    if (f.after > 0) {
      f.after--;
      return undefined;
    }
    if (--f.times <= 0) this.faults.splice(i, 1);
    return f.fault;
  }

  private async readBody(req: IncomingMessage): Promise<{ raw: string; tooLarge: boolean }> {
    const limit = this.loopback.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
    const parts: Buffer[] = [];
    let size = 0;
    // Past the cap the rest is drained and dropped, so the client can still read the 413.
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size <= limit) parts.push(c as Buffer);
    }
    return { raw: Buffer.concat(parts).toString('utf8'), tooLarge: size > limit };
  }

  private parse(raw: string, contentType: string): unknown {
    if (!raw) return raw;
    if (contentType.includes('json') || this.loopback.alwaysJson) {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        return INVALID_JSON;
      }
    }
    if (contentType.includes('x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
    return raw;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { raw, tooLarge } = await this.readBody(req);
    const url = new URL(req.url ?? '/', 'http://loopback');
    const logged: LoggedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      headers: req.headers,
      body: tooLarge ? undefined : this.parse(raw, String(req.headers['content-type'] ?? '')),
      raw,
    };
    this.requests.push(logged);
    if (tooLarge) return this.write(res, logged, this.errorReply(413, 'request body too large'));
    logged.target = this.targetOf(logged, url);
    const fault = this.takeFault(logged.target as T | undefined);
    logged.fault = fault?.kind;
    if (fault?.kind === 'hang') return; // the socket is destroyed on close()
    if (fault?.kind === 'status') {
      const base = fault.body === undefined ? this.errorReply(fault.status) : { status: fault.status, body: fault.body };
      return this.write(res, logged, { ...base, status: fault.status, headers: { ...base.headers, ...fault.headers } });
    }
    let reply: Reply;
    try {
      reply = await this.handle(logged, url);
    } catch (err) {
      reply = this.errorReply(500, (err as Error).message);
    }
    if (fault?.kind === 'lost') {
      if (fault.reset) req.socket.resetAndDestroy();
      else req.socket.destroy();
      return;
    }
    if (fault?.kind === 'garbled') {
      reply = fault.text === undefined ? { status: reply.status, body: {} } : { status: reply.status, headers: { 'content-type': this.jsonContentType() }, text: fault.text };
    }
    if (fault?.kind === 'slow' && !(await this.pause(fault.ms))) return;
    await this.write(res, logged, reply);
  }

  private jsonContentType(): string {
    return this.loopback.jsonContentType ?? 'application/json';
  }

  private async write(res: ServerResponse, logged: LoggedRequest, r: Reply): Promise<void> {
    if (res.destroyed) return;
    logged.status = r.status;
    if (r.stream) {
      res.writeHead(r.status, r.headers ?? {});
      for await (const chunk of r.stream) {
        if (res.destroyed) return;
        if (!res.write(chunk)) await drainedOrClosed(res);
      }
      return void res.end();
    }
    const text = r.text ?? (r.body !== undefined ? JSON.stringify(r.body) : undefined);
    const headers: Record<string, string> = {
      ...(r.body !== undefined && r.text === undefined ? { 'content-type': this.jsonContentType() } : {}),
      ...(text !== undefined ? { 'content-length': String(Buffer.byteLength(text)) } : {}),
      ...r.headers,
    };
    res.writeHead(r.status, headers);
    res.end(text);
  }
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

/** Starts a loopback double from options alone (for doubles that need no state of their own). */
export async function startLoopback<T extends string = string>(options: LoopbackOptions<T>): Promise<LoopbackServer<T>> {
  const server = new LoopbackServer<T>(options);
  await server.start();
  return server;
}

export const basicCredentials = (header: string | undefined): [string, string] | undefined => {
  const m = /^Basic (.+)$/.exec(header ?? '');
  if (!m) return undefined;
  const s = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = s.indexOf(':');
  return i < 0 ? undefined : [s.slice(0, i), s.slice(i + 1)];
};

export const bearer = (header: string | undefined): string | undefined => /^Bearer (.+)$/.exec(header ?? '')?.[1];
