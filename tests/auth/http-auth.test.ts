// Authentication on Streamable HTTP end to end: real SDK client, real serveHttp on 127.0.0.1, a
// local issuer serving its JWKS, static bearer tokens, scope filtering and the rate limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serveCommand } from '../../src/cli/serve.js';
import { ConfigError } from '../../src/config/load.js';
import { createHttpAuth } from '../../src/transports/auth/authenticator.js';
import { sha256Hex } from '../../src/transports/auth/bearer.js';
import { serveHttp, type HttpHandle } from '../../src/transports/http.js';
import { makeApp, structured, testConfig } from '../helpers/app.js';
import { startIssuer, type TestIssuer } from './issuer.js';
import { AUTH_TEST_TOOLS } from './tools.js';

const RESOURCE = 'https://shield.test/mcp';
const PRM_URL = 'https://shield.test/.well-known/oauth-protected-resource/mcp';
const TOOL_SCOPES = 'shield:read shield:itsm shield:knowledge shield:remediation shield:jobs';

const initBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const postHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function serve(auth: unknown): Promise<HttpHandle> {
  const app = await makeApp({ overrides: [{ auth }], tools: AUTH_TEST_TOOLS });
  const { authenticator, visibleTools } = createHttpAuth(app.services.config, { logger: app.services.logger });
  return serveHttp(app, { host: '127.0.0.1', port: 0, ...(authenticator ? { authenticator } : {}), serverOptions: { visibleTools } });
}

async function connect(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'auth-e2e', version: '1.0.0' });
  const headers = token ? { Authorization: `Bearer ${token}` } : undefined;
  await client.connect(new StreamableHTTPClientTransport(new URL(url), headers ? { requestInit: { headers } } : undefined));
  return client;
}

/** A raw initialize POST: status, challenge and body, with the stream (if any) released. */
async function post(url: string, authorization?: string, extra: Record<string, string> = {}): Promise<{ status: number; challenge: string | null; retryAfter: string | null; body: string }> {
  const res = await fetch(url, { method: 'POST', headers: { ...postHeaders, ...extra, ...(authorization ? { authorization } : {}) }, body: initBody });
  const out = { status: res.status, challenge: res.headers.get('www-authenticate'), retryAfter: res.headers.get('retry-after'), body: '' };
  if (res.status === 200) await res.body?.cancel();
  else out.body = await res.text();
  return out;
}

const sortedNames = async (client: Client): Promise<string[]> => (await client.listTools()).tools.map((t) => t.name).sort();

