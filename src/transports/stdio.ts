// stdio: the protocol owns stdout; the server ends when the client closes stdin.
import type { Server as HttpServer } from 'node:http';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { App } from '../app.js';
import { createMcpServer } from '../server.js';
import { serveMetrics } from './metrics-server.js';

export interface StdioHandle {
  close(): Promise<void>;
  /** Resolves when the client goes away (stdin closed). */
  closed: Promise<void>;
}

export async function serveStdio(app: App): Promise<StdioHandle> {
  const server = createMcpServer(app);
  const transport = new StdioServerTransport();
  let metrics: HttpServer | undefined;
  const port = app.services.config.server.metrics_port;
  if (port !== null) metrics = await serveMetrics(app, port);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  process.stdin.once('end', () => resolveClosed());
  transport.onclose = () => resolveClosed();
  await server.connect(transport);
  return {
    closed,
    close: async () => {
      await app.close();
      await server.close();
      if (metrics) await new Promise<void>((r) => metrics!.close(() => r()));
    },
  };
}
