// The server the conformance suite runs against: Shield's real HTTP transport (Host/Origin checks,
// sessions, SSE) serving the suite's fixture tools, resources and prompts instead of the
// inventory. A side program: the product never imports it. Prints the "listening" log line.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { serveHttp } from '../src/transports/http.js';
import { createFixturesServer } from './fixtures.js';

export const SERVER_CONFIG = join(dirname(fileURLToPath(import.meta.url)), 'server-config.json');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
  const config = loadConfig({ files: [SERVER_CONFIG], overrides: [{ server: { port: Number(values.port) } }] });
  const app = await startApp({ config, env: process.env });
  const handle = await serveHttp(app, { host: config.server.host, port: config.server.port, serverFactory: () => createFixturesServer(app) });
  const stop = (): void => void handle.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((err: unknown) => {
    process.stderr.write(`conformance server failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
