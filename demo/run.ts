// `npm run demo`: start the real server on stdio as a child process, drive it with the SDK
// Client, and print a transcript of real calls. Each area contributes a DemoModule.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { deepMerge } from '../src/config/load.js';
import { createTranscript, type DemoModule } from './transcript.js';
import { coreDemo } from './core.js';
import { itsmDemo } from './itsm.js';
import { knowledgeDemo } from './knowledge.js';
import { remediationDemo } from './remediation.js';

const MODULES: DemoModule[] = [coreDemo, itsmDemo, knowledgeDemo, remediationDemo];

async function main(): Promise<void> {
  const out = (l: string): void => void process.stdout.write(`${l}\n`);
  const workDir = mkdtempSync(join(tmpdir(), 'shield-demo-'));
  const cleanups: Array<() => Promise<void>> = [];
  let config: unknown = { store: { data_dir: join(workDir, 'data') }, logging: { level: 'error' } };
  let env: Record<string, string> = {};
  out('Shield MCP demo: the real server, started over stdio, driven by the MCP SDK client.');
  out(`(working directory ${workDir}; server logs at error level on stderr)`);
  try {
    for (const m of MODULES) {
      const s = await m.setup?.(workDir);
      if (s?.config) config = deepMerge(config, s.config);
      if (s?.env) env = { ...env, ...s.env };
      if (s?.cleanup) cleanups.push(s.cleanup);
    }
    const configFile = join(workDir, 'demo-config.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const main = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [main, '--config', configFile],
      env: { ...(process.env as Record<string, string>), ...env },
      stderr: 'inherit',
    });
    const client = new Client({ name: 'shield-demo', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
    // The demo plays the human operator: it prints what it is asked and approves.
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      out(`  [operator is asked] ${req.params.message.split('\n').join('\n  [operator is asked] ')}`);
      const content: Record<string, string | boolean> = {};
      const props = 'requestedSchema' in req.params ? req.params.requestedSchema.properties : {};
      for (const [name, prop] of Object.entries(props) as Array<[string, { type: string; enum?: string[] }]>) {
        if (prop.enum) content[name] = prop.enum.find((v) => /approve|yes|confirm/i.test(v)) ?? prop.enum[0]!;
        else if (prop.type === 'boolean') content[name] = true;
        else if (prop.type === 'string') content[name] = 'approved by the demo operator after reading the diff';
      }
      out(`  [operator answers] ${JSON.stringify(content)}`);
      return { action: 'accept', content };
    });
    const started = Date.now();
    await client.connect(transport);
    out(`Connected to ${client.getServerVersion()?.name} ${client.getServerVersion()?.version} in ${Date.now() - started} ms.`);
    const t = createTranscript(out);
    for (const m of MODULES) await m.run(client, t);
    await client.close();
    out('\nDemo finished.');
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
