// What a request must pass before a route acts on it: an allowed Host, an allowed Origin, and a
// body no larger than the limit.
import type { IncomingMessage } from 'node:http';
import type { Config } from '../../config/schema.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export interface RequestGuards {
  hostAllowed(req: IncomingMessage): boolean;
  originAllowed(req: IncomingMessage): boolean;
}

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1).toLowerCase();
  const i = hostHeader.lastIndexOf(':');
  return (i === -1 ? hostHeader : hostHeader.slice(0, i)).toLowerCase();
}

/** Loopback names, the bound host and the configured ones pass; so do loopback and listed origins. */
export function requestGuards(bindHost: string, cfg: Config['server']['http']): RequestGuards {
  const allowedHosts = new Set([...LOOPBACK_NAMES, bindHost.toLowerCase(), ...cfg.allowed_hosts.map((h) => h.toLowerCase())]);
  const allowedOrigins = new Set(cfg.allowed_origins);
  return {
    hostAllowed: (req) => {
      const host = req.headers.host;
      return host !== undefined && allowedHosts.has(hostnameOf(host));
    },
    // Browsers send Origin; a page on another site must not drive a local server (DNS rebinding).
    originAllowed: (req) => {
      const origin = req.headers.origin;
      if (origin === undefined) return true;
      if (allowedOrigins.has(origin)) return true;
      try {
        return LOOPBACK_NAMES.has(new URL(origin).hostname.toLowerCase());
      } catch {
        return false;
      }
    },
  };
}

/** The whole body, or 'too_large' as soon as the declared or the read size passes `limit`. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return 'too_large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
