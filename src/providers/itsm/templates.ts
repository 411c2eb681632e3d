// Ticket templates: `{variable}` placeholders in any string of a platform's fields, at any depth.
import { ShieldError } from '../../errors.js';
import type { TemplateConfig } from '../../config/schema.js';

export const PLATFORMS = ['servicenow', 'jira', 'local'] as const;
export type Platform = (typeof PLATFORMS)[number];

export type VariableValue = string | number | boolean;

/** `{name}` is a placeholder; `{{` and `}}` are literal braces. */
const TOKEN = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export interface RenderOutcome {
  template: string;
  platform: Platform;
  fields: Record<string, unknown>;
  /** Placeholders with neither a value nor a default (required ones make rendering fail). */
  missing: string[];
  /** Variables given that no placeholder of this platform uses. */
  unused: string[];
}

function collectPlaceholders(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    for (const m of value.matchAll(TOKEN)) if (m[1]) into.add(m[1]);
  } else if (Array.isArray(value)) {
    for (const v of value) collectPlaceholders(v, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) collectPlaceholders(v, into);
  }
}

type Renderer = (values: Map<string, string>) => unknown;

/**
 * Compile a field tree once into a function of the variable values: strings become lists of
 * literal parts and placeholder names, so rendering is a join rather than a regex walk each call.
 */
function compile(value: unknown): Renderer {
  if (typeof value === 'string') {
    const parts: Array<string | { name: string }> = [];
    let last = 0;
    for (const m of value.matchAll(TOKEN)) {
      parts.push(value.slice(last, m.index));
      parts.push(m[1] ? { name: m[1] } : m[0] === '{{' ? '{' : '}');
      last = m.index + m[0].length;
    }
    if (parts.length === 0) return () => value;
    parts.push(value.slice(last));
    return (values) => {
      let out = '';
      for (const p of parts) out += typeof p === 'string' ? p : (values.get(p.name) ?? '');
      return out;
    };
  }
  if (Array.isArray(value)) {
    const items = value.map(compile);
    return (values) => items.map((f) => f(values));
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => [k, compile(v)] as const);
    return (values) => {
      const out: Record<string, unknown> = {};
      for (const [k, f] of entries) out[k] = f(values);
      return out;
    };
  }
  return () => value;
}

interface Compiled {
  placeholders: string[];
  render: Renderer;
}

export interface TemplateSummary {
  name: string;
  description: string;
  platforms: Platform[];
  variables: Array<{ name: string; description: string; required: boolean; default?: string }>;
}

export class TemplateCatalog {
  private readonly templates: Record<string, TemplateConfig>;
  private readonly onRenderError: (template: string) => void;
  private readonly compiled = new Map<string, Compiled>();

  constructor(templates: Record<string, TemplateConfig>, onRenderError: (template: string) => void = () => undefined) {
    this.templates = templates;
    this.onRenderError = onRenderError;
  }

  names(): string[] {
    return Object.keys(this.templates).sort();
  }

  list(): TemplateSummary[] {
    return this.names().map((name) => this.summary(name));
  }

  summary(name: string): TemplateSummary {
    const t = this.require(name);
    const declared = t.variables;
    const used = new Set<string>();
    for (const fields of Object.values(t.platforms)) collectPlaceholders(fields, used);
    const variables = [...new Set([...Object.keys(declared), ...used])].sort().map((v) => {
      const d = declared[v];
      return {
        name: v,
        description: d?.description ?? '',
        required: d ? d.required && d.default === undefined : true,
        ...(d?.default !== undefined ? { default: d.default } : {}),
      };
    });
    return { name, description: t.description, platforms: PLATFORMS.filter((p) => t.platforms[p]), variables };
  }

  render(name: string, platform: Platform, variables: Record<string, VariableValue>): RenderOutcome {
    const t = this.require(name);
    const fields = t.platforms[platform];
    if (!fields) {
      this.onRenderError(name);
      throw new ShieldError('VALIDATION_FAILED', `Template ${name} has no ${platform} variant.`, {
        details: { errors: [{ field: 'platform', code: 'invalid_platform', message: `supported: ${PLATFORMS.filter((p) => t.platforms[p]).join(', ')}` }] },
      });
    }
    const key = `${name}\u0000${platform}`;
    let compiled = this.compiled.get(key);
    if (!compiled) {
      const found = new Set<string>();
      collectPlaceholders(fields, found);
      compiled = { placeholders: [...found].sort(), render: compile(fields) };
      this.compiled.set(key, compiled);
    }
    const placeholders = new Set(compiled.placeholders);
    const values = new Map<string, string>();
    const missing: string[] = [];
    const missingRequired: string[] = [];
    for (const p of compiled.placeholders) {
      const given = variables[p];
      const decl = t.variables[p];
      if (given !== undefined && String(given) !== '') values.set(p, String(given));
      else if (decl?.default !== undefined) values.set(p, decl.default);
      else {
        missing.push(p);
        if (decl?.required ?? true) missingRequired.push(p);
      }
    }
    if (missingRequired.length > 0) {
      this.onRenderError(name);
      throw new ShieldError('VALIDATION_FAILED', `Template ${name} needs variables: ${missingRequired.join(', ')}.`, {
        hint: `Call again with a value for each of: ${missingRequired.join(', ')}.`,
        details: {
          missing: missingRequired,
          errors: missingRequired.map((v) => ({ field: `variables.${v}`, code: 'required_field_missing', message: `variable ${v} is required by template ${name}` })),
        },
      });
    }
    const unused = Object.keys(variables)
      .filter((v) => !placeholders.has(v))
      .sort();
    return { template: name, platform, fields: compiled.render(values) as Record<string, unknown>, missing, unused };
  }

  private require(name: string): TemplateConfig {
    const t = Object.hasOwn(this.templates, name) ? this.templates[name] : undefined;
    if (!t) {
      throw new ShieldError('NOT_FOUND', `No template named ${name}.`, {
        hint: `Use one of: ${this.names().join(', ')} (list_templates describes them).`,
      });
    }
    return t;
  }
}
