// The SSRF guard: decides whether a URL may be fetched, resolving DNS itself and vetting every address.
import { lookup as dnsLookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { ShieldError } from '../../errors.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all its addresses (injectable so tests never touch real DNS). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => {
  const all = await dnsLookup(hostname, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

export interface GuardPolicy {
  allowedPorts: readonly number[];
  /** Any loopback/private address is acceptable (tests). */
  allowPrivateNetworks: boolean;
  /** Exact origins exempt from the public-address and port rules (the demo site). */
  allowPrivateOrigins: readonly string[];
}

/** A URL that passed the guard, with the addresses a connection must use. */
export interface VettedTarget {
  url: URL;
  addresses: ResolvedAddress[];
}

// Explicit non-public ranges (knowledge.md), checked on top of ipaddr.js's own classification.
const BLOCKED_V4 = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24',
  '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4',
].map((c) => ipaddr.IPv4.parseCIDR(c));
// ::/96 covers ::, ::1 and the deprecated IPv4-compatible form (::7f00:1 is 127.0.0.1), which no
// public host uses.
const BLOCKED_V6 = ['::/96', 'fe80::/10', 'fc00::/7', 'ff00::/8', '2001:db8::/32'].map((c) => ipaddr.IPv6.parseCIDR(c));
const NAT64 = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

export type AddressVerdict = { public: true } | { public: false; reason: string };

/** Classify one address; IPv4-mapped and NAT64 IPv6 addresses are judged by their embedded IPv4. */
export function classifyAddress(text: string): AddressVerdict {
  if (!ipaddr.isValid(text)) return { public: false, reason: `not an IP address: ${text}` };
  let addr = ipaddr.parse(text);
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) addr = v6.toIPv4Address();
    else if (v6.match(NAT64)) {
      const b = v6.toByteArray().slice(12);
      addr = new ipaddr.IPv4(b);
    }
  }
  if (addr.kind() === 'ipv4') {
    const v4 = addr as ipaddr.IPv4;
    const range = v4.range();
    if (range !== 'unicast' || BLOCKED_V4.some((c) => v4.match(c))) return { public: false, reason: `${v4.toString()} is ${range === 'unicast' ? 'reserved' : range}` };
    return { public: true };
  }
  const v6 = addr as ipaddr.IPv6;
  const range = v6.range();
  if (range !== 'unicast' || BLOCKED_V6.some((c) => v6.match(c))) return { public: false, reason: `${v6.toString()} is ${range === 'unicast' ? 'reserved' : range}` };
  return { public: true };
}

export function isLoopbackOrPrivate(text: string): boolean {
  return !classifyAddress(text).public;
}

const denied = (url: string, why: string): ShieldError =>
  new ShieldError('URL_NOT_ALLOWED', `URL not allowed: ${why}.`, { details: { url, reason: why } });

/** The host text exactly as written in the input (before WHATWG canonicalisation). */
function rawHost(input: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)/i.exec(input.trim());
  return m?.[1]?.toLowerCase();
}

/** Strip brackets of an IPv6 literal host. */
const bare = (hostname: string): string => (hostname.startsWith('[') ? hostname.slice(1, -1) : hostname);

/**
 * Parse and vet a URL: scheme, userinfo, port, odd literal forms, then every resolved address.
 * Throws URL_NOT_ALLOWED before any connection is made.
 */
export async function vetUrl(input: string | URL, policy: GuardPolicy, resolver: Resolver): Promise<VettedTarget> {
  const text = String(input);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw denied(text, 'not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw denied(text, `scheme ${url.protocol.replace(':', '')} is not http or https`);
  if (url.username || url.password) throw denied(text, 'URLs with credentials (userinfo) are not fetched');
  const host = bare(url.hostname);
  const isLiteral = ipaddr.isValid(host);
  if (isLiteral && ipaddr.IPv4.isValid(host)) {
    // WHATWG turns 2130706433, 0x7f.1 and 0177.0.0.1 into 127.0.0.1: refuse any spelling but dotted decimal.
    const raw = rawHost(text);
    if (raw !== undefined && typeof input === 'string' && raw !== host) throw denied(text, `odd IPv4 literal form "${raw}"`);
    if (!ipaddr.IPv4.isValidFourPartDecimal(host)) throw denied(text, 'odd IPv4 literal form');
  }
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const exemptOrigin = policy.allowPrivateOrigins.some((o) => {
    try {
      return new URL(o).origin === url.origin;
    } catch {
      return false;
    }
  });

  let addresses: ResolvedAddress[];
  if (isLiteral) addresses = [{ address: host, family: ipaddr.IPv4.isValid(host) ? 4 : 6 }];
  else {
    if (host === 'localhost' || host.endsWith('.localhost')) {
      if (!exemptOrigin && !policy.allowPrivateNetworks) throw denied(text, `${host} is a loopback name`);
    }
    try {
      addresses = await resolver(host);
    } catch (err) {
      throw new ShieldError('URL_NOT_ALLOWED', `URL not allowed: ${host} does not resolve.`, { cause: err, details: { url: text, reason: 'dns' } });
    }
    if (addresses.length === 0) throw denied(text, `${host} has no addresses`);
  }
  if (!exemptOrigin && !policy.allowPrivateNetworks) {
    for (const a of addresses) {
      const v = classifyAddress(a.address);
      if (!v.public) throw denied(text, `${host} resolves to a non-public address (${v.reason})`);
    }
  }
  if (!exemptOrigin && !policy.allowPrivateNetworks && !policy.allowedPorts.includes(port)) throw denied(text, `port ${port} is not allowed`);
  return { url, addresses };
}
