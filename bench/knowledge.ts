// Knowledge bench: crawl throughput on the local site (politeness delay 0 for loopback) and
// qdrant_find latency on the embedded index at 10k and 100k chunks. Self-contained and bounded.
import { Writable } from 'node:stream';
import { BreakerRegistry } from '../src/breakers/registry.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/observability/logger.js';
import { Metrics } from '../src/observability/metrics.js';
import { startSite, testSitePages } from '../tests/fakes/site/site.js';
import { KnowledgeService } from '../src/providers/knowledge/service.js';
import { SqliteKnowledgeIndex } from '../src/providers/knowledge/sqlite-index.js';
import { chunkId, type StoredChunk } from '../src/providers/knowledge/store.js';
import { openDatabase } from '../src/store/sqlite.js';
import { ms, percentile, type BenchRow, type BenchSection } from './report.js';

const silent = (): ReturnType<typeof createLogger> => createLogger({ level: 'silent', stream: new Writable({ write: (_c, _e, cb) => cb() }) });

async function benchCrawl(): Promise<BenchRow[]> {
  const pages = testSitePages(300);
  // Throughput, not politeness or failure handling: leave out the slow and oversized pages.
  for (const p of ['/slow', '/big']) pages.delete(p);
  const site = await startSite(pages);
  const config = loadConfig({
    overrides: [{ store: { data_dir: ':memory:' }, logging: { level: 'silent' }, knowledge: { crawler: { allow_private_origins: [site.url], min_delay_ms: 0, per_host_concurrency: 4, concurrency: 4 } } }],
  });
  const db = openDatabase({ dataDir: ':memory:', file: 'x.db' });
  const breakers = new BreakerRegistry(config.breakers);
  const svc = new KnowledgeService({ config, env: {}, db, logger: silent(), metrics: new Metrics(), breakers: (n, fn, s) => breakers.run(n, fn, s) });
  try {
    const t0 = process.hrtime.bigint();
    const r = await svc.crawl(
      { startUrls: [`${site.url}/`], allowedDomains: ['127.0.0.1'], maxPages: 300, maxDepth: 10, include: [], exclude: [], collection: 'bench', source: 'bench' },
      new AbortController().signal,
      () => undefined,
    );
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    return [
      { label: 'crawl pages/s (embedded, lexical)', value: `${(r.pages.fetched / s).toFixed(0)} pages/s`, note: `${r.pages.fetched} pages in ${s.toFixed(2)} s, per-host concurrency 4, delay 0` },
      { label: 'crawl chunks/s (embedded, lexical)', value: `${(r.chunks.indexed / s).toFixed(0)} chunks/s`, note: `${r.chunks.indexed} chunks` },
    ];
  } finally {
    await svc.close();
    breakers.shutdown();
    db.close();
    await site.close();
  }
}

const WORDS = (
  'gmheap journal mirror license backup shadow audit lock table routine buffer global namespace database ' +
  'restart failover arbiter memory process ecp session interface purge latency disk volume freeze write daemon ' +
  'configuration parameter instance task schedule alert monitor error warning queue message production ' +
  'operation runbook symptom resolution diagnosis primary member network cache allocate expand'
).split(' ');

function synthetic(i: number): string {
  // Deterministic pseudo-random text (LCG) so every run indexes the same corpus.
  let x = (i * 2654435761) >>> 0;
  const words: string[] = [];
  for (let w = 0; w < 60; w++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    words.push(WORDS[x % WORDS.length]!);
  }
  return words.join(' ');
}

async function benchSearch(): Promise<BenchRow[]> {
  const db = openDatabase({ dataDir: ':memory:', file: 'x.db' });
  const index = new SqliteKnowledgeIndex(db);
  await index.ensureCollection('bench', null);
  const rows: BenchRow[] = [];
  const queries = ['gmheap exhaustion', 'journal disk full freeze', 'mirror failover arbiter', 'license session purge', 'lock table memory allocate'];
  let inserted = 0;
  for (const target of [10_000, 100_000]) {
    const t0 = process.hrtime.bigint();
    for (; inserted < target; inserted += 1000) {
      const batch: StoredChunk[] = [];
      for (let i = inserted; i < inserted + 1000; i++) {
        const url = `https://docs.example/page-${Math.floor(i / 10)}`;
        batch.push({
          id: chunkId('bench', url, String(i)),
          payload: { document: synthetic(i), metadata: { url, title: `Page ${Math.floor(i / 10)}`, heading: `Section ${i % 10}`, crawled_at: '2026-01-01T00:00:00Z', content_hash: String(i), source: i % 2 ? 'a' : 'b' } },
        });
      }
      await index.upsert('bench', batch);
    }
    const load = Number(process.hrtime.bigint() - t0) / 1e9;
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const s = process.hrtime.bigint();
      await index.search({ collection: 'bench', text: queries[i % queries.length]!, limit: 5 });
      times.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    times.sort((a, b) => a - b);
    rows.push({ label: `qdrant_find p50 @ ${target / 1000}k chunks (embedded BM25)`, value: ms(percentile(times, 50)), note: `200 queries; index grown in ${load.toFixed(1)} s` });
    rows.push({ label: `qdrant_find p95 @ ${target / 1000}k chunks (embedded BM25)`, value: ms(percentile(times, 95)) });
  }
  db.close();
  return rows;
}

export async function benchKnowledge(): Promise<BenchSection[]> {
  return [
    { title: 'Knowledge: crawl throughput (local site on loopback)', rows: await benchCrawl() },
    { title: 'Knowledge: search latency (embedded index, in-process)', rows: await benchSearch() },
  ];
}
