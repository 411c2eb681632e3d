// Shared plumbing of the ServiceNow and Jira fakes: a loopback HTTP server, a request log, and a
// queue of injected faults (429s, 503 bursts, hung or slow answers, answers lost after commit).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  /** Answer with this status (and headers/body) instead of handling the request. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: unknown }
  /** Never answer (the connection stays open until the client gives up). */
  | { kind: 'hang' }
  /** Handle the request (commit it), then answer after `ms`. */
  | { kind: 'slow'; ms: number }
  /** Handle the request (commit it), then drop the connection: the duplicate-ticket trap. */
  | { kind: 'lost' }
  /** Handle the request (commit it), then answer its status with a body that says nothing. */
  | { kind: 'garbled' };

export type FaultTarget = 'create' | 'lookup' | 'any';

export interface LoggedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type Handler = (req: LoggedRequest, url: URL) => Reply | Promise<Reply>;

export abstract class FakeHttpServer {
  readonly requests: LoggedRequest[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly faults: Array<{ fault: Fault; target: FaultTarget; times: number; after: number }> = [];
  baseUrl = '';

  /** Which fault target a request is (create, lookup) or undefined for others. */
  protected abstract targetOf(req: LoggedRequest, url: URL): FaultTarget | undefined;
  protected abstract handle(req: LoggedRequest, url: URL): Reply | Promise<Reply>;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.dispatch(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Apply `fault` to `times` requests of the target kind, after letting `after` of them through. */
  inject(fault: Fault, options: { target?: FaultTarget; times?: number; after?: number } = {}): this {
    this.faults.push({ fault, target: options.target ?? 'create', times: options.times ?? 1, after: options.after ?? 0 });
    return this;
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  private takeFault(target: FaultTarget | undefined): Fault | undefined {
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

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const type = String(req.headers['content-type'] ?? '');
    let body: unknown = raw;
    if (raw && type.includes('json')) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = Symbol.for('invalid-json');
      }
    } else if (raw && type.includes('x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(raw));
    const url = new URL(req.url ?? '/', 'http://fake');
    const logged: LoggedRequest = { method: req.method ?? 'GET', path: url.pathname + url.search, headers: req.headers, body };
    this.requests.push(logged);
    const fault = this.takeFault(this.targetOf(logged, url));
    if (fault?.kind === 'hang') return; // the socket is destroyed on close()
    if (fault?.kind === 'status') return this.write(res, { status: fault.status, headers: fault.headers ?? {}, body: fault.body ?? this.defaultErrorBody(fault.status) });
    let reply: Reply;
    try {
      reply = await this.handle(logged, url);
    } catch (err) {
      reply = { status: 500, body: this.defaultErrorBody(500, (err as Error).message) };
    }
    if (fault?.kind === 'lost') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'garbled') reply = { status: reply.status, body: {} };
    if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.ms));
    if (!res.destroyed) this.write(res, reply);
  }

  protected abstract defaultErrorBody(status: number, message?: string): unknown;

  private write(res: ServerResponse, r: Reply): void {
    const headers: Record<string, string> = { ...(r.body !== undefined ? { 'content-type': 'application/json;charset=UTF-8' } : {}), ...r.headers };
    res.writeHead(r.status, headers);
    res.end(r.body !== undefined ? JSON.stringify(r.body) : undefined);
  }
}

export const basicCredentials = (header: string | undefined): [string, string] | undefined => {
  const m = /^Basic (.+)$/.exec(header ?? '');
  if (!m) return undefined;
  const s = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = s.indexOf(':');
  return i < 0 ? undefined : [s.slice(0, i), s.slice(i + 1)];
};

export const bearer = (header: string | undefined): string | undefined => /^Bearer (.+)$/.exec(header ?? '')?.[1];
