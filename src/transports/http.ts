// Streamable HTTP on one node:http server: /mcp (stateful SSE sessions or stateless), /healthz,
// /readyz, /metrics; Host and Origin checks, body size limit, orderly close.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { App } from '../app.js';
import { principalOf } from '../auth/principal.js';
import { createMcpServer, type CreateServerOptions } from '../server.js';
import { handleAdmin } from './admin.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Inbound authentication hook: returns the caller, or writes the refusal itself and returns null. */
export interface HttpAuthenticator {
  authenticate(req: IncomingMessage, res: ServerResponse): Promise<AuthInfo | null>;
  /** Extra routes (e.g. /.well-known/oauth-protected-resource); true when handled. */
  route?(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> | boolean;
}

/** What a transport connects to: the SDK's Server or McpServer both fit. */
export interface ConnectableServer {
  connect(transport: StreamableHTTPServerTransport): Promise<void>;
  close(): Promise<void>;
}

export interface HttpServeOptions {
  host: string;
  port: number;
  authenticator?: HttpAuthenticator;
  serverOptions?: CreateServerOptions;
  /** Builds the MCP server for a session (or a stateless request); the Shield server by default. */
  serverFactory?: () => ConnectableServer;
}

export interface HttpHandle {
  server: HttpServer;
  url: string;
  close(): Promise<void>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  lastSeen: number;
  /** The principal that opened it: a session id learned by another caller is useless to them. */
  owner: string | null;
}

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1).toLowerCase();
  const i = hostHeader.lastIndexOf(':');
  return (i === -1 ? hostHeader : hostHeader.slice(0, i)).toLowerCase();
}

export function jsonRpcError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: status === 404 ? -32001 : -32000, message }, id: null }));
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return 'too_large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function serveHttp(app: App, options: HttpServeOptions): Promise<HttpHandle> {
  const cfg = app.services.config.server.http;
  const logger = app.services.logger.child({ transport: 'http' });
  const sessions = new Map<string, Session>();
  const allowedHosts = new Set([...LOOPBACK_NAMES, options.host.toLowerCase(), ...cfg.allowed_hosts.map((h) => h.toLowerCase())]);
  const allowedOrigins = new Set(cfg.allowed_origins);

  const hostAllowed = (req: IncomingMessage): boolean => {
    const host = req.headers.host;
    return host !== undefined && allowedHosts.has(hostnameOf(host));
  };

  // Browsers send Origin; a page on another site must not drive a local server (DNS rebinding).
  const originAllowed = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (allowedOrigins.has(origin)) return true;
    try {
      return LOOPBACK_NAMES.has(new URL(origin).hostname.toLowerCase());
    } catch {
      return false;
    }
  };

  const makeServer = (): ConnectableServer => options.serverFactory?.() ?? createMcpServer(app, options.serverOptions);

  const newTransport = (stateful: boolean, owner: string | null = null): StreamableHTTPServerTransport => {
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: stateful ? () => randomUUID() : undefined,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, lastSeen: Date.now(), owner });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    return transport;
  };

  const handleMcp = async (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse): Promise<void> => {
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, cfg.max_body_bytes);
      if (raw === 'too_large') {
        // Do not read (or keep the connection for) the rest of an oversize body.
        jsonRpcError(res, 413, `Request body over ${cfg.max_body_bytes} bytes`, { connection: 'close' });
        req.destroy();
        return;
      }
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null }));
        return;
      }
    }

    if (cfg.mode === 'stateless') {
      if (req.method !== 'POST') return jsonRpcError(res, 405, 'Method not allowed in stateless mode', { allow: 'POST' });
      const transport = newTransport(false);
      const server = makeServer();
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }

    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const s = sessions.get(sessionId);
      if (!s || s.owner !== (principalOf(req.auth)?.id ?? null)) return jsonRpcError(res, 404, 'Session not found');
      s.lastSeen = Date.now();
      await s.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      if (sessions.size >= cfg.max_sessions) return jsonRpcError(res, 503, 'Too many sessions', { 'retry-after': '30' });
      const transport = newTransport(true, principalOf(req.auth)?.id ?? null);
      const server = makeServer();
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
        void server.close();
      };
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    return jsonRpcError(res, 400, 'Bad Request: Mcp-Session-Id header is required');
  };

  const handler = async (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!hostAllowed(req)) return jsonRpcError(res, 403, 'Forbidden: Host not allowed');
    // Discovery documents are public and read by browser-based clients of any origin.
    if (url.pathname.startsWith('/.well-known/') && options.authenticator?.route && (await options.authenticator.route(req, res, url))) return;
    if (!originAllowed(req)) return jsonRpcError(res, 403, 'Forbidden: Origin not allowed');

    if (url.pathname === '/healthz' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok' }));
      return;
    }
    if (url.pathname === '/readyz' && req.method === 'GET') {
      res.writeHead(app.ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ready: app.ready }));
      return;
    }
    if (url.pathname === '/metrics' && req.method === 'GET') {
      // With authentication on, metrics (tool names, hosts, instances) are for operators only.
      if (options.authenticator) {
        const auth = await options.authenticator.authenticate(req, res);
        if (!auth) return;
        if (!principalOf(auth)?.operator) return jsonRpcError(res, 403, 'Forbidden: /metrics needs the operator scope');
      }
      const text = await app.services.metrics.text();
      res.writeHead(200, { 'content-type': app.services.metrics.contentType });
      res.end(text);
      return;
    }
    if (options.authenticator?.route && (await options.authenticator.route(req, res, url))) return;
    if (await handleAdmin(app, options.authenticator, req, res, url)) return;
    if (url.pathname !== cfg.path) return jsonRpcError(res, 404, 'Not found');
    if (!app.ready) return jsonRpcError(res, 503, 'Shutting down', { 'retry-after': '5' });
    if (options.authenticator) {
      const auth = await options.authenticator.authenticate(req, res);
      if (!auth) return; // the authenticator answered (401/403/429)
      req.auth = auth;
    }
    await handleMcp(req, res);
  };

  const server = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      logger.error({ err }, 'http request failed');
      jsonRpcError(res, 500, 'Internal server error');
    });
  });
  server.requestTimeout = 0; // SSE streams stay open as long as a call runs
  server.keepAliveTimeout = 5000;

  // Idle stateful sessions are closed so abandoned clients do not pin memory.
  const sweeper = setInterval(() => {
    const cutoff = Date.now() - cfg.session_idle_timeout_ms;
    for (const [id, s] of sessions) {
      if (s.lastSeen < cutoff) {
        sessions.delete(id);
        void s.transport.close();
      }
    }
  }, Math.min(60_000, cfg.session_idle_timeout_ms));
  sweeper.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${hostForUrl}:${addr.port}${cfg.path}`;
  logger.info({ url, mode: cfg.mode }, 'listening');

  return {
    server,
    url,
    close: async () => {
      clearInterval(sweeper);
      // Stop accepting; in-flight calls finish inside app.close(); then drop the streams.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await app.close();
      for (const s of sessions.values()) await s.transport.close();
      sessions.clear();
      server.closeAllConnections();
      await closed;
    },
  };
}
