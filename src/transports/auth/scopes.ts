// Scopes -> tools: which tools a principal may list and call, computed from each tool's toolset
// and readOnlyHint against the configured scope map.
import type { AuthConfig, ScopeGrant } from '../../config/sections/auth.js';
import type { Principal } from '../../auth/principal.js';
import type { AnyTool } from '../../tools/define-tool.js';

type ScopeMap = Pick<AuthConfig, 'scopes'>;

/** Own keys only: a scope named like an Object.prototype member must not resolve to it. */
function grantOf(config: ScopeMap, scope: string): ScopeGrant | undefined {
  return Object.hasOwn(config.scopes, scope) ? config.scopes[scope] : undefined;
}

function grants(grant: ScopeGrant, tool: AnyTool): boolean {
  return grant.toolsets.includes(tool.toolset) && (!grant.read_only || tool.annotations.readOnlyHint);
}

/** The tools `principal` may see and call; all of them for an unauthenticated transport (null). */
export function visibleToolsFor(principal: Principal | null, tools: readonly AnyTool[], config: ScopeMap): AnyTool[] {
  if (principal === null) return [...tools];
  const held = principal.scopes.map((s) => grantOf(config, s)).filter((g): g is ScopeGrant => g !== undefined);
  return tools.filter((t) => held.some((g) => grants(g, t)));
}

/** Scopes that grant at least one toolset: a token needs one of these to be let in. */
export function toolScopes(config: ScopeMap): string[] {
  return Object.entries(config.scopes)
    .filter(([, g]) => g.toolsets.length > 0)
    .map(([s]) => s);
}

/** True when the scopes include one that grants tools. */
export function hasToolScope(scopes: readonly string[], config: ScopeMap): boolean {
  return scopes.some((s) => (grantOf(config, s)?.toolsets.length ?? 0) > 0);
}

/**
 * visibleToolsFor, memoised per tool list and scope set: the server caches tool listings by array
 * identity, so returning the same array for the same scopes keeps tools/list cheap.
 */
export function scopeFilter(config: ScopeMap): (principal: Principal | null, tools: readonly AnyTool[]) => readonly AnyTool[] {
  const cache = new WeakMap<readonly AnyTool[], Map<string, readonly AnyTool[]>>();
  return (principal, tools) => {
    if (principal === null) return tools;
    let byScopes = cache.get(tools);
    if (!byScopes) {
      byScopes = new Map();
      cache.set(tools, byScopes);
    }
    const key = [...new Set(principal.scopes)].filter((s) => grantOf(config, s) !== undefined).sort().join(' ');
    let visible = byScopes.get(key);
    if (!visible) {
      visible = visibleToolsFor(principal, tools, config);
      byScopes.set(key, visible);
    }
    return visible;
  };
}
