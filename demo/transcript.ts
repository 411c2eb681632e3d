// The demo's transcript: readable lines for a person watching real calls go by.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

export interface Transcript {
  step(title: string): void;
  say(line: string): void;
  /**
   * Print a tool call and its result, and return the raw result. The result is shown as trimmed
   * JSON, or as the lines `summarize` makes of its structured part.
   */
  call(client: Client, name: string, args: Record<string, unknown>, summarize?: (body: Record<string, unknown>) => string[]): Promise<CallResult>;
}

export interface CallResult {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: Array<{ type: string; text?: string }>;
}

const indent = (s: string, n = 4): string => s.split('\n').map((l) => ' '.repeat(n) + l).join('\n');

export function createTranscript(out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Transcript {
  let n = 0;
  return {
    step(title) {
      n++;
      out(`\n== ${n}. ${title}`);
    },
    say(line) {
      out(`  ${line}`);
    },
    async call(client, name, args, summarize) {
      out(`  -> ${name} ${JSON.stringify(args)}`);
      const res = (await client.callTool({ name, arguments: args })) as CallResult;
      const body = (res.structuredContent ?? JSON.parse(res.content[0]?.text ?? '{}')) as Record<string, unknown>;
      if (summarize && !res.isError) {
        out(`  <- ${name}\n${indent(summarize(body).join('\n'))}`);
        return res;
      }
      let text = JSON.stringify(body, null, 2);
      if (text.length > 1500) text = `${text.slice(0, 1500)}\n... (${text.length - 1500} more characters)`;
      out(`  <- ${res.isError ? 'ERROR ' : ''}${name}\n${indent(text)}`);
      return res;
    },
  };
}

/** One part of the demo scenario (each area contributes one; src/demo/run.ts runs them in order). */
export interface DemoModule {
  name: string;
  /**
   * Before the server starts: start local fixtures (a site on loopback, an emulator state dir) in
   * workDir and return config layers and environment for the server process.
   */
  setup?(workDir: string): Promise<{ config?: Record<string, unknown>; env?: Record<string, string>; cleanup?: () => Promise<void> }>;
  /** Drive the running server through the real client, narrating with the transcript. */
  run(client: Client, t: Transcript): Promise<void>;
}