describe('OAuth resource server', () => {
  let issuer: TestIssuer;
  let handle: HttpHandle;
  let base: string;
  beforeAll(async () => {
    issuer = await startIssuer();
    handle = await serve({ mode: 'oauth', oauth: { issuer: issuer.issuer, resource: RESOURCE, jwks_uri: issuer.jwksUri } });
    base = handle.url.replace(/\/mcp$/, '');
  });
  afterAll(async () => {
    await handle.close();
    await issuer.close();
  });

  it('answers a request without a token with 401 and the resource metadata URL', async () => {
    const r = await post(handle.url);
    expect(r.status).toBe(401);
    expect(r.challenge).toBe(`Bearer resource_metadata="${PRM_URL}"`);
    expect(JSON.parse(r.body).error.message).toMatch(/bearer token is required/);
    // The SDK client without a token gets nowhere either.
    await expect(connect(handle.url)).rejects.toThrow();
  });

  it('serves RFC 9728 protected resource metadata at the bare and path-suffixed well-known URLs', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(await res.json()).toEqual({
        resource: RESOURCE,
        authorization_servers: [issuer.issuer],
        scopes_supported: [...TOOL_SCOPES.split(' '), 'shield:operator'],
        bearer_methods_supported: ['header'],
        resource_name: 'shield-mcp',
      });
    }
    expect((await fetch(`${base}/.well-known/oauth-protected-resource`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/.well-known/oauth-protected-resource/other`)).status).toBe(404);
  });

  it('a shield:read token sees only read-only tools and cannot call the others', async () => {
    const client = await connect(handle.url, await issuer.sign({ scope: 'openid shield:read' }, { audience: RESOURCE }));
    expect(await sortedNames(client)).toEqual(['get_job_status', 'get_ticket', 'list_templates', 'qdrant_find', 'render_template', 'whoami']);
    expect(structured(await client.callTool({ name: 'whoami', arguments: {} }))).toEqual({ id: 'alice', scopes: ['openid', 'shield:read'], operator: false });
    const rendered = structured(await client.callTool({ name: 'render_template', arguments: { template: 'outage', platform: 'local', variables: { service: 'api', symptoms: '502', started_at: '10:00' } } }));
    expect(rendered.missing ?? []).toEqual([]);
    await expect(client.callTool({ name: 'create_ticket', arguments: { template: 'outage', variables: {} } })).rejects.toThrow(/Unknown tool: create_ticket/);
    await expect(client.callTool({ name: 'cancel_job', arguments: { job_id: 'job_x' } })).rejects.toThrow(/Unknown tool: cancel_job/);
    await expect(client.callTool({ name: 'crawl_web', arguments: {} })).rejects.toThrow(/Unknown tool: crawl_web/);
    await client.close();
  });

  it('an itsm + operator token (scp array) sees the itsm toolset and jobs, and is an operator', async () => {
    const token = await issuer.sign({ scp: ['shield:itsm', 'shield:operator'], client_id: 'ide' }, { audience: [RESOURCE, 'https://other.example'] as unknown as string, subject: 'bob' });
    const client = await connect(handle.url, token);
    expect(await sortedNames(client)).toEqual(['cancel_job', 'create_ticket', 'get_job_status', 'get_ticket', 'list_templates', 'render_template', 'whoami']);
    expect(structured(await client.callTool({ name: 'whoami', arguments: {} }))).toEqual({ id: 'bob', scopes: ['shield:itsm', 'shield:operator'], operator: true });
    await client.close();
  });

  it('refuses wrong audience, no audience, wrong issuer, expired, foreign-key and garbage tokens with 401 invalid_token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad: Record<string, string> = {
      'wrong audience': await issuer.sign({ scope: 'shield:read' }, { audience: 'https://other.example/mcp' }),
      'no audience': await issuer.sign({ scope: 'shield:read' }),
      'wrong issuer': await issuer.sign({ scope: 'shield:read' }, { audience: RESOURCE, issuer: 'https://evil.example' }),
      expired: await issuer.sign({ scope: 'shield:read' }, { audience: RESOURCE, expiresIn: now - 600 }),
      'foreign key': await issuer.sign({ scope: 'shield:read' }, { audience: RESOURCE, key: 'foreign' }),
      garbage: 'abc.def.ghi',
    };
    for (const [why, token] of Object.entries(bad)) {
      const r = await post(handle.url, `Bearer ${token}`);
      expect(r.status, why).toBe(401);
      expect(r.challenge, why).toMatch(/^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="https:\/\/shield\.test\/\.well-known\/oauth-protected-resource\/mcp"$/);
    }
    expect((await post(handle.url, `Bearer ${bad.expired}`)).challenge).toContain('the token has expired');
    // Not a Bearer credential at all.
    const basic = await post(handle.url, 'Basic YWxpY2U6cHc=');
    expect(basic.status).toBe(401);
    expect(basic.challenge).toContain('error="invalid_request"');
  });

  it('a valid token with no shield scope gets 403 insufficient_scope naming the scopes', async () => {
    const r = await post(handle.url, `Bearer ${await issuer.sign({ scope: 'openid profile shield:operator' }, { audience: RESOURCE })}`);
    expect(r.status).toBe(403);
    expect(r.challenge).toContain('error="insufficient_scope"');
    expect(r.challenge).toContain(`scope="${TOOL_SCOPES}"`);
    expect(r.challenge).toContain(`resource_metadata="${PRM_URL}"`);
  });

  it('finds the JWKS through the issuer metadata when jwks_uri is not configured', async () => {
    const h = await serve({ mode: 'oauth', oauth: { issuer: issuer.issuer, resource: RESOURCE } });
    try {
      const before = issuer.hits.get('/.well-known/oauth-authorization-server') ?? 0;
      const client = await connect(h.url, await issuer.sign({ scope: 'shield:jobs' }, { audience: RESOURCE }));
      expect(await sortedNames(client)).toEqual(['cancel_job', 'get_job_status', 'whoami']);
      await client.close();
      expect(issuer.hits.get('/.well-known/oauth-authorization-server')).toBe(before + 1);
    } finally {
      await h.close();
    }
  });

  it('answers 503 with Retry-After, not 401, when the issuer keys cannot be fetched', async () => {
    const h = await serve({ mode: 'oauth', oauth: { issuer: issuer.issuer, resource: RESOURCE, jwks_uri: 'http://127.0.0.1:1/jwks' } });
    try {
      const r = await post(h.url, `Bearer ${await issuer.sign({ scope: 'shield:read' }, { audience: RESOURCE })}`);
      expect(r.status).toBe(503);
      expect(r.retryAfter).toBe('5');
      expect(r.challenge).toBeNull();
    } finally {
      await h.close();
    }
  });
});

describe('static bearer tokens', () => {
  let handle: HttpHandle;
  beforeAll(async () => {
    handle = await serve({
      mode: 'bearer',
      tokens: [
        { id: 'crawler-bot', sha256: sha256Hex('kn-0123456789abcdef'), scopes: ['shield:knowledge'] },
        { id: 'oncall', sha256: sha256Hex('ops-fedcba9876543210'), scopes: ['shield:read'], operator: true },
      ],
      rate_limit: false,
    });
  });
  afterAll(async () => handle.close());

  it('a configured token works with its scopes; the principal reaches the handler', async () => {
    const client = await connect(handle.url, 'kn-0123456789abcdef');
    expect(await sortedNames(client)).toEqual(['cancel_job', 'crawl_web', 'get_job_status', 'qdrant_find', 'whoami']);
    expect(structured(await client.callTool({ name: 'whoami', arguments: {} }))).toEqual({ id: 'crawler-bot', scopes: ['shield:knowledge'], operator: false });
    await client.close();
    const ops = await connect(handle.url, 'ops-fedcba9876543210');
    expect(structured(await ops.callTool({ name: 'whoami', arguments: {} }))).toEqual({ id: 'oncall', scopes: ['shield:read'], operator: true });
    await ops.close();
  });

  it('a wrong or missing token gets 401 (no resource metadata: there is no authorization server)', async () => {
    const wrong = await post(handle.url, 'Bearer kn-0123456789abcdeF');
    expect(wrong.status).toBe(401);
    expect(wrong.challenge).toBe('Bearer error="invalid_token", error_description="unknown token"');
    const none = await post(handle.url);
    expect(none.status).toBe(401);
    expect(none.challenge).toBe('Bearer');
    await expect(connect(handle.url, 'not-a-configured-token')).rejects.toThrow();
    // Without an OAuth section there is no metadata document.
    expect((await fetch(handle.url.replace(/\/mcp$/, '/.well-known/oauth-protected-resource'))).status).toBe(404);
  });
});

describe('inbound rate limit', () => {
  it('gives each principal its own bucket and answers 429 with Retry-After when it is empty', async () => {
    const handle = await serve({
      mode: 'bearer',
      tokens: [
        { id: 'a', sha256: sha256Hex('token-a'), scopes: ['shield:read'] },
        { id: 'b', sha256: sha256Hex('token-b'), scopes: ['shield:read'] },
      ],
      // One request per 100 s after a burst of 3: nothing refills during the test.
      rate_limit: { requests_per_s: 0.01, burst: 3 },
    });
    try {
      // Requests on an unknown session pass authentication and the limiter, then get 404.
      const s = { 'mcp-session-id': 'nope' };
      expect([await post(handle.url, 'Bearer token-a', s), await post(handle.url, 'Bearer token-a', s), await post(handle.url, 'Bearer token-a', s)].map((r) => r.status)).toEqual([404, 404, 404]);
      const limited = await post(handle.url, 'Bearer token-a', s);
      expect(limited.status).toBe(429);
      expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(90);
      expect(Number(limited.retryAfter)).toBeLessThanOrEqual(100);
      expect(JSON.parse(limited.body).error.message).toMatch(/Too many requests/);
      expect((await post(handle.url, 'Bearer token-b', s)).status).toBe(404);
      // Failed authentication does not spend the principal's tokens, and is still a 401.
      expect((await post(handle.url, 'Bearer token-c', s)).status).toBe(401);
    } finally {
      await handle.close();
    }
  });

  it('limits by client address in mode none', async () => {
    const handle = await serve({ mode: 'none', rate_limit: { requests_per_s: 0.01, burst: 2 } });
    try {
      const s = { 'mcp-session-id': 'nope' };
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await post(handle.url, undefined, s)).status);
      expect(statuses).toEqual([404, 404, 429]);
    } finally {
      await handle.close();
    }
  });
});

describe('start-up', () => {
  it('refuses to serve HTTP unauthenticated on 0.0.0.0, naming the key that would force it', async () => {
    const config = testConfig({ server: { transport: 'http', host: '0.0.0.0', port: 0 } });
    const run = serveCommand({ config, env: {}, args: { command: 'serve', positionals: [], configFiles: [], help: false, version: false } });
    await expect(run).rejects.toThrow(ConfigError);
    await expect(run).rejects.toThrow(/auth\.allow_unauthenticated_remote: true/);
  });

  it('mode none on loopback needs no token and sees every tool', async () => {
    const handle = await serve({ mode: 'none' });
    try {
      const client = await connect(handle.url);
      expect(await sortedNames(client)).toEqual(AUTH_TEST_TOOLS.map((t) => t.name).sort());
      expect(structured(await client.callTool({ name: 'whoami', arguments: {} }))).toEqual({ id: null, scopes: [], operator: false });
      await client.close();
    } finally {
      await handle.close();
    }
  });
});
