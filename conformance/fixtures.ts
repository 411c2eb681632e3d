// Conformance fixtures mode: an SDK McpServer with the tools, resources and prompts that the server
// scenarios of @modelcontextprotocol/conformance 0.1.13 call (test_simple_text, test://static-text,
// test_simple_prompt, ...). Served over the same Streamable HTTP transport as Shield
// (src/transports/http.ts), so the suite checks our HTTP layer: sessions, SSE, Host/Origin checks.
// Never writes to stdout.
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ListToolsRequestSchema,
  LoggingLevelSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type LoggingLevel,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';
import type { App } from '../src/app.js';
import { SERVER_VERSION } from '../src/server.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A 1x1 red PNG. */
export const FIXTURE_PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
/** A valid, silent 16-bit mono WAV of one sample (44-byte header + 2 bytes). */
export const FIXTURE_WAV_BASE64 = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQIAAAAAAA==';

export const SIMPLE_TEXT = 'This is a simple text response for testing.';
export const ERROR_TEXT = 'This tool intentionally returns an error for testing';

/** SEP-1613: a raw JSON Schema 2020-12 input schema; tools/list must carry $schema, $defs and additionalProperties as written. */
export const JSON_SCHEMA_2020_12_INPUT = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: {
    address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } },
  },
  properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
  additionalProperties: false,
} as const;

const LEVELS = LoggingLevelSchema.options;

interface Fixture {
  name: string;
  description: string;
  /** Zod shape used to validate arguments (the SDK's registerTool). */
  shape: z.ZodRawShape;
  /** JSON Schema shown in tools/list when it must be preserved verbatim. */
  rawInputSchema?: Tool['inputSchema'];
  run(args: Record<string, unknown>, extra: Extra, ctx: FixtureContext): Promise<CallToolResult>;
}

interface FixtureContext {
  /** Send notifications/message on the request's stream, honouring logging/setLevel. */
  log(extra: Extra, level: LoggingLevel, data: string): Promise<void>;
}

