// The one OpenAPI check of the doubles, on ajv: load an OpenAPI 3.0/3.1 document, compile the
// request-body schema of (method, path template) and tell what is wrong with a body, readably.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown>; requestBodies?: Record<string, unknown> };
}

export interface OpenApiIssue {
  /** Where in the body, as `points[0].vector` ('' for the body itself). */
  path: string;
  /** The JSON-Schema keyword that failed (`type`, `required`, `anyOf`, `minimum`, ...). */
  keyword: string;
  /** `shape`: the body cannot be read as the type at all (wrong type, missing or unknown property,
   *  no variant matches); `constraint`: it can, but a value is out of bounds (length, range, pattern). */
  kind: 'shape' | 'constraint';
  message: string;
}

/** The specs live in ../shared/reference/specs, read at run time and never copied into the project. */
export function sharedSpecPath(file: string): string {
  return resolve(process.cwd(), '..', 'shared', 'reference', 'specs', file);
}

/** The line a test prints when a spec is absent and the OpenAPI check is skipped. */
export function specAbsentMessage(who: string, path: string): string {
  return `[${who}] ${path} not found: OpenAPI request validation skipped (the double checks bodies by its own rules only)\n`;
}

const DOC_ID = 'https://openapi.invalid/components.json';
/** OpenAPI keywords with no validation meaning; `x-*` extensions are dropped the same way. */
const ANNOTATIONS = new Set(['example', 'xml', 'externalDocs', 'discriminator']);
const METADATA = new Set(['description', 'title', 'default', 'deprecated', 'readOnly', 'writeOnly', 'examples', 'example', 'xml', 'externalDocs']);
/** Keywords whose failure means the value is of the right type but out of bounds. */
const CONSTRAINTS = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties']);
/** Integer formats OpenAPI generators emit (Rust's schemars: uint, uint8, ...) that ajv-formats lacks. */
const INTEGER_FORMATS: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32_768, 32_767],
  uint: [0, Number.MAX_VALUE],
  uint8: [0, 255],
  uint16: [0, 65_535],
  uint32: [0, 4_294_967_295],
  uint64: [0, Number.MAX_VALUE],
};

const checks = new Map<string, OpenApiCheck>();

export class OpenApiCheck {
  readonly version: '3.0' | '3.1';
  /** Formats neither ajv-formats nor this module knows: accepted unchecked (e.g. Qdrant's partial-date-time). */
  readonly ignoredFormats: string[] = [];
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction | undefined>();

  /** The check of a spec file, or undefined when the file is absent (callers then skip the check). */
  static load(path: string | undefined): OpenApiCheck | undefined {
    if (!path || !existsSync(path)) return undefined;
    let check = checks.get(path);
    if (!check) {
      check = new OpenApiCheck(JSON.parse(readFileSync(path, 'utf8')) as OpenApiDocument);
      checks.set(path, check);
    }
    return check;
  }

  constructor(private readonly doc: OpenApiDocument) {
    const m = /^3\.(\d+)\./.exec(String(doc.openapi ?? ''));
    if (!m) throw new Error(`not an OpenAPI 3 document (openapi: ${JSON.stringify(doc.openapi)})`);
    this.version = Number(m[1]) >= 1 ? '3.1' : '3.0';
    // 3.1 schemas are JSON Schema 2020-12; 3.0 schemas are a draft-04/05 dialect, converted below
    // to draft-07, which ajv's default class speaks.
    const options = { allErrors: true, verbose: true, strictSchema: true, strictTypes: false, strictTuples: false, strictRequired: false } as const;
    this.ajv = this.version === '3.1' ? new Ajv2020(options) : new Ajv(options);
    formatsPlugin.default(this.ajv);
    for (const [name, [min, max]] of Object.entries(INTEGER_FORMATS)) {
      this.ajv.addFormat(name, { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= min && n <= max });
    }
    const schemas = Object.fromEntries(Object.entries(doc.components?.schemas ?? {}).map(([k, v]) => [k, this.convert(v)]));
    for (const f of collectFormats(schemas)) {
      if (!this.ajv.formats[f]) {
        this.ajv.addFormat(f, true);
        this.ignoredFormats.push(f);
      }
    }
    this.ajv.addSchema({ $id: DOC_ID, [this.defsKeyword]: schemas });
  }

  private get defsKeyword(): string {
    return this.version === '3.1' ? '$defs' : 'definitions';
  }

  hasOperation(method: string, template: string): boolean {
    return this.operation(method, template) !== undefined;
  }

