// A loopback-only /metrics and /healthz listener for stdio mode (stdout is taken by the protocol).
import { createServer, type Server as HttpServer } from 'node:http';
import type { App } from '../app.js';

export async function serveMetrics(app: App, port: number): Promise<HttpServer> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void app.services.metrics.text().then((text) => {
        res.writeHead(200, { 'content-type': app.services.metrics.contentType });
        res.end(text);
      });
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}
