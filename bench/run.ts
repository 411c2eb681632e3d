// `npm run bench`: every area's figures from one run on this machine, each beside its baseline.
import { cpus } from 'node:os';
import { printSection, type BenchSection } from './report.js';
import { benchCore } from './core.js';
import { benchItsm } from './itsm.js';
import { benchKnowledge } from './knowledge.js';
import { benchHttp } from './http.js';

const SECTIONS: Array<{ name: string; run: () => Promise<BenchSection[]> }> = [
  { name: 'core', run: () => benchCore() },
  { name: 'itsm', run: () => benchItsm() },
  { name: 'knowledge', run: () => benchKnowledge() },
  { name: 'http', run: () => benchHttp() },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  process.stdout.write(`Shield MCP bench: node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), ${new Date().toISOString()}\n`);
  for (const s of SECTIONS) {
    if (only.length && !only.includes(s.name)) continue;
    const started = Date.now();
    for (const section of await s.run()) printSection(section);
    process.stdout.write(`  (${s.name}: ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
