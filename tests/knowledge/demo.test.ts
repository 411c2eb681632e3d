// The knowledge demo module runs against a real server and answers the gmheap question from the runbook site.
import { describe, expect, it } from 'vitest';
import { knowledgeDemo } from '../../demo/knowledge.js';
import { createTranscript } from '../../demo/transcript.js';
import { connectClient, makeApp } from '../helpers/app.js';

describe('knowledge demo', () => {
  it('crawls the runbook site and finds the gmheap runbook; the metadata address is refused', async () => {
    const setup = await knowledgeDemo.setup!('/tmp');
    const app = await makeApp({ overrides: [setup.config ?? {}] });
    const client = await connectClient(app);
    const lines: string[] = [];
    try {
      await knowledgeDemo.run(client, createTranscript((l) => lines.push(l)));
      const text = lines.join('\n');
      expect(text).toContain('/runbooks/gmheap-exhaustion');
      expect(text).toContain('URL_NOT_ALLOWED');
      expect(text).not.toContain('/drafts/unreviewed');
    } finally {
      await client.close();
      await app.close();
      await setup.cleanup?.();
    }
  });
});
