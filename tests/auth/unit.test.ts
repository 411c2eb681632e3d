import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { DEFAULT_SCOPES } from '../../src/config/sections/auth.js';
import { assertAuthBinding, createHttpAuth, isLoopbackHost } from '../../src/transports/auth/authenticator.js';
import { sha256Hex, StaticTokenVerifier } from '../../src/transports/auth/bearer.js';
import { hashTokenInput } from '../../src/transports/auth/hash-token.js';
import { scopesOf } from '../../src/transports/auth/jwt.js';
import { metadataPaths, resourceMetadataUrl, wwwAuthenticate } from '../../src/transports/auth/metadata.js';
import { TokenBucketLimiter } from '../../src/transports/auth/rate-limit.js';
import { scopeFilter, visibleToolsFor } from '../../src/transports/auth/scopes.js';
import { createLogger } from '../../src/observability/logger.js';
import type { Principal } from '../../src/auth/principal.js';
import { testConfig } from '../helpers/app.js';
import { AUTH_TEST_TOOLS } from './tools.js';

const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const silent = createLogger({ level: 'silent' });
const who = (...scopes: string[]): Principal => ({ id: 'p', scopes, operator: false });
const names = (tools: readonly { name: string }[]): string[] => tools.map((t) => t.name).sort();

describe('static bearer tokens', () => {
  it('hashes with SHA-256 (hex) and hash-token drops only the trailing line ending', () => {
    expect(sha256Hex('abc')).toBe(ABC_SHA256);
    expect(hashTokenInput('abc\n')).toBe(ABC_SHA256);
    expect(hashTokenInput('abc\r\n')).toBe(ABC_SHA256);
    expect(hashTokenInput('abc')).toBe(ABC_SHA256);
    expect(() => hashTokenInput('\n')).toThrow(/no token/);
    expect(() => hashTokenInput('a b\n')).toThrow(/whitespace/);
  });

  it('accepts only the token whose hash is configured, with its scopes; operator by flag or scope', () => {
    const config = testConfig({
      auth: {
        mode: 'bearer',
        tokens: [
          { id: 'ci', sha256: ABC_SHA256.toUpperCase(), scopes: ['shield:itsm'] },
          { id: 'ops', sha256: sha256Hex('ops-secret'), scopes: ['shield:read', 'shield:operator'] },
          { id: 'lead', sha256: sha256Hex('lead-secret'), scopes: ['shield:read'], operator: true },
        ],
      },
    });
    const v = new StaticTokenVerifier(config.auth);
    expect(v.verify('abc')).toEqual({ id: 'ci', scopes: ['shield:itsm'], operator: false });
    expect(v.verify('ops-secret')).toEqual({ id: 'ops', scopes: ['shield:read', 'shield:operator'], operator: true });
    expect(v.verify('lead-secret')?.operator).toBe(true);
    expect(v.verify('abd')).toBeNull();
    expect(v.verify('')).toBeNull();
    expect(v.verify(ABC_SHA256)).toBeNull(); // the stored hash is not itself a token
  });
});

