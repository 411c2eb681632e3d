// A small OpenAPI 3.0 schema validator (the subset Qdrant's spec uses) for the Qdrant double.
type Schema = Record<string, unknown>;

export interface OpenApiDoc {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: Schema }> } }>>;
  components: { schemas: Record<string, Schema> };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class OpenApiValidator {
  constructor(private readonly doc: OpenApiDoc) {}

  private resolve(s: Schema): Schema {
    let cur = s;
    // Bounded: a $ref chain is at most a few links long.
    for (let i = 0; i < 20 && typeof cur.$ref === 'string'; i++) {
      const name = (cur.$ref as string).replace('#/components/schemas/', '');
      const next = this.doc.components.schemas[name];
      if (!next) throw new Error(`unknown $ref ${String(cur.$ref)}`);
      cur = next;
    }
    return cur;
  }

  /** Schema of a request body for an OpenAPI path template and method, if the spec defines one. */
  requestSchema(pathTemplate: string, method: string): Schema | undefined {
    return this.doc.paths[pathTemplate]?.[method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema;
  }

  hasOperation(pathTemplate: string, method: string): boolean {
    return this.doc.paths[pathTemplate]?.[method.toLowerCase()] !== undefined;
  }

  /** Errors (empty when valid). */
  validate(schema: Schema, value: unknown, at = '$', depth = 0): string[] {
    if (depth > 64) return [];
    const s = this.resolve(schema);
    const keys = Object.keys(s).filter((k) => !['description', 'example', 'default', 'deprecated', 'title', 'format', 'readOnly', 'writeOnly'].includes(k));
    if (value === null) {
      if (s.nullable === true) return [];
      if (s.anyOf || s.oneOf || s.allOf) {
        // fall through: a branch may allow null
      } else return [`${at}: null is not allowed`];
    }
    if (keys.length === 1 && keys[0] === 'nullable') return value === null ? [] : [`${at}: only null is allowed here`];
    const errors: string[] = [];
    for (const k of ['anyOf', 'oneOf'] as const) {
      const branches = s[k] as Schema[] | undefined;
      if (branches) {
        const results = branches.map((b) => this.validate(b, value, at, depth + 1));
        if (!results.some((r) => r.length === 0)) errors.push(`${at}: matches none of ${k} (${results.map((r) => r[0]).join(' | ')})`);
      }
    }
    if (s.allOf) for (const b of s.allOf as Schema[]) errors.push(...this.validate(b, value, at, depth + 1));
    if (s.enum && !(s.enum as unknown[]).includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
    const type = s.type as string | undefined;
    if (type && value !== null) {
      const ok =
        type === 'object' ? typeof value === 'object' && !Array.isArray(value) :
        type === 'array' ? Array.isArray(value) :
        type === 'integer' ? Number.isInteger(value) :
        type === 'number' ? typeof value === 'number' :
        type === 'string' ? typeof value === 'string' :
        type === 'boolean' ? typeof value === 'boolean' : true;
      if (!ok) return [...errors, `${at}: expected ${type}, got ${Array.isArray(value) ? 'array' : typeof value}`];
    }
    if (typeof value === 'number') {
      if (typeof s.minimum === 'number' && value < s.minimum) errors.push(`${at}: below minimum ${s.minimum}`);
      if (typeof s.maximum === 'number' && value > s.maximum) errors.push(`${at}: above maximum ${s.maximum}`);
    }
    if (typeof value === 'string' && s.format === 'uuid' && !UUID.test(value)) errors.push(`${at}: not a uuid`);
    if (Array.isArray(value) && s.items) value.forEach((v, i) => errors.push(...this.validate(s.items as Schema, v, `${at}[${i}]`, depth + 1)));
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && (s.properties || s.required || s.additionalProperties !== undefined)) {
      const obj = value as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const r of (s.required ?? []) as string[]) if (!(r in obj)) errors.push(`${at}: missing required ${r}`);
      for (const [k, v] of Object.entries(obj)) {
        if (props[k]) errors.push(...this.validate(props[k], v, `${at}.${k}`, depth + 1));
        else if (s.additionalProperties === false) errors.push(`${at}: unknown property ${k}`);
        else if (typeof s.additionalProperties === 'object') errors.push(...this.validate(s.additionalProperties as Schema, v, `${at}.${k}`, depth + 1));
      }
    }
    return errors;
  }
}
