// Results of a conformance run, read from the suite's output directory, compared with the
// expected-failures baseline (conformance/expected-failures.json).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';

export interface Check {
  id: string;
  name?: string;
  status: CheckStatus;
  errorMessage?: string;
}

export interface ScenarioResult {
  scenario: string;
  /** Same rule as the suite's own --expected-failures: any FAILURE or WARNING check fails the scenario. */
  passed: boolean;
  checks: Check[];
  /** FAILURE and WARNING checks, as "status id: message". */
  problems: string[];
}

export interface BaselineEntry {
  scenario: string;
  reason: string;
}

export interface Baseline {
  conformance_version: string;
  suite: string;
  server: BaselineEntry[];
}

export interface Comparison {
  passed: string[];
  expectedFailures: string[];
  unexpectedFailures: string[];
  /** Baselined scenarios that now pass: the baseline must lose them. */
  stale: string[];
  /** Baselined scenarios the suite did not run (renamed or removed). */
  unknown: string[];
  ok: boolean;
}

const TIMESTAMP_SUFFIX = /-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

/** The scenario name of a result directory `server-<scenario>-<ISO timestamp with - for : and .>`. */
export function scenarioOfDir(dir: string): string | null {
  if (!dir.startsWith('server-') || !TIMESTAMP_SUFFIX.test(dir)) return null;
  return dir.slice('server-'.length).replace(TIMESTAMP_SUFFIX, '');
}

export function judge(scenario: string, checks: Check[]): ScenarioResult {
  const problems = checks
    .filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')
    .map((c) => `${c.status} ${c.id}${c.errorMessage ? `: ${c.errorMessage}` : ''}`);
  return { scenario, passed: checks.length > 0 && problems.length === 0, checks, problems };
}

/**
 * One result per expected scenario. A scenario with no checks.json (the suite crashed in it, or
 * never reached it) fails with that as its problem.
 */
export function readResults(outputDir: string, scenarios: readonly string[]): ScenarioResult[] {
  const found = new Map<string, Check[]>();
  for (const dir of readdirSync(outputDir)) {
    const scenario = scenarioOfDir(dir);
    if (!scenario) continue;
    const checks = JSON.parse(readFileSync(join(outputDir, dir, 'checks.json'), 'utf8')) as Check[];
    found.set(scenario, [...(found.get(scenario) ?? []), ...checks]);
  }
  return scenarios.map((s) => {
    const checks = found.get(s);
    if (!checks) return { scenario: s, passed: false, checks: [], problems: ['no results: the suite wrote no checks.json for this scenario'] };
    return judge(s, checks);
  });
}

export function parseBaseline(text: string): Baseline {
  const raw = JSON.parse(text) as Partial<Baseline>;
  if (!Array.isArray(raw.server)) throw new Error('expected-failures: "server" must be an array of {scenario, reason}');
  const seen = new Set<string>();
  for (const e of raw.server) {
    if (typeof e?.scenario !== 'string' || !e.scenario) throw new Error('expected-failures: every entry needs a scenario');
    if (typeof e.reason !== 'string' || e.reason.trim().length < 10) throw new Error(`expected-failures: ${e.scenario} needs a reason`);
    if (seen.has(e.scenario)) throw new Error(`expected-failures: ${e.scenario} is listed twice`);
    seen.add(e.scenario);
  }
  return { conformance_version: String(raw.conformance_version ?? ''), suite: String(raw.suite ?? 'all'), server: raw.server };
}

export function compare(results: readonly ScenarioResult[], baseline: Baseline): Comparison {
  const expected = new Set(baseline.server.map((e) => e.scenario));
  const ran = new Set(results.map((r) => r.scenario));
  const c: Comparison = { passed: [], expectedFailures: [], unexpectedFailures: [], stale: [], unknown: [], ok: false };
  for (const r of results) {
    if (r.passed) (expected.has(r.scenario) ? c.stale : c.passed).push(r.scenario);
    else (expected.has(r.scenario) ? c.expectedFailures : c.unexpectedFailures).push(r.scenario);
  }
  c.unknown = [...expected].filter((s) => !ran.has(s));
  c.ok = c.unexpectedFailures.length === 0 && c.stale.length === 0 && c.unknown.length === 0 && results.length > 0;
  return c;
}
