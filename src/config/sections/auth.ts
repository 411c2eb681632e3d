// Configuration of inbound authentication on the HTTP transport: mode, static tokens (hashed),
// the OAuth resource server, the scope -> toolset map and the per-principal rate limit.
import { z } from 'zod';
import { TOOLSETS, toolsetSchema } from '../toolsets.js';

/** What one scope grants: every tool of `toolsets`, or only their read-only tools. */
export const scopeGrantSchema = z
  .object({
    toolsets: z.array(toolsetSchema),
    /** Only tools whose readOnlyHint is true. */
    read_only: z.boolean().default(false),
  })
  .strict();

export type ScopeGrant = z.infer<typeof scopeGrantSchema>;

/**
 * The shipped scope map. Scopes that start jobs also grant the jobs toolset, so their holder can
 * poll and cancel what they started (job ownership keeps them to their own jobs).
 */
export const DEFAULT_SCOPES: Record<string, ScopeGrant> = {
  'shield:read': { toolsets: [...TOOLSETS], read_only: true },
  'shield:itsm': { toolsets: ['itsm', 'jobs'], read_only: false },
  'shield:knowledge': { toolsets: ['knowledge', 'jobs'], read_only: false },
  'shield:remediation': { toolsets: ['remediation', 'jobs'], read_only: false },
  'shield:jobs': { toolsets: ['jobs'], read_only: false },
};

/** Used when mode is bearer or oauth and auth.rate_limit is not set. */
export const DEFAULT_RATE_LIMIT = { requests_per_s: 10, burst: 40 } as const;

const rateLimitSchema = z
  .object({
    /** Sustained requests per second per principal (fractions allowed: 0.5 = one every 2 s). */
    requests_per_s: z.number().positive(),
    /** Requests a principal may make at once before the sustained rate applies. */
    burst: z.number().int().positive(),
  })
  .strict();

const staticTokenSchema = z
  .object({
    /** Principal id of whoever holds the token (job ownership, logs, rate limit). */
    id: z.string().min(1),
    /** Hex SHA-256 of the token (`shield-mcp hash-token`); the token itself never sits in config. */
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'the hex SHA-256 of the token (64 hex digits); see shield-mcp hash-token')
      .transform((s) => s.toLowerCase()),
    scopes: z.array(z.string().min(1)).min(1),
    /** Sees and cancels every job (also granted by the operator scope). */
    operator: z.boolean().default(false),
  })
  .strict();

const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const oauthSchema = z
  .object({
    /** The authorization server's issuer identifier; tokens must carry it as `iss`. */
    issuer: z.url(),
    /** This server's resource URI (RFC 8707), e.g. https://shield.example.com/mcp; tokens must name it in `aud`. */
    resource: z.url(),
    /** The issuer's JWKS; discovered from its RFC 8414 / OpenID metadata when absent. */
    jwks_uri: z.url().optional(),
    /** Advertised in the protected resource metadata; [issuer] when absent. */
    authorization_servers: z.array(z.url()).optional(),
    /** Signature algorithms accepted (asymmetric only: the server holds no shared secret). */
    algorithms: z.array(z.enum(ASYMMETRIC_ALGS)).min(1).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
    /** Allowed clock difference when checking exp/nbf/iat, in seconds. */
    clock_tolerance_s: z.number().int().min(0).max(300).default(30),
    /** Claim that identifies the principal. */
    principal_claim: z.string().min(1).default('sub'),
    /** Time allowed to fetch the JWKS or the issuer metadata, in ms. */
    fetch_timeout_ms: z.number().int().positive().default(5000),
  })
  .strict();

export const authSection = z
  .object({
    mode: z.enum(['none', 'bearer', 'oauth']).default('none'),
    /** Allow mode none on a non-loopback address. Only behind something that authenticates. */
    allow_unauthenticated_remote: z.boolean().default(false),
    /** mode bearer: the accepted static tokens. */
    tokens: z.array(staticTokenSchema).default([]),
    /** mode oauth: the resource server settings. */
    oauth: oauthSchema.optional(),
    /** Scope -> tools granted; merged over the shipped map (map a scope to {toolsets: []} to drop it). */
    scopes: z
      .record(z.string().min(1), scopeGrantSchema)
      .default({})
      .transform((s) => ({ ...DEFAULT_SCOPES, ...s })),
    /** Holders of this scope are operators: they see and cancel every job. */
    operator_scope: z.string().min(1).default('shield:operator'),
    /**
     * Per-principal token bucket (per client IP in mode none). Unset: DEFAULT_RATE_LIMIT when
     * authenticating, off in mode none; false: off.
     */
    rate_limit: z.union([rateLimitSchema, z.literal(false)]).optional(),
  })
  .strict()
  .superRefine((auth, ctx) => {
    if (auth.mode === 'bearer' && auth.tokens.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['tokens'], message: 'mode bearer needs at least one token' });
    }
    if (auth.mode === 'oauth' && !auth.oauth) {
      ctx.addIssue({ code: 'custom', path: ['oauth'], message: 'mode oauth needs auth.oauth (issuer, resource)' });
    }
    const known = new Set([...Object.keys(auth.scopes), auth.operator_scope]);
    const ids = new Set<string>();
    auth.tokens.forEach((t, i) => {
      if (ids.has(t.id)) ctx.addIssue({ code: 'custom', path: ['tokens', i, 'id'], message: `duplicate token id ${t.id}` });
      ids.add(t.id);
      t.scopes.forEach((s, j) => {
        if (!known.has(s)) {
          ctx.addIssue({ code: 'custom', path: ['tokens', i, 'scopes', j], message: `unknown scope ${s}; known: ${[...known].join(', ')}` });
        }
      });
    });
  })
  .prefault({});

export type AuthConfig = z.infer<typeof authSection>;
