// Demo: crawl a bundled runbook site on loopback, then answer an operator's question from it.
import type { DemoModule } from './transcript.js';
import { startRunbookSite } from '../tests/fakes/site/runbooks.js';

let siteUrl = '';

export const knowledgeDemo: DemoModule = {
  name: 'knowledge',
  async setup() {
    const site = await startRunbookSite();
    siteUrl = site.url;
    return {
      // Loopback is refused by default: this layer allows exactly the demo site's origin.
      config: {
        jobs: { tools: { crawl_web: { inline_budget_ms: 15_000 } } },
        knowledge: { crawler: { allow_private_origins: [site.url], min_delay_ms: 0 } },
      },
      cleanup: () => site.close(),
    };
  },
  async run(client, t) {
    t.step('Knowledge: crawl the runbook site (robots.txt obeyed, loopback allowed only for this origin)');
    const crawl = await t.call(client, 'crawl_web', { urls: [`${siteUrl}/`], max_pages: 20, collection: 'runbooks', source: 'iris-runbooks' });
    if (crawl.isError) throw new Error('crawl_web failed in the demo');
    t.step('Knowledge: an agent asks how to fix gmheap exhaustion');
    const found = await t.call(client, 'qdrant_find', { query: 'gmheap exhaustion how to fix', collection: 'runbooks', limit: 2 });
    const top = (found.structuredContent?.results as Array<{ url: string; heading: string }> | undefined)?.[0];
    if (!top || !top.url.includes('gmheap')) throw new Error('the demo question was not answered from the gmheap runbook');
    t.say(`Answer found in ${top.url} (${top.heading || 'top of page'}).`);
    t.step('Knowledge: the SSRF guard refuses the cloud metadata address');
    await t.call(client, 'crawl_web', { urls: ['http://169.254.169.254/latest/meta-data/'] });
  },
};
