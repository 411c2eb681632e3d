// A small JSON-Schema checker for OpenAPI request bodies ($ref, allOf, type, properties, required,
// additionalProperties, items, enum): enough to hold the Jira fake to Atlassian's published contract.

type Schema = Record<string, unknown>;

export class OpenApiChecker {
  constructor(private readonly spec: { paths: Record<string, Record<string, unknown>>; components?: { schemas?: Record<string, Schema> } }) {}

  /** The JSON request-body schema of an operation, or undefined when the spec has none. */
  requestSchema(path: string, method: string): Schema | undefined {
    const op = this.spec.paths[path]?.[method.toLowerCase()] as { requestBody?: { content?: Record<string, { schema?: Schema }> } } | undefined;
    return op?.requestBody?.content?.['application/json']?.schema;
  }

  check(schema: Schema, value: unknown, at = '$'): string[] {
    const s = this.resolve(schema);
    const errors: string[] = [];
    if (Array.isArray(s.allOf)) for (const sub of s.allOf as Schema[]) errors.push(...this.check(sub, value, at));
    if (Array.isArray(s.enum) && !s.enum.includes(value)) errors.push(`${at}: must be one of ${JSON.stringify(s.enum)}`);
    const type = s.type as string | undefined;
    if (type && !typeMatches(type, value)) return [...errors, `${at}: must be ${type}`];
    if (type === 'object' || s.properties) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return errors;
      const obj = value as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const r of (s.required as string[] | undefined) ?? []) if (!(r in obj)) errors.push(`${at}.${r}: required`);
      for (const [k, v] of Object.entries(obj)) {
        if (props[k]) errors.push(...this.check(props[k], v, `${at}.${k}`));
        else if (s.additionalProperties === false) errors.push(`${at}.${k}: not allowed`);
        else if (typeof s.additionalProperties === 'object' && s.additionalProperties !== null) errors.push(...this.check(s.additionalProperties as Schema, v, `${at}.${k}`));
      }
    }
    if (type === 'array' && Array.isArray(value) && s.items) value.forEach((v, i) => errors.push(...this.check(s.items as Schema, v, `${at}[${i}]`)));
    return errors;
  }

  private resolve(s: Schema): Schema {
    let cur = s;
    for (let i = 0; i < 20 && typeof cur.$ref === 'string'; i++) {
      const name = (cur.$ref as string).replace('#/components/schemas/', '');
      const next = this.spec.components?.schemas?.[name];
      if (!next) throw new Error(`unresolved $ref ${String(cur.$ref)}`);
      cur = next;
    }
    return cur;
  }
}

function typeMatches(type: string, v: unknown): boolean {
  switch (type) {
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}
