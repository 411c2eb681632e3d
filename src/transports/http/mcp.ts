// The MCP endpoint (/mcp): readiness and authentication, the JSON-RPC body, then one server and
// transport per session (stateful) or per request (stateless).
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { App } from '../../app.js';
import { principalOf } from '../../auth/principal.js';
import { readBody } from './guards.js';
import { jsonRpcError } from './respond.js';
import type { SessionTable } from './sessions.js';
import type { AuthedRequest, ConnectableServer, HttpAuthenticator, Route } from './types.js';

export interface McpEndpointOptions {
  app: App;
  sessions: SessionTable;
  authenticator: HttpAuthenticator | undefined;
  /** Builds the MCP server for a session (or a stateless request). */
  makeServer: () => ConnectableServer;
}

type Handler = (o: McpEndpointOptions, req: AuthedRequest, res: ServerResponse, body: unknown) => Promise<void>;

/** The parsed JSON-RPC body of a POST (undefined for GET and DELETE), or null once refused. */
async function readMessage(req: AuthedRequest, res: ServerResponse, limit: number): Promise<{ body: unknown } | null> {
  if (req.method !== 'POST') return { body: undefined };
  const raw = await readBody(req, limit);
  if (raw === 'too_large') {
    // Do not read (or keep the connection for) the rest of an oversize body.
    jsonRpcError(res, 413, `Request body over ${limit} bytes`, { connection: 'close' });
    req.destroy();
    return null;
  }
  try {
    return { body: JSON.parse(raw.toString('utf8')) };
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null }));
    return null;
  }
}

/** A fresh server and transport for each POST, both closed when the response is. */
const serveStateless: Handler = async (o, req, res, body) => {
  if (req.method !== 'POST') return jsonRpcError(res, 405, 'Method not allowed in stateless mode', { allow: 'POST' });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  const server = o.makeServer();
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
};

/** The caller's own session by Mcp-Session-Id, or a new one for an initialize request. */
const serveStateful: Handler = async (o, req, res, body) => {
  const owner = principalOf(req.auth)?.id ?? null;
  const sessionId = req.headers['mcp-session-id'];
  if (typeof sessionId === 'string') {
    const transport = o.sessions.lookup(sessionId, owner);
    if (!transport) return jsonRpcError(res, 404, 'Session not found');
    await transport.handleRequest(req, res, body);
    return;
  }
  if (req.method !== 'POST' || !isInitializeRequest(body)) return jsonRpcError(res, 400, 'Bad Request: Mcp-Session-Id header is required');
  if (o.sessions.size >= o.app.services.config.server.http.max_sessions) return jsonRpcError(res, 503, 'Too many sessions', { 'retry-after': '30' });
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => o.sessions.add(id, transport, owner),
    onsessionclosed: (id) => o.sessions.remove(id),
  });
  const server = o.makeServer();
  transport.onclose = () => {
    if (transport.sessionId) o.sessions.remove(transport.sessionId);
    void server.close();
  };
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
};

export function mcpEndpoint(o: McpEndpointOptions): Route {
  const cfg = o.app.services.config.server.http;
  const serve = cfg.mode === 'stateless' ? serveStateless : serveStateful;
  return async (req, res, url) => {
    if (url.pathname !== cfg.path) return false;
    if (!o.app.ready) {
      jsonRpcError(res, 503, 'Shutting down', { 'retry-after': '5' });
      return true;
    }
    if (o.authenticator) {
      const auth = await o.authenticator.authenticate(req, res);
      if (!auth) return true; // the authenticator answered (401/403/429)
      req.auth = auth;
    }
    const message = await readMessage(req, res, cfg.max_body_bytes);
    if (message) await serve(o, req, res, message.body);
    return true;
  };
}
