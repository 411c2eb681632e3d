// The foundation's part of the demo: what the server offers, and a template rendered for real.
import { CreateTaskResultSchema, GetTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';
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

    t.step('Submit a job and follow it: create_ticket as an MCP task (the 202 pattern), polled with get_job_status');
    const created = await client.request(
      {
        method: 'tools/call',
        params: {
          name: 'create_ticket',
          arguments: {
            template: 'rca_incident',
            variables: {
              service: 'payments-api',
              incident_ref: 'INC-demo',
              summary: 'checkout 502s',
              root_cause: 'connection pool exhausted after a config push',
              impact: '40% of checkouts failed for 12 minutes',
              actions: '- cap pool per pod\n- alert on pool saturation',
            },
          },
          task: { ttl: 3_600_000 },
        },
      },
      CreateTaskResultSchema,
    );
    t.say(`<- a handle at once: task ${created.task.taskId} status=${created.task.status}, poll every ${created.task.pollInterval ?? '?'} ms`);
    for (let i = 0; i < 50; i++) {
      const task = await client.request({ method: 'tasks/get', params: { taskId: created.task.taskId } }, GetTaskResultSchema);
      t.say(`   tasks/get -> ${task.status}`);
      if (task.status !== 'working') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await t.call(client, 'get_job_status', { job_id: created.task.taskId }, (body) => {
      const job = body.job as { status: string; tool: string };
      const result = body.result as { number?: string; url?: string } | undefined;
      return [`job ${job.tool}: ${job.status}`, `ticket ${result?.number ?? '?'} ${result?.url ?? ''}`];
    });
  },
};
