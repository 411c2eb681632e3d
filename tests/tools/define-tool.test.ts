import { afterEach, describe, expect, it } from 'vitest';
import { ALL_TOOLS, selectTools } from '../../src/tools/inventory.js';
import { describeTools } from '../../src/server.js';
import type { App } from '../../src/app.js';
import { connectClient, errorOf, makeApp, structured, testConfig } from '../helpers/app.js';
import { brokenTool } from '../helpers/test-tools.js';

const apps: App[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

async function metric(app: App, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = (await app.services.metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values as Array<{ labels: Record<string, string>; value: number }> | undefined)?.find((v) =>
    Object.entries(labels).every(([k, val]) => v.labels[k] === val),
  )?.value;
}

describe('the inventory', () => {
  it('every tool declares all four annotations, a title, a toolset and an output schema', () => {
    for (const t of describeTools(ALL_TOOLS)) {
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
        expect(typeof t.annotations?.[hint], `${t.name}.${hint}`).toBe('boolean');
      }
      expect(t.title, t.name).toBeTruthy();
      expect(t.outputSchema?.type, t.name).toBe('object');
      expect(t.name).toMatch(/^[a-z]+(_[a-z]+)+$/);
    }
    const names = ALL_TOOLS.flatMap((t) => [t.name, ...(t.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('filters by toolset and read-only mode, computed from the declarations', () => {
    const jobsOnly = selectTools(testConfig({ tools: { enabled_toolsets: ['jobs'] } }));
    expect(jobsOnly.every((t) => t.toolset === 'jobs')).toBe(true);
    expect(jobsOnly.map((t) => t.name)).toContain('get_job_status');
    const ro = selectTools(testConfig({ tools: { read_only: true } }));
    expect(ro.length).toBeGreaterThan(0);
    expect(ro.every((t) => t.annotations.readOnlyHint)).toBe(true);
    expect(ro.map((t) => t.name)).not.toContain('cancel_job');
  });

  it('the public schema of every tool matches its committed snapshot', async () => {
    for (const t of describeTools(ALL_TOOLS)) {
      await expect(`${JSON.stringify(t, null, 2)}\n`).toMatchFileSnapshot(`../__toolsnaps__/${t.name}.json`);
    }
  });
});

describe('the wrapper', () => {
  it('logs each call as JSON with a trace id, and counts it in metrics', async () => {
    const app = await makeApp({ captureLogs: true });
    apps.push(app);
    const client = await connectClient(app);
    await client.callTool({ name: 'render_template', arguments: { template: 'outage', platform: 'local', variables: { service: 's', symptoms: 'x', started_at: 'now' } } });
    await client.callTool({ name: 'render_template', arguments: { template: 'outage', platform: 'local' } });
    const calls = app.logs.lines.filter((l) => l.msg === 'tool call' && l.tool === 'render_template');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ outcome: 'ok', level: 'info' });
    expect(calls[1]).toMatchObject({ outcome: 'VALIDATION_FAILED' });
    expect(calls[0]?.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(calls[0]?.trace_id).not.toBe(calls[1]?.trace_id);
    expect(await metric(app, 'shield_tool_calls_total', { tool: 'render_template', outcome: 'ok' })).toBe(1);
    expect(await metric(app, 'shield_tool_calls_total', { tool: 'render_template', outcome: 'VALIDATION_FAILED' })).toBe(1);
    expect(await metric(app, 'shield_itsm_template_rendering_errors_total', { template: 'outage' })).toBe(1);
    const hist = (await app.services.metrics.registry.getSingleMetricAsString('shield_tool_duration_seconds'));
    expect(hist).toContain('shield_tool_duration_seconds_count{tool="render_template"} 2');
  });

  it('malformed arguments are INVALID_INPUT naming the fields', async () => {
    const app = await makeApp();
    apps.push(app);
    const client = await connectClient(app);
    const e = errorOf(await client.callTool({ name: 'render_template', arguments: { template: 7, platform: 'fax' } }));
    expect(e.code).toBe('INVALID_INPUT');
    expect(JSON.stringify(e.details)).toContain('"path":"platform"');
    expect(e.hint).toBeTruthy();
  });

  it('a handler whose output breaks its schema is an INTERNAL error, logged, not leaked', async () => {
    const app = await makeApp({ tools: [brokenTool], captureLogs: true });
    apps.push(app);
    const client = await connectClient(app);
    const e = errorOf(await client.callTool({ name: 'test_broken', arguments: {} }));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toMatch(/trace_id/);
    expect(app.logs.lines.some((l) => l.msg === 'tool output does not match its schema')).toBe(true);
  });

  it('render_template returns structuredContent matching the output schema', async () => {
    const app = await makeApp();
    apps.push(app);
    const client = await connectClient(app);
    await client.listTools(); // lets the client validate structured output against the schema
    const out = structured(await client.callTool({ name: 'render_template', arguments: { template: 'change_request', platform: 'servicenow', variables: { title: 'T', justification: 'J', plan: 'P', rollback: 'R', zzz: 1 } } }));
    expect(out).toMatchObject({ template: 'change_request', platform: 'servicenow', missing: [], unused: ['zzz'] });
    expect((out.fields as Record<string, string>).short_description).toBe('Change: T');
  });

  it('list_templates describes the shipped templates and their variables', async () => {
    const app = await makeApp();
    apps.push(app);
    const client = await connectClient(app);
    const out = structured<{ templates: Array<{ name: string; variables: Array<{ name: string; required: boolean }> }> }>(
      await client.callTool({ name: 'list_templates', arguments: {} }),
    );
    expect(out.templates.map((t) => t.name)).toEqual(['change_request', 'iris_config_change', 'outage', 'rca_incident']);
    const outage = out.templates.find((t) => t.name === 'outage')!;
    expect(outage.variables.find((v) => v.name === 'environment')?.required).toBe(false);
    expect(outage.variables.find((v) => v.name === 'service')?.required).toBe(true);
  });
});