describe('scopes -> tools', () => {
  const config = testConfig().auth;

  it('maps each default scope to its toolsets (read: read-only tools only)', () => {
    expect(names(visibleToolsFor(who('shield:read'), AUTH_TEST_TOOLS, config))).toEqual([
      'get_job_status', 'get_ticket', 'list_templates', 'qdrant_find', 'render_template', 'whoami',
    ]);
    expect(names(visibleToolsFor(who('shield:itsm'), AUTH_TEST_TOOLS, config))).toEqual([
      'cancel_job', 'create_ticket', 'get_job_status', 'get_ticket', 'list_templates', 'render_template', 'whoami',
    ]);
    expect(names(visibleToolsFor(who('shield:knowledge'), AUTH_TEST_TOOLS, config))).toEqual(['cancel_job', 'crawl_web', 'get_job_status', 'qdrant_find', 'whoami']);
    expect(names(visibleToolsFor(who('shield:jobs'), AUTH_TEST_TOOLS, config))).toEqual(['cancel_job', 'get_job_status', 'whoami']);
    expect(names(visibleToolsFor(who('shield:read', 'shield:knowledge'), AUTH_TEST_TOOLS, config))).toEqual([
      'cancel_job', 'crawl_web', 'get_job_status', 'get_ticket', 'list_templates', 'qdrant_find', 'render_template', 'whoami',
    ]);
  });

  it('grants nothing for unknown scopes (prototype names included) or the operator scope alone; everything when unauthenticated', () => {
    for (const s of ['shield:operator', 'openid', 'constructor', '__proto__', 'toString']) {
      expect(visibleToolsFor(who(s), AUTH_TEST_TOOLS, config)).toEqual([]);
    }
    expect(names(visibleToolsFor(null, AUTH_TEST_TOOLS, config))).toEqual(names(AUTH_TEST_TOOLS));
  });

  it('merges configured scopes over the defaults; a scope mapped to no toolsets is dropped', () => {
    const custom = testConfig({ auth: { scopes: { 'tickets:write': { toolsets: ['itsm'] }, 'shield:jobs': { toolsets: [] } } } }).auth;
    expect(Object.keys(custom.scopes).sort()).toEqual([...Object.keys(DEFAULT_SCOPES), 'tickets:write'].sort());
    expect(names(visibleToolsFor(who('tickets:write'), AUTH_TEST_TOOLS, custom))).toEqual(['create_ticket', 'get_ticket', 'list_templates', 'render_template']);
    expect(visibleToolsFor(who('shield:jobs'), AUTH_TEST_TOOLS, custom)).toEqual([]);
  });

  it('memoises per scope set so the server can cache the listing', () => {
    const filter = scopeFilter(config);
    const a = filter(who('shield:read', 'shield:itsm'), AUTH_TEST_TOOLS);
    const b = filter({ id: 'other', scopes: ['shield:itsm', 'openid', 'shield:read'], operator: true }, AUTH_TEST_TOOLS);
    expect(b).toBe(a);
    expect(filter(who('shield:read'), AUTH_TEST_TOOLS)).not.toBe(a);
    expect(filter(null, AUTH_TEST_TOOLS)).toBe(AUTH_TEST_TOOLS);
  });
});