  /** The JSON request-body schema of an operation (refs to components left as refs), or undefined. */
  requestSchema(method: string, template: string): unknown {
    let body = (this.operation(method, template) as { requestBody?: Json } | undefined)?.requestBody;
    const ref = body?.$ref;
    if (typeof ref === 'string') {
      const name = /^#\/components\/requestBodies\/(.+)$/.exec(ref)?.[1];
      body = name ? (this.doc.components?.requestBodies?.[decodePointer(name)] as Json | undefined) : undefined;
      if (!body) throw new Error(`unresolved request body ${ref}`);
    }
    const content = (body?.content ?? {}) as Record<string, { schema?: unknown }>;
    const type = 'application/json' in content ? 'application/json' : (Object.keys(content).find((t) => t.includes('json')) ?? '*/*');
    return content[type]?.schema;
  }

  /** What is wrong with `body` as the request body of (method, template); [] when nothing is or the operation takes no JSON body. */
  validate(method: string, template: string, body: unknown): OpenApiIssue[] {
    const validator = this.prepare(method, template).validator(method, template);
    if (!validator || validator(body)) return [];
    return issues(validator.errors ?? []);
  }

  /** Compiles the operation's body schema now, so the first request is not the one that pays for it. */
  prepare(method: string, template: string): this {
    if (!this.hasOperation(method, template)) throw new Error(`${method.toUpperCase()} ${template} is not in the OpenAPI document`);
    this.validator(method, template);
    return this;
  }

  private operation(method: string, template: string): unknown {
    return this.doc.paths?.[template]?.[method.toLowerCase()];
  }

  private validator(method: string, template: string): ValidateFunction | undefined {
    const key = `${method.toLowerCase()} ${template}`;
    if (!this.compiled.has(key)) {
      const schema = this.requestSchema(method, template);
      this.compiled.set(key, schema === undefined ? undefined : this.ajv.compile(this.convert(schema) as AnySchemaObject));
    }
    return this.compiled.get(key);
  }

  /** One schema in the ajv dialect: component refs made absolute, annotations dropped, 3.0 quirks translated. */
  private convert(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map((s) => this.convert(s));
    if (typeof schema !== 'object' || schema === null) return schema;
    const out: Json = {};
    for (const [k, v] of Object.entries(schema as Json)) {
      if (k.startsWith('x-') || ANNOTATIONS.has(k)) continue;
      if (k === '$ref') out.$ref = this.ref(v);
      else if (k === 'properties' || k === 'patternProperties' || k === '$defs' || k === 'definitions') {
        out[k] = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, this.convert(s)]));
      } else if (k === 'enum' || k === 'const' || k === 'default' || k === 'examples' || k === 'required') out[k] = v;
      else out[k] = this.convert(v);
    }
    // 3.1 dropped both quirks, but documents converted from 3.0 often still carry `nullable`.
    return from30(out);
  }

  private ref(ref: unknown): string {
    const m = typeof ref === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(ref) : null;
    if (!m) throw new Error(`unsupported $ref ${JSON.stringify(ref)}: only #/components/schemas/... is resolved`);
    return `${DOC_ID}#/${this.defsKeyword}/${m[1]}`;
  }
}

/** OpenAPI 3.0 -> JSON Schema: `nullable` and boolean exclusive bounds. */
function from30(s: Json): Json {
  for (const [bound, limit] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    // 3.0 (draft-04): exclusiveMinimum is a flag on minimum; draft-06+: it is the bound itself.
    if (typeof s[bound] === 'boolean') {
      if (s[bound] === true && typeof s[limit] === 'number') s[bound] = s[limit];
      else delete s[bound];
      if (typeof s[bound] === 'number') delete s[limit];
    }
  }
  if (s.nullable === undefined) return s;
  const nullable = s.nullable === true;
  delete s.nullable;
  if (!nullable) return s;
  if (typeof s.type === 'string') {
    s.type = [s.type, 'null'];
    if (Array.isArray(s.enum) && !s.enum.includes(null)) s.enum = [...(s.enum as unknown[]), null];
    return s;
  }
  // `{"nullable": true}` alone is how generators (Rust's schemars, for Option<T>) write "null" as one
  // branch of an anyOf; read literally it would be the empty schema and let anything through.
  if (Object.keys(s).every((k) => METADATA.has(k))) return { ...s, type: 'null' };
  // nullable beside a $ref or a combinator: null, or what the rest says.
  const meta = Object.fromEntries(Object.entries(s).filter(([k]) => METADATA.has(k)));
  const rest = Object.fromEntries(Object.entries(s).filter(([k]) => !METADATA.has(k)));
  return { ...meta, anyOf: [{ type: 'null' }, rest] };
}

