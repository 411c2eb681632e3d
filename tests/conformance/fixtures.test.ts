// Conformance fixtures mode over real Streamable HTTP with the real SDK client: the fixtures the
// suite's scenarios call behave as the scenarios check, and conformance/server.ts serves them.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  type LoggingMessageNotification,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { createFixturesServer, ERROR_TEXT, FIXTURE_PNG_BASE64, SIMPLE_TEXT } from '../../conformance/fixtures.js';
import { serveHttp, type HttpHandle } from '../../src/transports/http.js';
import { makeApp } from '../helpers/app.js';

async function connect(url: string): Promise<{ client: Client; logs: LoggingMessageNotification['params'][] }> {
  const client = new Client({ name: 'fixtures-test', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
  const logs: LoggingMessageNotification['params'][] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return { client, logs };
}

describe('conformance fixtures mode over Streamable HTTP', () => {
  let handle: HttpHandle;
  let client: Client;
  let logs: LoggingMessageNotification['params'][];
  beforeAll(async () => {
    const app = await makeApp();
    handle = await serveHttp(app, { host: '127.0.0.1', port: 0, serverFactory: () => createFixturesServer(app) });
    ({ client, logs } = await connect(handle.url));
  });
  afterAll(async () => {
    await client?.close();
    await handle?.close();
  });

  it('lists the fixture tools (not the Shield inventory), each with a description, and keeps a raw JSON Schema 2020-12 verbatim', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['test_simple_text', 'test_image_content', 'test_audio_content', 'test_tool_with_progress', 'test_sampling', 'json_schema_2020_12_tool']));
    expect(names).not.toContain('render_template');
    for (const t of tools) expect(t.description).toBeTruthy();
    const raw = tools.find((t) => t.name === 'json_schema_2020_12_tool')!.inputSchema as Record<string, unknown>;
    expect(raw.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(raw.additionalProperties).toBe(false);
    expect(Object.keys(raw.$defs as object)).toEqual(['address']);
  });

  it('returns text, image, audio and mixed content; the error fixture is a tool error with a message', async () => {
    const simple = await client.callTool({ name: 'test_simple_text' });
    expect(simple.content).toEqual([{ type: 'text', text: SIMPLE_TEXT }]);
    const image = (await client.callTool({ name: 'test_image_content', arguments: {} })).content as Array<Record<string, string>>;
    expect(image[0]).toMatchObject({ type: 'image', mimeType: 'image/png', data: FIXTURE_PNG_BASE64 });
    const audio = (await client.callTool({ name: 'test_audio_content', arguments: {} })).content as Array<Record<string, string>>;
    expect(audio[0]).toMatchObject({ type: 'audio', mimeType: 'audio/wav' });
    const wav = Buffer.from(audio[0]!.data!, 'base64');
    expect(wav.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    const mixed = (await client.callTool({ name: 'test_multiple_content_types', arguments: {} })).content as Array<{ type: string }>;
    expect(mixed.map((c) => c.type)).toEqual(['text', 'image', 'resource']);
    const failed = await client.callTool({ name: 'test_error_handling', arguments: {} });
    expect(failed.isError).toBe(true);
    expect(failed.content).toEqual([{ type: 'text', text: ERROR_TEXT }]);
  });

  it('reports increasing progress for the request progress token', async () => {
    const seen: Progress[] = [];
    const result = await client.request(
      { method: 'tools/call', params: { name: 'test_tool_with_progress', arguments: {} } },
      CallToolResultSchema,
      { onprogress: (p) => void seen.push(p) },
    );
    expect(seen.map((p) => p.progress)).toEqual([1, 2, 3]);
    expect(seen.every((p) => p.total === 3)).toBe(true);
    expect(result.isError).toBeFalsy();
  });

  it('logs on the call stream and honours logging/setLevel', async () => {
    await client.setLoggingLevel('warning');
    await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    expect(logs).toHaveLength(0);
    await client.setLoggingLevel('debug');
    await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    expect(logs.map((l) => l.data)).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed']);
  });

  it('asks the client for sampling and elicitation within the call and returns what it answered', async () => {
    let sampled = '';
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      const c = req.params.messages[0]!.content;
      sampled = !Array.isArray(c) && c.type === 'text' ? c.text : '';
      return { role: 'assistant', content: { type: 'text', text: 'a model answer' }, model: 'test-model', stopReason: 'endTurn' };
    });
    const sampling = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'say hi' } });
    expect(sampled).toBe('say hi');
    expect(sampling.content).toEqual([{ type: 'text', text: 'LLM response: a model answer' }]);

    let asked: Record<string, unknown> = {};
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked = req.params as Record<string, unknown>;
      return { action: 'accept', content: { username: 'ada' } };
    });
    const elicited = await client.callTool({ name: 'test_elicitation_sep1034_defaults', arguments: {} });
    const props = (asked.requestedSchema as { properties: Record<string, { default?: unknown }> }).properties;
    expect(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.default]))).toEqual({ name: 'John Doe', age: 30, score: 95.5, status: 'active', verified: true });
    expect(elicited.content).toEqual([{ type: 'text', text: 'Elicitation completed: action=accept, content={"username":"ada"}' }]);
  });

  it('serves resources (text, binary, template substitution, subscribe) and prompts with arguments and completion', async () => {
    const text = await client.readResource({ uri: 'test://static-text' });
    expect(text.contents[0]).toMatchObject({ uri: 'test://static-text', mimeType: 'text/plain' });
    const binary = await client.readResource({ uri: 'test://static-binary' });
    expect(binary.contents[0]).toMatchObject({ mimeType: 'image/png', blob: FIXTURE_PNG_BASE64 });
    const templated = await client.readResource({ uri: 'test://template/4711/data' });
    const first = templated.contents[0]!;
    expect('text' in first && JSON.parse(first.text)).toMatchObject({ id: '4711' });
    await expect(client.subscribeResource({ uri: 'test://watched-resource' })).resolves.toEqual({});
    await expect(client.unsubscribeResource({ uri: 'test://watched-resource' })).resolves.toEqual({});

    const prompt = await client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'alpha', arg2: 'beta' } });
    expect(JSON.stringify(prompt.messages)).toContain("arg1='alpha', arg2='beta'");
    const done = await client.complete({ ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' }, argument: { name: 'arg1', value: 'par' } });
    expect(done.completion.values).toEqual(['paris', 'park', 'party']);
    const embedded = await client.getPrompt({ name: 'test_prompt_with_embedded_resource', arguments: { resourceUri: 'test://example-resource' } });
    expect(embedded.messages[0]!.content).toMatchObject({ type: 'resource', resource: { uri: 'test://example-resource' } });
  });

  it('keeps the transport protections of the HTTP server: a foreign Host or Origin is refused, loopback is served', async () => {
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    const post = (headers: Record<string, string>): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(handle.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
          res.destroy();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(init);
      });
    expect(await post({ host: 'evil.example.com', origin: 'http://evil.example.com' })).toBe(403);
    expect(await post({ origin: 'http://evil.example.com' })).toBe(403);
    expect(await post({ host: new URL(handle.url).host, origin: `http://${new URL(handle.url).host}` })).toBe(200);
  });
});

describe('conformance/server.ts (what npm run conformance starts)', () => {
  let child: ChildProcess;
  let url = '';
  beforeAll(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'conformance/server.ts', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`no listening line: ${err}`)), 20_000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString('utf8');
        const m = /"url":"([^"]+)"[^\n]*"msg":"listening"/.exec(err);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
    });
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
  });

  it('serves the fixture tools instead of the Shield inventory', async () => {
    const { client } = await connect(url);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('test_simple_text');
    expect(tools.map((t) => t.name)).not.toContain('render_template');
    await client.close();
  });
});
