// qdrant_find: search what crawl_web indexed (Qdrant, or the embedded index), within a response budget.
import { z } from 'zod';
import { defineTool } from '../define-tool.js';

export const qdrantFindTool = defineTool({
  name: 'qdrant_find',
  title: 'Search the knowledge index',
  description:
    'Search the pages indexed by crawl_web and return the best matching chunks with their URL, title and heading. ' +
    'Filter by source label or URL prefix; results below score_threshold are dropped. Long chunk texts are trimmed to ' +
    'keep the answer small (truncated says so); open the URL for the full page.',
  toolset: 'knowledge',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.object({
    query: z.string().min(1).max(1000).describe('What to look for, in natural language or keywords.'),
    collection: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional().describe('Collection to search (default from configuration).'),
    limit: z.number().int().positive().optional().describe('Results to return (default 5, capped by configuration).'),
    source: z.string().min(1).max(100).optional().describe('Only chunks whose metadata.source equals this.'),
    url_prefix: z.string().min(1).max(2048).optional().describe('Only chunks whose URL starts with this.'),
    score_threshold: z.number().optional().describe('Drop results scoring below this (the scale depends on scoring: bm25, rrf or cosine).'),
  }),
  output: z.object({
    results: z.array(z.object({ text: z.string(), url: z.string(), title: z.string(), heading: z.string(), score: z.number() })),
    collection: z.string(),
    backend: z.enum(['embedded', 'qdrant']),
    scoring: z.enum(['bm25', 'rrf', 'cosine']),
    truncated: z.boolean().describe('True when chunk texts were trimmed to fit the response budget.'),
  }),
  handler: async (args, ctx) => {
    const knowledge = ctx.services.knowledge;
    const cfg = knowledge.config.search;
    const collection = args.collection ?? knowledge.config.default_collection;
    const found = await knowledge.find(
      {
        query: args.query,
        collection,
        limit: Math.min(args.limit ?? 5, cfg.max_limit),
        ...(args.source !== undefined ? { source: args.source } : {}),
        ...(args.url_prefix !== undefined ? { urlPrefix: args.url_prefix } : {}),
        ...(args.score_threshold !== undefined ? { scoreThreshold: args.score_threshold } : {}),
      },
      ctx.signal,
    );
    // The budget is shared: each result gets an equal part of what is left, the best ones first.
    let remaining = cfg.response_budget_chars;
    let truncated = false;
    const results = found.hits.map((h, i) => {
      const share = Math.floor(remaining / (found.hits.length - i));
      let text = h.payload.document;
      if (text.length > share) {
        text = `${text.slice(0, Math.max(0, share - 1)).trimEnd()}…`;
        truncated = true;
      }
      remaining -= text.length;
      const m = h.payload.metadata;
      return { text, url: m.url, title: m.title, heading: m.heading, score: Math.round(h.score * 1e6) / 1e6 };
    });
    return { results, collection, backend: found.backend, scoring: found.scoring, truncated };
  },
});
