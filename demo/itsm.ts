// Demo: a ticket from a template on the built-in local desk, then the same call again returning
// the same ticket (created: false), then its state read back.
import type { DemoModule } from './transcript.js';

interface TicketResult {
  number?: string;
  created?: boolean;
}

const resultOf = (r: { structuredContent?: Record<string, unknown> }): TicketResult => (r.structuredContent?.result ?? {}) as TicketResult;

export const itsmDemo: DemoModule = {
  name: 'itsm',
  async run(client, t) {
    t.step('create_ticket from the "outage" template on the local desk (no setup needed)');
    const args = {
      template: 'outage',
      variables: { service: 'payments-api', symptoms: 'HTTP 502 on checkout for 40% of requests', started_at: '2026-11-21T09:58Z' },
      idempotency_key: 'demo-alert-payments-502',
    };
    const first = resultOf(await t.call(client, 'create_ticket', args));
    t.say(`-> ${first.number ?? '?'} created=${String(first.created)}; the SLA due time comes from the P1 policy.`);

    t.step('The agent retries the same call (same idempotency_key): no second ticket');
    const again = resultOf(await t.call(client, 'create_ticket', args));
    t.say(`-> ${again.number ?? '?'} created=${String(again.created)} (${again.number === first.number ? 'the same ticket' : 'A DIFFERENT TICKET'})`);

    t.step('get_ticket reads its current state');
    if (first.number) await t.call(client, 'get_ticket', { id: first.number });

    t.step('Validation happens before anything is sent, and lists every problem');
    await t.call(client, 'create_ticket', { summary: '', priority: 'urgent', labels: ['two words'] });
  },
};
