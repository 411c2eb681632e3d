// RFC 9728 Protected Resource Metadata, the route that serves it, and the RFC 6750
// WWW-Authenticate challenges that point to it.
import type { AuthConfig } from '../../config/sections/auth.js';
import { jsonRpcError } from '../http/respond.js';
import type { Route } from '../http/types.js';
import { toolScopes } from './scopes.js';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** The metadata URL for a resource: the well-known segment goes between host and path (RFC 9728 §3.1). */
export function resourceMetadataUrl(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return `${u.origin}${WELL_KNOWN}${path}`;
}

/** Paths this server answers the metadata on: the bare form and the resource- and /mcp-suffixed forms. */
export function metadataPaths(resource: string, mcpPath: string): Set<string> {
  const suffix = (p: string): string => (p === '/' ? '' : p.replace(/\/$/, ''));
  return new Set([WELL_KNOWN, `${WELL_KNOWN}${suffix(new URL(resource).pathname)}`, `${WELL_KNOWN}${suffix(mcpPath)}`]);
}

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: string[];
  resource_name: string;
}

export function protectedResourceMetadata(auth: AuthConfig, name: string): ProtectedResourceMetadata {
  const oauth = auth.oauth;
  if (!oauth) throw new Error('protected resource metadata needs auth.oauth');
  return {
    resource: oauth.resource,
    authorization_servers: oauth.authorization_servers ?? [oauth.issuer],
    scopes_supported: [...toolScopes(auth), auth.operator_scope],
    // Tokens in query strings or bodies would end up in logs and caches.
    bearer_methods_supported: ['header'],
    resource_name: name,
  };
}

/** GET/HEAD of the metadata document on every path metadataPaths names (oauth mode only). */
export function metadataRoute(auth: AuthConfig, server: { name: string; http: { path: string } }): Route {
  const oauth = auth.oauth;
  if (!oauth) throw new Error('the metadata route needs auth.oauth');
  const paths = metadataPaths(oauth.resource, server.http.path);
  const document = JSON.stringify(protectedResourceMetadata(auth, server.name));
  return (req, res, url) => {
    if (!paths.has(url.pathname)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      jsonRpcError(res, 405, 'Method not allowed', { allow: 'GET, HEAD' });
      return true;
    }
    // Public metadata that browser-based clients fetch cross-origin.
    res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*', 'cache-control': 'max-age=3600' });
    res.end(req.method === 'HEAD' ? undefined : document);
    return true;
  };
}

export interface Challenge {
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  description?: string;
  scope?: string;
  resourceMetadata?: string;
}

function quoted(v: string): string {
  return `"${v.replace(/[\\"]/g, '\\$&').replace(/[\r\n]/g, ' ')}"`;
}

/** A `Bearer` challenge (RFC 6750 §3) with the resource_metadata parameter of RFC 9728 §5.1. */
export function wwwAuthenticate(c: Challenge): string {
  const params: string[] = [];
  if (c.error) params.push(`error=${quoted(c.error)}`);
  if (c.description) params.push(`error_description=${quoted(c.description)}`);
  if (c.scope) params.push(`scope=${quoted(c.scope)}`);
  if (c.resourceMetadata) params.push(`resource_metadata=${quoted(c.resourceMetadata)}`);
  return params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer';
}
