// The expected-failures comparison used by `npm run conformance`, and the baseline file itself.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compare, judge, parseBaseline, readResults, scenarioOfDir, type Baseline } from '../../conformance/baseline.js';

const baseline = (...scenarios: string[]): Baseline => ({
  conformance_version: '0.1.13',
  suite: 'all',
  server: scenarios.map((scenario) => ({ scenario, reason: `known gap in ${scenario}` })),
});

describe('conformance baseline comparison', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conf-results-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names scenarios from the suite result directories', () => {
    expect(scenarioOfDir('server-tools-call-image-2026-11-21T07-45-58-238Z')).toBe('tools-call-image');
    expect(scenarioOfDir('server-server-sse-polling-2026-11-21T07-46-02-757Z')).toBe('server-sse-polling');
    expect(scenarioOfDir('notes.txt')).toBeNull();
  });

  it('fails a scenario on any FAILURE or WARNING check, and one without checks', () => {
    expect(judge('a', [{ id: 'x', status: 'SUCCESS' }, { id: 'i', status: 'INFO' }]).passed).toBe(true);
    expect(judge('a', [{ id: 'x', status: 'SUCCESS' }, { id: 'w', status: 'WARNING', errorMessage: 'no retry' }])).toMatchObject({ passed: false, problems: ['WARNING w: no retry'] });
    expect(judge('a', [{ id: 'f', status: 'FAILURE' }]).passed).toBe(false);
    expect(judge('a', []).passed).toBe(false);
  });

  it('reads checks.json per scenario; a scenario the suite wrote nothing for fails', () => {
    mkdirSync(join(dir, 'server-ping-2026-01-01T00-00-00-000Z'));
    writeFileSync(join(dir, 'server-ping-2026-01-01T00-00-00-000Z', 'checks.json'), JSON.stringify([{ id: 'ping', status: 'SUCCESS' }]));
    const results = readResults(dir, ['ping', 'tools-list']);
    expect(results.map((r) => [r.scenario, r.passed])).toEqual([
      ['ping', true],
      ['tools-list', false],
    ]);
  });

  it('passes only when every failure is baselined and every baselined scenario still fails', () => {
    const results = [judge('ping', [{ id: 'p', status: 'SUCCESS' }]), judge('sse', [{ id: 'w', status: 'WARNING' }])];
    expect(compare(results, baseline('sse'))).toMatchObject({ ok: true, passed: ['ping'], expectedFailures: ['sse'] });
    expect(compare(results, baseline())).toMatchObject({ ok: false, unexpectedFailures: ['sse'] });
    expect(compare(results, baseline('sse', 'ping'))).toMatchObject({ ok: false, stale: ['ping'] });
    expect(compare(results, baseline('sse', 'gone'))).toMatchObject({ ok: false, unknown: ['gone'] });
  });

  it('the shipped baseline is for the installed suite version and gives every entry a reason', () => {
    const b = parseBaseline(readFileSync('conformance/expected-failures.json', 'utf8'));
    const installed = JSON.parse(readFileSync('node_modules/@modelcontextprotocol/conformance/package.json', 'utf8')) as { version: string };
    expect(b.conformance_version).toBe(installed.version);
    for (const e of b.server) expect(e.reason.length).toBeGreaterThan(40);
    expect(() => parseBaseline(JSON.stringify({ server: [{ scenario: 'x', reason: '' }] }))).toThrow(/reason/);
  });
});