describe('token bucket', () => {
  it('allows a burst, then refills at the rate, and says when to retry', () => {
    let now = 1_000_000;
    const l = new TokenBucketLimiter({ ratePerS: 1, burst: 3, now: () => now });
    expect([l.take('a'), l.take('a'), l.take('a')]).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(l.take('a')).toEqual({ ok: false, retryAfterS: 1 });
    expect(l.take('b')).toEqual({ ok: true }); // keys do not share a bucket
    now += 500;
    expect(l.take('a')).toEqual({ ok: false, retryAfterS: 1 });
    now += 500;
    expect(l.take('a')).toEqual({ ok: true });
    expect(l.take('a').ok).toBe(false);
    now += 60_000; // refills only up to the burst
    expect([1, 2, 3, 4].map(() => l.take('a').ok)).toEqual([true, true, true, false]);
  });

  it('rounds Retry-After up to whole seconds at slow rates', () => {
    let now = 0;
    const l = new TokenBucketLimiter({ ratePerS: 0.1, burst: 1, now: () => now });
    expect(l.take('k').ok).toBe(true);
    expect(l.take('k')).toEqual({ ok: false, retryAfterS: 10 });
    now += 2500;
    expect(l.take('k')).toEqual({ ok: false, retryAfterS: 8 });
  });

  it('drops full buckets when it holds too many keys, keeping the ones still limited', () => {
    let now = 0;
    const l = new TokenBucketLimiter({ ratePerS: 1, burst: 1, now: () => now, maxKeys: 2 });
    l.take('idle');
    now += 5000;
    l.take('busy');
    l.take('new');
    expect(l.size).toBe(2);
    expect(l.take('busy').ok).toBe(false); // its empty bucket survived the sweep
  });

  it('rejects nonsense options', () => {
    expect(() => new TokenBucketLimiter({ ratePerS: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new TokenBucketLimiter({ ratePerS: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('metadata and challenges', () => {
  it('puts the well-known segment between host and path (RFC 9728 §3.1)', () => {
    expect(resourceMetadataUrl('https://shield.example.com/mcp')).toBe('https://shield.example.com/.well-known/oauth-protected-resource/mcp');
    expect(resourceMetadataUrl('https://shield.example.com/')).toBe('https://shield.example.com/.well-known/oauth-protected-resource');
    expect(resourceMetadataUrl('https://shield.example.com:8443/team/mcp/')).toBe('https://shield.example.com:8443/.well-known/oauth-protected-resource/team/mcp');
    expect([...metadataPaths('https://x.example/api/mcp', '/mcp')].sort()).toEqual([
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/api/mcp',
      '/.well-known/oauth-protected-resource/mcp',
    ]);
  });

  it('formats Bearer challenges with quoted, escaped parameters', () => {
    expect(wwwAuthenticate({})).toBe('Bearer');
    expect(wwwAuthenticate({ resourceMetadata: 'https://x/.well-known/oauth-protected-resource' })).toBe(
      'Bearer resource_metadata="https://x/.well-known/oauth-protected-resource"',
    );
    expect(wwwAuthenticate({ error: 'insufficient_scope', description: 'say "hi"', scope: 'a b' })).toBe(
      'Bearer error="insufficient_scope", error_description="say \\"hi\\"", scope="a b"',
    );
  });

  it('reads scopes from scope (string) or scp (array or string)', () => {
    expect(scopesOf({ scope: 'shield:read  shield:itsm' })).toEqual(['shield:read', 'shield:itsm']);
    expect(scopesOf({ scp: ['shield:read', 7, ''] })).toEqual(['shield:read']);
    expect(scopesOf({ scp: 'shield:jobs' })).toEqual(['shield:jobs']);
    expect(scopesOf({})).toEqual([]);
  });
});

describe('auth configuration', () => {
  it('refuses to run without authentication on a non-loopback address unless forced', () => {
    for (const h of ['127.0.0.1', '127.8.9.1', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'shield.example.com', '128.0.0.1', '127.example.com']) expect(isLoopbackHost(h), h).toBe(false);

    const open = testConfig({ server: { host: '0.0.0.0' } });
    expect(() => assertAuthBinding(open)).toThrow(ConfigError);
    expect(() => createHttpAuth(open, { logger: silent })).toThrow(/auth\.allow_unauthenticated_remote/);
    expect(() => assertAuthBinding(testConfig({ server: { host: '0.0.0.0' }, auth: { allow_unauthenticated_remote: true } }))).not.toThrow();
    expect(() => assertAuthBinding(testConfig({ server: { host: '0.0.0.0' }, auth: { mode: 'bearer', tokens: [{ id: 'a', sha256: ABC_SHA256, scopes: ['shield:read'] }] } }))).not.toThrow();
    expect(() => assertAuthBinding(testConfig())).not.toThrow();
  });

  it('validates each mode and names the key', () => {
    const issues = (auth: unknown): string => {
      try {
        testConfig({ auth });
      } catch (err) {
        return (err as ConfigError).issues.join('\n');
      }
      return '';
    };
    expect(issues({ mode: 'bearer' })).toContain('auth.tokens: mode bearer needs at least one token');
    expect(issues({ mode: 'oauth' })).toContain('auth.oauth: mode oauth needs auth.oauth');
    expect(issues({ mode: 'oauth', oauth: { issuer: 'https://as.example' } })).toContain('auth.oauth.resource');
    expect(issues({ mode: 'oauth', oauth: { issuer: 'https://as.example', resource: 'https://s/mcp', algorithms: ['HS256'] } })).toContain('auth.oauth.algorithms.0');
    expect(issues({ tokens: [{ id: 'a', sha256: 'abc', scopes: ['shield:read'] }] })).toContain('auth.tokens.0.sha256');
    expect(issues({ tokens: [{ id: 'a', sha256: ABC_SHA256, scopes: ['shield:raed'] }] })).toContain('auth.tokens.0.scopes.0: unknown scope shield:raed');
    expect(issues({ tokens: [{ id: 'a', sha256: ABC_SHA256, scopes: ['shield:read'] }, { id: 'a', sha256: ABC_SHA256, scopes: ['shield:read'] }] })).toContain(
      'auth.tokens.1.id: duplicate token id a',
    );
    // A token in clear text is refused before the schema even sees it.
    expect(issues({ tokens: [{ id: 'a', token: 'plain', scopes: ['shield:read'] }] })).toContain('secrets are not read from files');
    expect(issues({ mode: 'oauth', oauth: { issuer: 'https://as.example', resource: 'https://s/mcp' } })).toBe('');
  });

  it('defaults: mode none, no limit in mode none, the shipped scope map', () => {
    const auth = testConfig().auth;
    expect(auth.mode).toBe('none');
    expect(auth.rate_limit).toBeUndefined();
    expect(auth.scopes).toEqual(DEFAULT_SCOPES);
    expect(createHttpAuth(testConfig(), { logger: silent }).authenticator).toBeUndefined();
    expect(createHttpAuth(testConfig({ auth: { rate_limit: { requests_per_s: 1, burst: 1 } } }), { logger: silent }).authenticator).toBeDefined();
  });
});
