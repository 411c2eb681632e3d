// The node:http server under the transport: its timeouts, listening, and an orderly close.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../observability/logger.js';
import { jsonRpcError } from './respond.js';

/** A server whose handler failures become a logged 500 rather than an unhandled rejection. */
export function createNodeServer(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>, logger: Logger): HttpServer {
  const server = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      logger.error({ err }, 'http request failed');
      jsonRpcError(res, 500, 'Internal server error');
    });
  });
  server.requestTimeout = 0; // SSE streams stay open as long as a call runs
  server.keepAliveTimeout = 5000;
  return server;
}

/** Listens on host:port and resolves to the origin it is reachable at (port 0 picks one). */
export async function listen(server: HttpServer, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `http://${hostForUrl}:${addr.port}`;
}

/** Stops accepting, lets `drain` finish the work in flight, then drops the connections left. */
export async function closeGracefully(server: HttpServer, drain: () => Promise<void>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await drain();
  server.closeAllConnections();
  await closed;
}
