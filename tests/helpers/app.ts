// Test helpers: a real app (in-memory SQLite) and a real SDK client over an in-memory transport,
// or the built server spawned over stdio.
import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { startApp, type App } from '../../src/app.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { createMcpServer } from '../../src/server.js';
import type { Principal } from '../../src/auth/principal.js';
import type { AnyTool } from '../../src/tools/define-tool.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';

/** The shipped defaults with an in-memory store and silent logs, plus the given overrides. */
export function testConfig(...overrides: unknown[]): Config {
  return loadConfig({ overrides: [{ store: { data_dir: ':memory:' }, logging: { level: 'silent' } }, ...overrides] });
}

export interface LogCapture {
  lines: Array<Record<string, unknown>>;
}

export async function makeApp(
  options: { config?: Config; overrides?: unknown[]; tools?: readonly AnyTool[]; env?: NodeJS.ProcessEnv; captureLogs?: boolean } = {},
): Promise<App & { logs: LogCapture }> {
  const config = options.config ?? testConfig(...(options.overrides ?? []));
  const logs: LogCapture = { lines: [] };
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger({ level: options.captureLogs ? 'debug' : config.logging.level, stream });
  const app = await startApp({
    config,
    env: options.env ?? {},
    logger,
    metrics: new Metrics(),
    ...(options.tools ? { allTools: options.tools } : {}),
  });
  return Object.assign(app, { logs });
}

/** A real SDK Client connected to a real server for this app, in memory. */
export async function connectClient(app: App, capabilities: ClientCapabilities = {}, principal?: Principal): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  if (principal) {
    // What an authenticating HTTP transport would attach to each request.
    const authInfo: AuthInfo = { token: 'test', clientId: principal.id, scopes: principal.scopes, extra: { principal } };
    const send = clientSide.send.bind(clientSide);
    clientSide.send = (message, options) => send(message, { ...options, authInfo });
  }
  const server = createMcpServer(app);
  await server.connect(serverSide);
  const client = new Client({ name: 'shield-test', version: '1.0.0' }, { capabilities });
  await client.connect(clientSide);
  return client;
}

/** The built server (dist/main.js) spawned over stdio, with a real SDK Client. */
export async function spawnStdioClient(args: string[], env: Record<string, string> = {}): Promise<{ client: Client; stderr: () => string; close(): Promise<void> }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['dist/main.js', ...args],
    env: { ...(process.env as Record<string, string>), ...env },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const client = new Client({ name: 'shield-e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => err, close: () => client.close() };
}

/** structuredContent of a successful call, or a thrown error with the text when it failed. */
export function structured<T = Record<string, unknown>>(result: unknown): T {
  const r = result as { isError?: boolean; structuredContent?: unknown; content?: Array<{ text?: string }> };
  if (r.isError) throw new Error(`tool call failed: ${r.content?.[0]?.text ?? '(no text)'}`);
  return r.structuredContent as T;
}

/** The error part of a failed call. */
export function errorOf(result: unknown): { code: string; message: string; hint: string; details?: unknown; retry_after_s?: number } {
  const r = result as { isError?: boolean; content?: Array<{ text?: string }> };
  if (!r.isError) throw new Error(`expected an error result, got ${JSON.stringify(result).slice(0, 300)}`);
  return (JSON.parse(r.content?.[0]?.text ?? '{}') as { error: ReturnType<typeof errorOf> }).error;
}