function collectFormats(x: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(x)) for (const v of x) collectFormats(v, out);
  else if (typeof x === 'object' && x !== null) {
    const o = x as Json;
    if (typeof o.format === 'string') out.add(o.format);
    for (const [k, v] of Object.entries(o)) if (k !== 'enum' && k !== 'const' && k !== 'default') collectFormats(v, out);
  }
  return out;
}

function decodePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** `/points/0/vector` -> `points[0].vector`. */
export function displayPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map(decodePointer)
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

const within = (path: string, root: string): boolean => path === root || path.startsWith(`${root}/`);

interface Node {
  error: ErrorObject;
  /** For a failed anyOf/oneOf: the errors of its branches. */
  branches: Node[];
}

/**
 * ajv reports a failed anyOf as its branches' errors followed by the anyOf error. Nest them back
 * (walking from the end: the branch errors are the run of errors at or under the anyOf's path just
 * before it), so one failed alternative reads as one issue with its closest branch as the reason.
 */
function nest(errors: ErrorObject[]): Node[] {
  const out: Node[] = [];
  let i = errors.length - 1;
  while (i >= 0) {
    const e = errors[i]!;
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      let j = i - 1;
      while (j >= 0 && within(errors[j]!.instancePath, e.instancePath)) j--;
      out.unshift({ error: e, branches: nest(errors.slice(j + 1, i)) });
      i = j;
    } else {
      out.unshift({ error: e, branches: [] });
      i--;
    }
  }
  return out;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function leaf(e: ErrorObject): OpenApiIssue {
  const p = e.params as Record<string, unknown>;
  let path = e.instancePath;
  let message = e.message ?? e.keyword;
  let kind: OpenApiIssue['kind'] = CONSTRAINTS.has(e.keyword) ? 'constraint' : 'shape';
  switch (e.keyword) {
    case 'required':
      path += `/${String(p.missingProperty)}`;
      message = 'is required';
      break;
    case 'additionalProperties':
      path += `/${String(p.additionalProperty)}`;
      message = 'is not a known property';
      break;
    case 'type':
      message = `must be ${Array.isArray(p.type) ? p.type.join(' or ') : String(p.type)}, not ${jsonType(e.data)}`;
      break;
    case 'enum':
      message = `must be one of ${JSON.stringify(p.allowedValues)}, not ${JSON.stringify(e.data)}`;
      break;
    case 'const':
      message = `must be ${JSON.stringify(p.allowedValue)}`;
      break;
    case 'format':
      message = `must match format ${String(p.format)}, not ${JSON.stringify(e.data)}`;
      break;
    case 'minimum':
      // Below 0 for an unsigned format: the number cannot even be read as that type.
      if (typeof (e.parentSchema as Json | undefined)?.format === 'string' && /^uint/.test((e.parentSchema as Json).format as string) && p.limit === 0) kind = 'shape';
      message = `must be ${String(p.comparison)} ${String(p.limit)}, not ${JSON.stringify(e.data)}`;
      break;
    default:
      if (CONSTRAINTS.has(e.keyword)) message = `${message}, not ${JSON.stringify(e.data)}`;
  }
  return { path: displayPath(path), keyword: e.keyword, kind, message };
}

const depth = (i: OpenApiIssue): number => (i.path ? i.path.split(/[.[]/).length : 0);

/** The most specific failure under a node: for an alternative, that of the branch that got deepest into the value. */
function closestLeaf(node: Node): OpenApiIssue {
  if (node.branches.length === 0) return leaf(node.error);
  return node.branches.map(closestLeaf).reduce((a, b) => (depth(b) > depth(a) ? b : a));
}

function describe(node: Node): OpenApiIssue {
  const e = node.error;
  if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf') return leaf(e);
  const at = displayPath(e.instancePath);
  if (node.branches.length === 0) return { path: at, keyword: e.keyword, kind: 'shape', message: e.message ?? e.keyword };
  const closest = closestLeaf(node);
  const where = closest.path !== at ? `${closest.path || 'body'}: ` : '';
  return { path: at, keyword: e.keyword, kind: 'shape', message: `matches none of the allowed shapes (closest: ${where}${closest.message})` };
}

function issues(errors: ErrorObject[]): OpenApiIssue[] {
  const seen = new Set<string>();
  return nest(errors)
    .map(describe)
    .filter((i) => {
      const k = `${i.path}|${i.message}`;
      return seen.has(k) ? false : (seen.add(k), true);
    });
}

/** `points[0].vector: must be array, not string` (`body` for the body itself). */
export function formatIssue(i: OpenApiIssue): string {
  return `${i.path || 'body'}: ${i.message}`;
}
