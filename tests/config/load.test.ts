import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, deepMerge, loadConfig, secretFromEnv } from '../../src/config/load.js';

function file(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'shield-cfg-'));
  const p = join(dir, 'c.json');
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('loads the shipped defaults with the four templates', () => {
    const c = loadConfig();
    expect(c.server.transport).toBe('stdio');
    expect(c.server.host).toBe('127.0.0.1');
    expect(c.store.data_dir).toBe('./data');
    expect(Object.keys(c.templates).sort()).toEqual(['change_request', 'iris_config_change', 'outage', 'rca_incident']);
  });

  it('merges files in order: objects by key, arrays replaced', () => {
    const a = file({ server: { port: 9000 }, tools: { enabled_toolsets: ['itsm', 'jobs'] } });
    const b = file({ server: { transport: 'http' }, tools: { enabled_toolsets: ['jobs'] } });
    const c = loadConfig({ files: [a, b] });
    expect(c.server.port).toBe(9000);
    expect(c.server.transport).toBe('http');
    expect(c.server.host).toBe('127.0.0.1');
    expect(c.tools.enabled_toolsets).toEqual(['jobs']);
  });

  it('names every bad key and the problem, not just the first', () => {
    const issues = issuesOf(() => loadConfig({ files: [file({ server: { port: 'x' }, tools: { enabled_toolsets: ['bogus'] }, nope: 1 })] }));
    expect(issues.some((i) => i.startsWith('server.port:'))).toBe(true);
    expect(issues.some((i) => i.startsWith('tools.enabled_toolsets.0:'))).toBe(true);
    expect(issues).toContain('nope: unknown key');
  });

  it('refuses secrets in files and names the _env key to use', () => {
    const issues = issuesOf(() => loadConfig({ files: [file({ itsm: { password: 'hunter2' } })] }));
    expect(issues[0]).toMatch(/itsm\.password: secrets are not read from files.*password_env/);
    expect(issues.join()).not.toContain('hunter2');
  });

  it('says what a renamed key is now called', () => {
    const issues = issuesOf(() => loadConfig({ files: [file({ jobs: { ttl_hours: 3 } })] }));
    expect(issues[0]).toContain('renamed to jobs.ttl_s');
  });

  it('reports unreadable and malformed files by name', () => {
    expect(issuesOf(() => loadConfig({ files: ['/nonexistent/x.json'] }))[0]).toMatch(/x\.json: cannot read \(ENOENT\)/);
    expect(issuesOf(() => loadConfig({ files: [file('{oops')] }))[0]).toMatch(/not valid JSON/);
  });

  it('validates templates: a template without platforms is refused', () => {
    const issues = issuesOf(() => loadConfig({ files: [file({ templates: { bad: { description: 'x', platforms: {} } } })] }));
    expect(issues[0]).toMatch(/templates\.bad\.platforms/);
  });

  it('reads secrets from the injected environment only', () => {
    expect(secretFromEnv({ SN_PASS: 's3cret' }, 'SN_PASS')).toBe('s3cret');
    expect(secretFromEnv({ SN_PASS: '' }, 'SN_PASS')).toBeUndefined();
    expect(secretFromEnv({}, undefined)).toBeUndefined();
  });

  it('deepMerge keeps base keys and replaces arrays', () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] } })).toEqual({ a: { b: 1, c: [3] } });
  });
});
