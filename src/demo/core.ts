// The foundation's part of the demo: what the server offers, and a template rendered for real.
import type { DemoModule } from './transcript.js';

export const coreDemo: DemoModule = {
  name: 'core',
  async run(client, t) {
    t.step('List the tools this server offers');
    const { tools } = await client.listTools();
    for (const tool of tools) {
      const a = tool.annotations ?? {};
      const flags = [a.readOnlyHint ? 'read-only' : 'writes', a.destructiveHint ? 'destructive' : '', a.idempotentHint ? 'idempotent' : ''].filter(Boolean).join(', ');
      t.say(`${tool.name.padEnd(20)} ${tool.title ?? ''} (${flags})`);
    }

    t.step('List the ticket templates');
    await t.call(client, 'list_templates', {}, (body) =>
      (body.templates as Array<{ name: string; description: string; variables: Array<{ name: string; required: boolean }> }>).map(
        (tpl) => `${tpl.name}: ${tpl.description}\n    needs ${tpl.variables.filter((v) => v.required).map((v) => v.name).join(', ')}`,
      ),
    );

    t.step('Render the outage template for ServiceNow');
    await t.call(client, 'render_template', {
      template: 'outage',
      platform: 'servicenow',
      variables: { service: 'payments-api', symptoms: 'HTTP 502 on /checkout for 30% of requests', started_at: '2026-11-21T07:42Z', ticket_color: 'red' },
    });

    t.step('Render it again without the required variables: a structured error the model can act on');
    await t.call(client, 'render_template', { template: 'outage', platform: 'jira', variables: { service: 'payments-api' } });
  },
};
