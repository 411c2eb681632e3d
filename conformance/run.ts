// `npm run conformance`: start Shield's HTTP transport serving the suite's fixtures
// (conformance/server.ts) on a free loopback port, run the official MCP conformance suite (the pinned devDependency, from
// node_modules: nothing is downloaded) against it, and compare the scenarios with the
// expected-failures baseline. Exit 0 only when every failing scenario is baselined and every
// baselined scenario still fails. The server and the suite are always stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, parseBaseline, readResults } from './baseline.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const SUITE_PKG = join(ROOT, 'node_modules/@modelcontextprotocol/conformance');
const SUITE_BIN = join(SUITE_PKG, 'dist/index.js');
const BASELINE = join(ROOT, 'conformance/expected-failures.json');

const SERVER_START_TIMEOUT_MS = 20_000;
const SUITE_TIMEOUT_MS = 180_000;

interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function exited(child: ChildProcess): Promise<Exited> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
async function stop(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

/** Start the fixtures server (conformance/server.ts); resolve with its /mcp URL from the "listening" log line. */
function startServer(): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'server.ts'), '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env },
  });
  let err = '';
  let settled = false;
  return new Promise((res, rej) => {
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop(child).then(() => rej(new Error(`${e.message}\n${err.slice(-2000)}`)));
    };
    const onEarlyExit = (code: number | null): void => fail(new Error(`server exited early (code ${code})`));
    const timer = setTimeout(() => fail(new Error(`server did not report listening within ${SERVER_START_TIMEOUT_MS} ms`)), SERVER_START_TIMEOUT_MS);
    child.once('exit', onEarlyExit);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      err += d;
      if (settled) return;
      for (const line of err.split('\n')) {
        if (!line.includes('"listening"')) continue;
        try {
          const rec = JSON.parse(line) as { msg?: string; url?: string };
          if (rec.msg === 'listening' && rec.url) {
            settled = true;
            clearTimeout(timer);
            child.off('exit', onEarlyExit);
            res({ child, url: rec.url, stderr: () => err });
            return;
          }
        } catch {
          // a partial line: wait for more
        }
      }
    });
  });
}

/** Run the suite CLI with a time bound; its output is echoed indented. */
async function runSuite(args: string[], timeoutMs: number, echo: boolean): Promise<{ exit: Exited; out: string; timedOut: boolean }> {
  const child = spawn(process.execPath, [SUITE_BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (d: Buffer): void => {
    out += d.toString('utf8');
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void stop(child, 2_000);
  }, timeoutMs);
  const exit = await exited(child);
  clearTimeout(timer);
  if (echo) process.stdout.write(out.replace(/^/gm, '    '));
  return { exit, out, timedOut };
}

function suiteVersion(): string {
  return (JSON.parse(readFileSync(join(SUITE_PKG, 'package.json'), 'utf8')) as { version: string }).version;
}

async function main(): Promise<number> {
  const verbose = process.argv.includes('--verbose');
  const started = Date.now();
  const baseline = parseBaseline(readFileSync(BASELINE, 'utf8'));
  const version = suiteVersion();
  if (baseline.conformance_version && baseline.conformance_version !== version) {
    process.stdout.write(`conformance: baseline is for ${baseline.conformance_version}, installed suite is ${version}\n`);
    return 1;
  }

  const listed = await runSuite(['list', '--server'], 30_000, false);
  const scenarios = listed.out
    .split('\n')
    .map((l) => /^\s+-\s+(\S+)\s*$/.exec(l)?.[1])
    .filter((s): s is string => s !== undefined);
  if (listed.exit.code !== 0 || scenarios.length === 0) {
    process.stdout.write(`conformance: could not list the suite's server scenarios\n${listed.out}\n`);
    return 1;
  }

  const outDir = mkdtempSync(join(tmpdir(), 'shield-conformance-'));
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const onSignal = (): void => {
    if (server) void stop(server.child).finally(() => process.exit(130));
    else process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    server = await startServer();
    process.stdout.write(`conformance ${version}: ${scenarios.length} server scenarios (suite "${baseline.suite}") against ${server.url}\n`);
    const run = await runSuite(['server', '--url', server.url, '--suite', baseline.suite, '-o', outDir], SUITE_TIMEOUT_MS, verbose);
    if (run.timedOut) {
      process.stdout.write(`conformance: the suite did not finish within ${SUITE_TIMEOUT_MS / 1000} s\n${run.out.slice(-3000)}\n`);
      return 1;
    }

    const results = readResults(outDir, scenarios);
    const cmp = compare(results, baseline);
    const reasons = new Map(baseline.server.map((e) => [e.scenario, e.reason]));
    for (const r of results) {
      const mark = r.passed ? (reasons.has(r.scenario) ? 'STALE' : 'pass ') : reasons.has(r.scenario) ? 'xfail' : 'FAIL ';
      process.stdout.write(`  ${mark} ${r.scenario}\n`);
      if (!r.passed) for (const p of r.problems) process.stdout.write(`          ${p}\n`);
      if (!r.passed && reasons.has(r.scenario)) process.stdout.write(`          baseline: ${reasons.get(r.scenario)}\n`);
    }
    if (cmp.stale.length) process.stdout.write(`Baselined but now passing (remove from conformance/expected-failures.json): ${cmp.stale.join(', ')}\n`);
    if (cmp.unknown.length) process.stdout.write(`Baselined but not run by this suite: ${cmp.unknown.join(', ')}\n`);
    if (cmp.unexpectedFailures.length) process.stdout.write(`Unexpected failures: ${cmp.unexpectedFailures.join(', ')}\n`);
    process.stdout.write(
      `conformance: ${cmp.passed.length} passed, ${cmp.unexpectedFailures.length} failed` +
        ` (${cmp.expectedFailures.length} expected failures in the baseline, ${cmp.stale.length} stale) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    return cmp.ok ? 0 : 1;
  } finally {
    if (server) await stop(server.child);
    rmSync(outDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stdout.write(`conformance: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
