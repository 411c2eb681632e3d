// Streamable HTTP on one node:http server: Host and Origin guards, then the routes in order
// (discovery, probes, admin, /mcp). The pieces live in ./http/; this file puts them together.
import type { Server as HttpServer, ServerResponse } from 'node:http';
import type { App } from '../app.js';
import { createMcpServer, type CreateServerOptions } from '../server.js';
import { adminRoute } from './http/admin.js';
import { requestGuards } from './http/guards.js';
import { closeGracefully, createNodeServer, listen } from './http/lifecycle.js';
import { mcpEndpoint } from './http/mcp.js';
import { healthz, metrics, readyz } from './http/probes.js';
import { jsonRpcError } from './http/respond.js';
import { SessionTable } from './http/sessions.js';
import type { AuthedRequest, ConnectableServer, HttpAuthenticator, Route } from './http/types.js';

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

/** Every request: Host first, public discovery documents, Origin, then the first route that answers. */
function requestHandler(app: App, options: HttpServeOptions, sessions: SessionTable): (req: AuthedRequest, res: ServerResponse) => Promise<void> {
  const guards = requestGuards(options.host, app.services.config.server.http);
  const { authenticator } = options;
  const authRoute: Route = (req, res, url) => authenticator?.route?.(req, res, url) ?? false;
  const makeServer = (): ConnectableServer => options.serverFactory?.() ?? createMcpServer(app, options.serverOptions);
  const routes: Route[] = [
    healthz,
    readyz(app),
    metrics(app, authenticator),
    authRoute,
    adminRoute(app, authenticator),
    mcpEndpoint({ app, sessions, authenticator, makeServer }),
  ];
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!guards.hostAllowed(req)) return jsonRpcError(res, 403, 'Forbidden: Host not allowed');
    // Discovery documents are public and read by browser-based clients of any origin.
    if (url.pathname.startsWith('/.well-known/') && (await authRoute(req, res, url))) return;
    if (!guards.originAllowed(req)) return jsonRpcError(res, 403, 'Forbidden: Origin not allowed');
    for (const route of routes) if (await route(req, res, url)) return;
    jsonRpcError(res, 404, 'Not found');
  };
}

export async function serveHttp(app: App, options: HttpServeOptions): Promise<HttpHandle> {
  const cfg = app.services.config.server.http;
  const logger = app.services.logger.child({ transport: 'http' });
  const sessions = new SessionTable();
  const server = createNodeServer(requestHandler(app, options, sessions), logger);
  const url = `${await listen(server, options.port, options.host)}${cfg.path}`;
  const stopSweep = sessions.sweepIdle(cfg.session_idle_timeout_ms);
  logger.info({ url, mode: cfg.mode }, 'listening');
  return {
    server,
    url,
    close: async () => {
      stopSweep();
      // Stop accepting; in-flight calls finish inside app.close(); then drop the streams.
      await closeGracefully(server, async () => {
        await app.close();
        await sessions.closeAll();
      });
    },
  };
}
