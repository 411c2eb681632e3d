// The SSRF guard: address table, odd literals, injected DNS, and refusals of direct URLs and redirect hops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShieldError } from '../../src/errors.js';
import { SafeFetcher } from '../../src/providers/knowledge/fetcher.js';
import { startSite, htmlPage, type LocalSite } from '../fakes/site/site.js';
import { classifyAddress, vetUrl, type GuardPolicy, type Resolver } from '../../src/providers/knowledge/ssrf.js';

const strict: GuardPolicy = { allowedPorts: [80, 443], allowPrivateNetworks: false, allowPrivateOrigins: [] };
/** Names resolve only through this table: no test ever touches real DNS. */
const table: Record<string, string[]> = {
  'public.example': ['93.184.215.14'],
  'internal.example': ['10.0.0.1'],
  'mixed.example': ['93.184.215.14', '127.0.0.1'],
  'mapped.example': ['::ffff:169.254.169.254'],
};
const resolver: Resolver = async (h) => {
  const a = table[h];
  if (!a) throw Object.assign(new Error(`ENOTFOUND ${h}`), { code: 'ENOTFOUND' });
  return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

async function refusal(p: Promise<unknown>): Promise<ShieldError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ShieldError);
  return err as ShieldError;
}

describe('address classification', () => {
  it.each([
    ['8.8.8.8', true],
    ['93.184.215.14', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['10.0.0.1', false],
    ['172.16.5.4', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['192.0.0.8', false],
    ['192.0.2.1', false],
    ['198.18.0.1', false],
    ['198.51.100.7', false],
    ['203.0.113.9', false],
    ['224.0.0.1', false],
    ['240.0.0.1', false],
    ['255.255.255.255', false],
    ['::', false],
    ['::1', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['ff02::1', false],
    ['2001:db8::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::7f00:1', false],
    ['::127.0.0.1', false],
    ['::a9fe:a9fe', false],
    ['2002:7f00:1::1', false],
    ['::ffff:8.8.8.8', true],
    ['64:ff9b::a9fe:a9fe', false],
    ['64:ff9b::808:808', true],
  ])('%s public=%s', (addr, pub) => {
    expect(classifyAddress(addr).public).toBe(pub);
  });
});

describe('vetUrl', () => {
  it.each([
    'http://127.0.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::1]/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://0x08080808/',
    'http://internal.example/',
    'http://mixed.example/',
    'http://mapped.example/',
    'http://localhost/',
    'ftp://public.example/',
    'file:///etc/passwd',
    'http://user:pw@public.example/',
    'http://public.example:6379/',
    'http://nowhere.example/',
    'not a url',
  ])('refuses %s with URL_NOT_ALLOWED', async (u) => {
    const err = await refusal(vetUrl(u, strict, resolver));
    expect(err.code).toBe('URL_NOT_ALLOWED');
  });

  it('accepts a public name and returns the vetted addresses to connect to', async () => {
    const t = await vetUrl('https://public.example/docs?a=1', strict, resolver);
    expect(t.addresses).toEqual([{ address: '93.184.215.14', family: 4 }]);
    expect(t.url.hostname).toBe('public.example');
  });

  it('allows loopback only for an exact configured origin', async () => {
    const policy = { ...strict, allowPrivateOrigins: ['http://127.0.0.1:8123'] };
    await expect(vetUrl('http://127.0.0.1:8123/x', policy, resolver)).resolves.toBeTruthy();
    expect((await refusal(vetUrl('http://127.0.0.1:8124/x', policy, resolver))).code).toBe('URL_NOT_ALLOWED');
    expect((await refusal(vetUrl('http://127.0.0.1/x', policy, resolver))).code).toBe('URL_NOT_ALLOWED');
  });
});

describe('SafeFetcher against a loopback site', () => {
  let site: LocalSite;
  let other: LocalSite;
  let fetcher: SafeFetcher;
  const targets: Record<string, string> = {};

  beforeAll(async () => {
    other = await startSite(new Map([['/', { body: htmlPage('Other', '<p>must not be reached</p>') }]]));
    const pages = new Map([
      ['/ok', { body: htmlPage('OK', '<p>fine</p>') }],
      ['/to-loopback', { status: 302, location: `${other.url}/` }],
      ['/to-loopback-80', { status: 302, location: 'http://127.0.0.1/' }],
      ['/to-metadata', { status: 302, location: 'http://169.254.169.254/latest/meta-data/' }],
      ['/to-mapped', { status: 302, location: 'http://[::ffff:127.0.0.1]/' }],
      ['/to-decimal', { status: 302, location: 'http://2130706433/' }],
      ['/to-internal', { status: 302, location: 'http://internal.example/' }],
      ['/loop', { status: 302, location: '/loop' }],
    ]);
    site = await startSite(pages);
    Object.assign(targets, { ok: `${site.url}/ok` });
    const siteResolver: Resolver = async (h) => resolver(h);
    fetcher = new SafeFetcher({
      policy: { allowedPorts: [80, 443], allowPrivateNetworks: false, allowPrivateOrigins: [site.url] },
      resolver: siteResolver,
      userAgent: 'ShieldTest/1.0',
      timeoutMs: 2000,
      maxBytes: 100_000,
      maxRedirects: 5,
    });
  });
  afterAll(async () => {
    await fetcher.close();
    await site.close();
    await other.close();
  });

  it('fetches the allowed origin', async () => {
    const out = await fetcher.fetch(targets.ok!);
    expect(out.kind).toBe('ok');
  });

  it.each(['127.0.0.1:port', '169.254.169.254', '[::ffff:127.0.0.1]', '2130706433', '10.0.0.1 by name'])('refuses a direct URL to %s', async (what) => {
    const url = {
      '127.0.0.1:port': `${other.url}/`,
      '169.254.169.254': 'http://169.254.169.254/latest/meta-data/',
      '[::ffff:127.0.0.1]': 'http://[::ffff:127.0.0.1]/',
      '2130706433': 'http://2130706433/',
      '10.0.0.1 by name': 'http://internal.example/',
    }[what]!;
    expect((await refusal(fetcher.fetch(url))).code).toBe('URL_NOT_ALLOWED');
  });

  it.each(['/to-loopback', '/to-loopback-80', '/to-metadata', '/to-mapped', '/to-decimal', '/to-internal'])('refuses the redirect hop of %s', async (path) => {
    const before = other.hits.length;
    const err = await refusal(fetcher.fetch(`${site.url}${path}`));
    expect(err.code).toBe('URL_NOT_ALLOWED');
    expect(other.hits.length).toBe(before);
  });

  it('stops after 5 redirects', async () => {
    const before = site.hits.filter((h) => h === '/loop').length;
    const err = await refusal(fetcher.fetch(`${site.url}/loop`));
    expect(err.code).toBe('URL_NOT_ALLOWED');
    expect(site.hits.filter((h) => h === '/loop').length - before).toBe(6);
  });
});
