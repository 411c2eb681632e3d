import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_TOOLS } from '../../src/tools/inventory.js';
import { errorOf, spawnStdioClient, structured } from '../helpers/app.js';

describe('shield-mcp over stdio (spawned)', () => {
  let srv: Awaited<ReturnType<typeof spawnStdioClient>>;
  beforeAll(async () => {
    srv = await spawnStdioClient(['--data-dir', mkdtempSync(join(tmpdir(), 'shield-stdio-'))]);
  });
  afterAll(async () => srv?.close());

  it('lists every tool with all four annotations and an output schema', async () => {
    const { tools } = await srv.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS.map((t) => t.name).sort());
    for (const t of tools) {
      for (const h of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) expect(typeof t.annotations?.[h]).toBe('boolean');
      expect(t.outputSchema).toBeDefined();
    }
  });

  it('renders a template, rejects malformed input, and keeps logs on stderr as JSON', async () => {
    const out = structured(await srv.client.callTool({ name: 'render_template', arguments: { template: 'rca_incident', platform: 'jira', variables: { service: 'db', incident_ref: 'INC1', summary: 's', root_cause: 'rc', impact: 'i', actions: '- a' } } }));
    expect(out.platform).toBe('jira');
    expect(errorOf(await srv.client.callTool({ name: 'render_template', arguments: { template: '' } })).code).toBe('INVALID_INPUT');
    // Log lines reach stderr right after the answers; wait (bounded) for both calls' lines.
    const complete = (): string[] => srv.stderr().split('\n').slice(0, -1); // the last piece may be partial
    const deadline = Date.now() + 5000;
    while (complete().filter((l) => l.includes('"msg":"tool call"')).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const lines = complete();
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(lines.filter((l) => l.includes('"msg":"tool call"'))).toHaveLength(2);
  });
});

describe('stdio with metrics on a loopback port', () => {
  it('serves /metrics beside the protocol, counting the calls', async () => {
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const dir = mkdtempSync(join(tmpdir(), 'shield-stdio-metrics-'));
    const file = join(dir, 'metrics.json');
    writeFileSync(file, JSON.stringify({ server: { metrics_port: port } }));
    const srv = await spawnStdioClient(['--data-dir', dir, '--config', file]);
    try {
      await srv.client.callTool({ name: 'list_templates', arguments: {} });
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/shield_tool_calls_total\{tool="list_templates",outcome="ok"\} 1/);
    } finally {
      await srv.close();
    }
  });
});

describe('the CLI', () => {
  it('--help documents every option', () => {
    const r = spawnSync(process.execPath, ['dist/main.js', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const opt of ['--transport', '--config', '--host', '--port', '--data-dir', '--log-level']) expect(r.stdout).toContain(opt);
  });

  it('an invalid config exits non-zero naming the key and the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shield-cli-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ server: { port: 70000 } }));
    const r = spawnSync(process.execPath, ['dist/main.js', '--config', file], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/server\.port: .*65535/);
  });

  it('an unknown option is a usage error', () => {
    const r = spawnSync(process.execPath, ['dist/main.js', '--bogus'], { encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('--bogus');
  });
});