const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const FIXTURES: Fixture[] = [
  {
    name: 'test_simple_text',
    description: 'Returns one text block.',
    shape: {},
    run: async () => text(SIMPLE_TEXT),
  },
  {
    name: 'test_image_content',
    description: 'Returns one image block (1x1 PNG).',
    shape: {},
    run: async () => ({ content: [{ type: 'image', data: FIXTURE_PNG_BASE64, mimeType: 'image/png' }] }),
  },
  {
    name: 'test_audio_content',
    description: 'Returns one audio block (a tiny WAV).',
    shape: {},
    run: async () => ({ content: [{ type: 'audio', data: FIXTURE_WAV_BASE64, mimeType: 'audio/wav' }] }),
  },
  {
    name: 'test_embedded_resource',
    description: 'Returns one embedded text resource.',
    shape: {},
    run: async () => ({
      content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }],
    }),
  },
  {
    name: 'test_multiple_content_types',
    description: 'Returns text, image and embedded resource blocks together.',
    shape: {},
    run: async () => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: FIXTURE_PNG_BASE64, mimeType: 'image/png' },
        { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: JSON.stringify({ test: 'data', value: 123 }) } },
      ],
    }),
  },
  {
    name: 'test_tool_with_logging',
    description: 'Sends three notifications/message log entries while it runs.',
    shape: {},
    run: async (_args, extra, ctx) => {
      await ctx.log(extra, 'info', 'Tool execution started');
      await sleep(20, extra.signal);
      await ctx.log(extra, 'info', 'Tool processing data');
      await sleep(20, extra.signal);
      await ctx.log(extra, 'info', 'Tool execution completed');
      return text('Tool with logging executed successfully');
    },
  },
  {
    name: 'test_tool_with_progress',
    description: 'Sends three increasing notifications/progress when the request has a progress token.',
    shape: {},
    run: async (_args, extra) => {
      const token = extra._meta?.progressToken;
      if (token !== undefined) {
        for (const progress of [1, 2, 3]) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress, total: 3, message: `Completed step ${progress} of 3` },
          });
          if (progress < 3) await sleep(20, extra.signal);
        }
      }
      return text(`Progress reported for token ${String(token ?? '(none)')}`);
    },
  },
  {
    name: 'test_error_handling',
    description: 'Always fails: the result has isError true and an error message.',
    shape: {},
    run: async () => ({ content: [{ type: 'text', text: ERROR_TEXT }], isError: true }),
  },
  {
    name: 'test_reconnection',
    description: 'SEP-1699: closes the SSE stream of this call mid-call when the transport supports it (needs an event store), then answers.',
    shape: {},
    run: async (_args, extra) => {
      const closed = extra.closeSSEStream !== undefined;
      extra.closeSSEStream?.();
      await sleep(100, extra.signal);
      return text(closed ? 'Reconnection test completed after the stream was closed.' : 'Reconnection test completed (stream not closed: no event store on this transport).');
    },
  },
  {
    name: 'test_sampling',
    description: 'Asks the client for an LLM completion (sampling/createMessage) and returns its text.',
    shape: { prompt: z.string().describe('The prompt to send to the LLM') },
    run: async (args, extra) => {
      const result = await extra.sendRequest(
        {
          method: 'sampling/createMessage',
          params: { messages: [{ role: 'user', content: { type: 'text', text: String(args.prompt) } }], maxTokens: 100 },
        },
        CreateMessageResultSchema,
      );
      const content = Array.isArray(result.content) ? result.content[0] : result.content;
      return text(`LLM response: ${content && content.type === 'text' ? content.text : `(${content?.type ?? 'empty'} content)`}`);
    },
  },
  {
    name: 'test_elicitation',
    description: 'Asks the user for input through elicitation/create (form mode) and returns the answer.',
    shape: { message: z.string().describe('The message to show the user') },
    run: async (args, extra) => {
      const result = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            mode: 'form',
            message: String(args.message),
            requestedSchema: {
              type: 'object',
              properties: { username: { type: 'string', description: 'User name' }, email: { type: 'string', description: 'Email address' } },
              required: ['username'],
            },
          },
        },
        ElicitResultSchema,
      );
      return text(`User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
    },
  },
  {
    name: 'test_elicitation_sep1034_defaults',
    description: 'SEP-1034: elicitation whose primitive fields all carry default values.',
    shape: {},
    run: async (_args, extra) => {
      const result = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            mode: 'form',
            message: 'Please review and update the form fields with defaults',
            requestedSchema: {
              type: 'object',
              properties: {
                name: { type: 'string', description: 'User name', default: 'John Doe' },
                age: { type: 'integer', description: 'User age', default: 30 },
                score: { type: 'number', description: 'User score', default: 95.5 },
                status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
                verified: { type: 'boolean', description: 'Verification status', default: true },
              },
              required: [],
            },
          },
        },
        ElicitResultSchema,
      );
      return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
    },
  },
  {
    name: 'test_elicitation_sep1330_enums',
    description: 'SEP-1330: elicitation with untitled, titled, legacy, and multi-select enum fields.',
    shape: {},
    run: async (_args, extra) => {
      const result = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            mode: 'form',
            message: 'Please pick from the enum fields',
            requestedSchema: {
              type: 'object',
              properties: {
                untitledSingle: { type: 'string', description: 'Untitled single select', enum: ['option1', 'option2', 'option3'] },
                titledSingle: {
                  type: 'string',
                  description: 'Titled single select',
                  oneOf: [
                    { const: 'value1', title: 'First option' },
                    { const: 'value2', title: 'Second option' },
                  ],
                },
                legacyEnum: { type: 'string', description: 'Legacy titled enum', enum: ['opt1', 'opt2'], enumNames: ['Option one', 'Option two'] },
                untitledMulti: { type: 'array', description: 'Untitled multi select', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
                titledMulti: {
                  type: 'array',
                  description: 'Titled multi select',
                  items: {
                    anyOf: [
                      { const: 'value1', title: 'First value' },
                      { const: 'value2', title: 'Second value' },
                    ],
                  },
                },
              },
              required: [],
            },
          },
        },
        ElicitResultSchema,
      );
      return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
    },
  },
  {
    name: 'json_schema_2020_12_tool',
    description: 'SEP-1613: a tool whose input schema is JSON Schema 2020-12 with $schema, $defs and additionalProperties.',
    shape: {
      name: z.string().optional(),
      address: z.object({ street: z.string().optional(), city: z.string().optional() }).optional(),
    },
    rawInputSchema: JSON_SCHEMA_2020_12_INPUT as unknown as Tool['inputSchema'],
    run: async (args) => text(`Received: ${JSON.stringify(args)}`),
  },
];

/** The MCP server of fixtures mode: one per HTTP session (or stateless request). */
export function createFixturesServer(app: App): McpServer {
  const mcp = new McpServer(
    { name: `${app.services.config.server.name}-conformance-fixtures`, version: SERVER_VERSION },
    {
      capabilities: {
        tools: { listChanged: false },
        resources: { subscribe: true, listChanged: false },
        prompts: { listChanged: false },
        logging: {},
        completions: {},
      },
    },
  );

  // logging/setLevel: remember the client's level and filter what the tools log.
  let minLevel: LoggingLevel = 'debug';
  mcp.server.setRequestHandler(SetLevelRequestSchema, async (req) => {
    minLevel = req.params.level;
    return {};
  });
  const ctx: FixtureContext = {
    async log(extra, level, data) {
      if (LEVELS.indexOf(level) < LEVELS.indexOf(minLevel)) return;
      await extra.sendNotification({ method: 'notifications/message', params: { level, logger: 'conformance-fixtures', data } });
    },
  };

  // ----- tools -----
  for (const f of FIXTURES) {
    mcp.registerTool(f.name, { description: f.description, inputSchema: f.shape }, (args: Record<string, unknown>, extra: Extra) =>
      f.run(args, extra, ctx).catch((err: unknown): CallToolResult => ({ content: [{ type: 'text', text: `${f.name} failed: ${errorText(err)}` }], isError: true })),
    );
  }
  // tools/list from the fixture table, so raw JSON Schemas (SEP-1613) are listed verbatim; the
  // SDK's generated list would rewrite them as draft-07 from the zod shape.
  mcp.server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: FIXTURES.map((f) => ({
      name: f.name,
      description: f.description,
      inputSchema: f.rawInputSchema ?? (z.toJSONSchema(z.object(f.shape), { io: 'input' }) as Tool['inputSchema']),
    })),
  }));

  // ----- resources -----
  mcp.registerResource('static-text', 'test://static-text', { title: 'Static text', description: 'A static text resource', mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }],
  }));
  mcp.registerResource('static-binary', 'test://static-binary', { title: 'Static binary', description: 'A static binary resource (PNG)', mimeType: 'image/png' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'image/png', blob: FIXTURE_PNG_BASE64 }],
  }));
  mcp.registerResource('watched-resource', 'test://watched-resource', { title: 'Watched resource', description: 'A resource clients may subscribe to', mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content' }],
  }));
  mcp.registerResource(
    'template',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { title: 'Template resource', description: 'A resource template with an {id} parameter', mimeType: 'application/json' },
    async (uri, vars) => ({
      contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id: vars.id, templateTest: true, data: `Data for ID: ${String(vars.id)}` }) }],
    }),
  );
  const subscriptions = new Set<string>();
  mcp.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    subscriptions.add(req.params.uri);
    return {};
  });
  mcp.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    subscriptions.delete(req.params.uri);
    return {};
  });

  // ----- prompts -----
  mcp.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }));
  mcp.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two required arguments (arg1 completes)',
      argsSchema: {
        arg1: completable(z.string().describe('First test argument'), (value) => ['paris', 'park', 'party', 'test', 'testValue1'].filter((v) => v.startsWith(value))),
        arg2: z.string().describe('Second test argument'),
      },
    },
    ({ arg1, arg2 }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }],
    }),
  );
  mcp.registerPrompt(
    'test_prompt_with_embedded_resource',
    { description: 'A prompt that embeds the resource named by resourceUri', argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') } },
    ({ resourceUri }) => ({
      messages: [
        { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    }),
  );
  mcp.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: FIXTURE_PNG_BASE64, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));

  return mcp;
}
