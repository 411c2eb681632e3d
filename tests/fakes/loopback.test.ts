// The shared loopback server: every fault class does what it says, only to the requests it targets,
// and close() leaves nothing open.
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INVALID_JSON, LoopbackServer, startLoopback } from './loopback.js';

type Target = 'create' | 'lookup';

/** A tiny double: POST /items commits an item ("create"), GET /items lists them ("lookup"). */
function itemsDouble(): { server: LoopbackServer<Target>; items: unknown[] } {
  const items: unknown[] = [];
  const server = new LoopbackServer<Target>({
    defaultTarget: 'create',
    bodyLimitBytes: 1024,
    targetOf: (req, url) => (url.pathname !== '/items' ? undefined : req.method === 'POST' ? 'create' : 'lookup'),
    errorReply: (status, message) => ({ status, body: { error: message ?? `HTTP ${status}` } }),
    handle: (req, url) => {
      if (url.pathname === '/boom') throw new Error('handler failed');
      if (url.pathname === '/echo') return { status: 200, body: { body: req.body === INVALID_JSON ? 'invalid' : req.body } };
      if (url.pathname !== '/items') return { status: 404, body: { error: 'no such path' } };
      if (req.method === 'POST') {
        items.push(req.body);
        return { status: 201, headers: { location: `/items/${items.length}` }, body: { id: items.length } };
      }
      return { status: 200, body: { items } };
    },
  });
  return { server, items };
}

const { server, items } = itemsDouble();
const post = (body: unknown, init: RequestInit = {}): Promise<Response> =>
  fetch(`${server.baseUrl}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });

/** One raw HTTP/1.1 exchange: how the connection ended ('end' = closed, or the socket error code) and what arrived. */
function rawPost(path: string, body: string): Promise<{ ended: string; data: string }> {
  return new Promise((resolve) => {
    const s = connect(server.port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ ended: e.code ?? e.message, data }));
    s.on('end', () => resolve({ ended: 'end', data }));
    s.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
}

beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.clearFaults();
  items.length = 0;
  server.requests.length = 0;
});

describe('the loopback server', () => {
  it('listens on 127.0.0.1, parses JSON and forms, logs every request with its answer', async () => {
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).toBe(server.baseUrl);
    const res = await post({ a: 1 });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ id: 1 });
    const form = await fetch(`${server.baseUrl}/echo`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=two' });
    expect(await form.json()).toEqual({ body: { a: '1', b: 'two' } });
    const bad = await fetch(`${server.baseUrl}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    expect(await bad.json()).toEqual({ body: 'invalid' });
    expect(server.requests.map((r) => [r.method, r.path, r.target, r.status])).toEqual([
      ['POST', '/items', 'create', 201],
      ['POST', '/echo', undefined, 200],
      ['POST', '/echo', undefined, 200],
    ]);
    expect(server.requests[0]!.body).toEqual({ a: 1 });
  });

  it('refuses a body over the cap with 413 in the double\'s error shape, without handling it', async () => {
    const res = await post({ big: 'x'.repeat(2048) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'request body too large' });
    expect(items).toEqual([]);
  });

  it('answers 500 in the double\'s error shape when the handler throws', async () => {
    const res = await fetch(`${server.baseUrl}/boom`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'handler failed' });
  });
});

