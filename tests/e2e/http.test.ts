import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serveHttp, type HttpHandle } from '../../src/transports/http.js';
import { ALL_TOOLS } from '../../src/tools/inventory.js';
import { errorOf, makeApp, structured } from '../helpers/app.js';

function rawStatus(url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'http-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

const initBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const postHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('Streamable HTTP, stateful (SSE) mode', () => {
  let handle: HttpHandle;
  let base: string;
  beforeAll(async () => {
    const app = await makeApp();
    handle = await serveHttp(app, { host: '127.0.0.1', port: 0 });
    base = handle.url.replace(/\/mcp$/, '');
  });
  afterAll(async () => handle.close());

  it('lists every tool with all annotations and an output schema', async () => {
    const client = await connect(handle.url);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS.map((t) => t.name).sort());
    for (const t of tools) {
      expect(Object.keys(t.annotations ?? {})).toEqual(expect.arrayContaining(['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint']));
      expect(t.outputSchema).toBeDefined();
    }
    await client.close();
  });

  it('render_template answers with valid structuredContent; a malformed call is INVALID_INPUT', async () => {
    const client = await connect(handle.url);
    await client.listTools();
    const out = structured(await client.callTool({ name: 'render_template', arguments: { template: 'outage', platform: 'servicenow', variables: { service: 'api', symptoms: '502', started_at: '10:00' } } }));
    expect((out.fields as Record<string, string>).short_description).toBe('[PROD] Outage: api');
    expect(errorOf(await client.callTool({ name: 'render_template', arguments: { platform: 'x' } })).code).toBe('INVALID_INPUT');
    await client.close();
  });

  it('refuses a foreign Origin with 403 and a foreign Host with 403; loopback origins pass', async () => {
    const evil = await fetch(handle.url, { method: 'POST', headers: { ...postHeaders, origin: 'http://evil.example' }, body: initBody });
    expect(evil.status).toBe(403);
    // fetch cannot forge Host; node:http can, as a DNS-rebinding page effectively does.
    expect(await rawStatus(handle.url, { ...postHeaders, host: 'attacker.example' }, initBody)).toBe(403);
    const good = await fetch(handle.url, { method: 'POST', headers: { ...postHeaders, origin: 'http://localhost:6274' }, body: initBody });
    expect(good.status).toBe(200);
    await good.body?.cancel();
  });

  it('answers unknown sessions with 404, a missing session with 400, an oversize body with 413', async () => {
    const unknown = await fetch(handle.url, { method: 'POST', headers: { ...postHeaders, 'mcp-session-id': 'nope' }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    expect(unknown.status).toBe(404);
    const missing = await fetch(handle.url, { method: 'POST', headers: postHeaders, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    expect(missing.status).toBe(400);
    const big = await fetch(handle.url, { method: 'POST', headers: postHeaders, body: 'x'.repeat(1_048_577) });
    expect(big.status).toBe(413);
  });

  it('serves /healthz, /readyz and /metrics counting the calls', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(await ready.json()).toEqual({ ready: true });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/shield_tool_calls_total\{tool="render_template",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/shield_tool_calls_total\{tool="render_template",outcome="INVALID_INPUT"\} [1-9]/);
    expect(text).toContain('shield_tool_duration_seconds_bucket');
  });
});

describe('Streamable HTTP, stateless mode', () => {
  it('serves each request without a session', async () => {
    const app = await makeApp({ overrides: [{ server: { http: { mode: 'stateless' } } }] });
    const handle = await serveHttp(app, { host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(handle.url, { method: 'POST', headers: postHeaders, body: initBody });
      expect(res.status).toBe(200);
      expect(res.headers.get('mcp-session-id')).toBeNull();
      await res.body?.cancel();
      const client = await connect(handle.url);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('render_template');
      expect(structured(await client.callTool({ name: 'list_templates', arguments: {} })).templates).toHaveLength(4);
      await client.close();
    } finally {
      await handle.close();
    }
  });
});

describe('the shield-mcp process over HTTP', () => {
  it('starts on a random port, answers, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shield-http-'));
    const child = spawn(process.execPath, ['dist/main.js', '--transport', 'http', '--port', '0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Whatever fails below, the process does not outlive the test.
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no listening line: ${err}`)), 10_000);
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+\/mcp)"/.exec(err);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
    const client = await connect(url);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(err).toContain('"msg":"shutting down"');
  });
});

describe('stateful sessions belong to the principal that opened them', () => {
  it('a session id used with another valid token is not found', async () => {
    const { createHash } = await import('node:crypto');
    const { createHttpAuth } = await import('../../src/transports/auth/authenticator.js');
    const sha = (t: string) => createHash('sha256').update(t).digest('hex');
    const app = await makeApp({
      overrides: [{ auth: { mode: 'bearer', tokens: [{ id: 'alice', sha256: sha('alice-token'), scopes: ['shield:read'] }, { id: 'bob', sha256: sha('bob-token'), scopes: ['shield:read'] }] } }],
    });
    const auth = createHttpAuth(app.services.config, { logger: app.services.logger });
    const handle = await serveHttp(app, { host: '127.0.0.1', port: 0, authenticator: auth.authenticator!, serverOptions: { visibleTools: auth.visibleTools } });
    try {
      const init = await fetch(handle.url, { method: 'POST', headers: { ...postHeaders, authorization: 'Bearer alice-token' }, body: initBody });
      expect(init.status).toBe(200);
      const sessionId = init.headers.get('mcp-session-id')!;
      await init.body?.cancel();
      const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      const asBob = await fetch(handle.url, { method: 'POST', headers: { ...postHeaders, authorization: 'Bearer bob-token', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }, body: list });
      expect(asBob.status).toBe(404);
      const asAlice = await fetch(handle.url, { method: 'POST', headers: { ...postHeaders, authorization: 'Bearer alice-token', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }, body: list });
      expect(asAlice.status).toBe(200);
      await asAlice.body?.cancel();
    } finally {
      await handle.close();
    }
  });
});