describe('fault injection', () => {
  it('429 with Retry-After, then 429 without it: not handled, the double\'s error body', async () => {
    server.inject({ kind: 'status', status: 429, headers: { 'retry-after': '7' } });
    server.inject({ kind: 'status', status: 429 });
    const first = await post({ n: 1 });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(await first.json()).toEqual({ error: 'HTTP 429' });
    const second = await post({ n: 2 });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBeNull();
    await second.body?.cancel();
    expect(items).toEqual([]);
    expect((await post({ n: 3 })).status).toBe(201);
    expect(server.requests.map((r) => r.fault)).toEqual(['status', 'status', undefined]);
  });

  it('a 503 burst hits `times` requests after letting `after` through; a custom body replaces the default', async () => {
    server.inject({ kind: 'status', status: 503, body: { error: 'maintenance' } }, { times: 3, after: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post({ i });
      statuses.push(res.status);
      if (res.status === 503) expect(await res.json()).toEqual({ error: 'maintenance' });
      else await res.body?.cancel();
    }
    expect(statuses).toEqual([201, 503, 503, 503, 201]);
    expect(items).toHaveLength(2);
  });

  it('faults go to their target only: create faults spare look-ups, untargeted paths never get one, "any" hits both', async () => {
    server.inject({ kind: 'status', status: 503 }, { times: 10 }); // default target: create
    expect((await fetch(`${server.baseUrl}/items`)).status).toBe(200);
    expect((await fetch(`${server.baseUrl}/echo`, { method: 'POST', body: 'x' })).status).toBe(200);
    expect((await post({})).status).toBe(503);
    server.clearFaults();
    server.inject({ kind: 'status', status: 502 }, { target: 'any', times: 2 });
    expect((await fetch(`${server.baseUrl}/items`)).status).toBe(502);
    expect((await post({})).status).toBe(502);
    expect((await fetch(`${server.baseUrl}/echo`, { method: 'POST', body: 'x' })).status).toBe(200);
    server.clearFaults();
    server.inject({ kind: 'status', status: 500 }, { target: 'lookup' });
    expect((await post({})).status).toBe(201);
    expect((await fetch(`${server.baseUrl}/items`)).status).toBe(500);
  });

  it('hang: no answer ever; the client gives up; the request was not handled', async () => {
    server.inject({ kind: 'hang' });
    const err = await post({ n: 1 }, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect(items).toEqual([]);
    expect(server.requests[0]!.fault).toBe('hang');
    expect(server.requests[0]!.status).toBeUndefined();
  });

  it('slow: committed at once, answered only after `ms` (beyond a shorter client timeout)', async () => {
    server.inject({ kind: 'slow', ms: 400 });
    const err = await post({ n: 1 }, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect(items).toEqual([{ n: 1 }]); // the write happened although the caller saw a timeout
    server.inject({ kind: 'slow', ms: 150 });
    const t0 = Date.now();
    const res = await post({ n: 2 });
    expect(res.status).toBe(201);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('lost: committed, then the connection closes without an answer (or is reset)', async () => {
    server.inject({ kind: 'lost' });
    const closed = await rawPost('/items', '{"n":1}');
    expect(closed).toEqual({ ended: 'end', data: '' });
    server.inject({ kind: 'lost', reset: true });
    const reset = await rawPost('/items', '{"n":2}');
    expect(reset).toEqual({ ended: 'ECONNRESET', data: '' });
    expect(items).toEqual([{ n: 1 }, { n: 2 }]);
    const viaFetch = await post({ n: 3 }).then(
      () => 'answered',
      () => 'failed',
    );
    expect(viaFetch).toBe('answered'); // one fault per injection
  });

  it('garbled: committed, answered with the real status and a body that says nothing (or the bytes given)', async () => {
    server.inject({ kind: 'garbled' });
    const empty = await post({ n: 1 });
    expect(empty.status).toBe(201);
    expect(empty.headers.get('location')).toBeNull();
    expect(await empty.json()).toEqual({});
    server.inject({ kind: 'garbled', text: '{"id": ' });
    const cut = await post({ n: 2 });
    expect(cut.status).toBe(201);
    expect(await cut.text()).toBe('{"id": ');
    expect(items).toHaveLength(2);
  });

  it('close() ends hung and slow requests at once and leaves no socket open', async () => {
    const { server: other } = itemsDouble();
    await other.start();
    other.inject({ kind: 'hang' }).inject({ kind: 'slow', ms: 60_000 }, { target: 'lookup' });
    const hung = fetch(`${other.baseUrl}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch((e: unknown) => e);
    const slow = fetch(`${other.baseUrl}/items`).catch((e: unknown) => e);
    for (let i = 0; i < 50 && other.requests.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    await other.close();
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(await hung).toBeInstanceOf(Error);
    expect(await slow).toBeInstanceOf(Error);
  });
});

describe('startLoopback', () => {
  it('serves a double made of options alone, with the default error shape', async () => {
    const s = await startLoopback({ handle: () => ({ status: 200, headers: { 'content-type': 'text/plain' }, text: 'ok' }), targetOf: () => 'any-page' });
    try {
      expect(await (await fetch(s.url)).text()).toBe('ok');
      s.inject({ kind: 'status', status: 503 });
      const res = await fetch(s.url);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: 'HTTP 503' });
    } finally {
      await s.close();
    }
  });
});
