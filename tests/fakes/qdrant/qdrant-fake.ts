// A faithful local double of Qdrant's REST API (the endpoints @qdrant/js-client-rest uses for knowledge),
// with Qdrant's envelopes and errors; request bodies are validated against Qdrant's OpenAPI file when given.
import { INVALID_JSON, LoopbackServer, type LoggedRequest, type Reply } from '../loopback.js';
import { OpenApiCheck, formatIssue, type OpenApiIssue } from '../openapi.js';

type Payload = Record<string, unknown>;
interface Point {
  id: string | number;
  vector: Record<string, number[]>;
  payload: Payload;
  version: number;
}
interface Collection {
  vectors: Record<string, { size: number; distance: string }>;
  /** True when created with an unnamed vector ({"size", "distance"}). */
  unnamed: boolean;
  points: Map<string, Point>;
  indexes: Record<string, unknown>;
}

export interface QdrantFakeOptions {
  /** Path to Qdrant's OpenAPI JSON; when the file exists every request body is validated against it. */
  openapiPath?: string;
  /** Require this api-key header. */
  apiKey?: string;
}

/** Fault targets: one name per operation the double serves. */
export type QdrantTarget = 'version' | 'list' | 'exists' | 'collection' | 'index' | 'upsert' | 'scroll' | 'query' | 'delete';

const ROUTES: Array<{ method: string; template: string; target: QdrantTarget; re: RegExp }> = (
  [
    ['GET', '/', 'version'],
    ['GET', '/collections', 'list'],
    ['GET', '/collections/{collection_name}/exists', 'exists'],
    ['GET', '/collections/{collection_name}', 'collection'],
    ['PUT', '/collections/{collection_name}', 'collection'],
    ['DELETE', '/collections/{collection_name}', 'collection'],
    ['PUT', '/collections/{collection_name}/index', 'index'],
    ['PUT', '/collections/{collection_name}/points', 'upsert'],
    ['POST', '/collections/{collection_name}/points/scroll', 'scroll'],
    ['POST', '/collections/{collection_name}/points/query', 'query'],
    ['POST', '/collections/{collection_name}/points/delete', 'delete'],
  ] as const
).map(([method, template, target]) => ({ method, template, target, re: new RegExp(`^${template.replace('{collection_name}', '([^/]+)')}$`) }));

const routeOf = (method: string, pathname: string): (typeof ROUTES)[number] | undefined => ROUTES.find((r) => r.method === method && r.re.test(pathname));

/**
 * Qdrant's answer to a body its schema refuses. Its REST layer (actix with serde and validator)
 * answers a body that does not deserialize with 400 "Format error in JSON body: ..." (serde stops at
 * the first problem) and one that deserializes but breaks a bound with 422 "Validation error in
 * JSON body: [...]".
 */
export function qdrantSpecError(issues: OpenApiIssue[]): { status: 400 | 422; error: string } {
  const shape = issues.find((i) => i.kind === 'shape');
  if (shape) return { status: 400, error: `Format error in JSON body: ${formatIssue(shape)}` };
  return { status: 422, error: `Validation error in JSON body: [${issues.map(formatIssue).join(', ')}]` };
}

function getPath(obj: unknown, key: string): unknown[] {
  // Qdrant keys are dotted paths; arrays along the way fan out.
  let cur: unknown[] = [obj];
  for (const part of key.split('.')) {
    const next: unknown[] = [];
    for (const c of cur) {
      if (c && typeof c === 'object' && !Array.isArray(c)) {
        const v = (c as Record<string, unknown>)[part];
        if (Array.isArray(v)) next.push(...v);
        else if (v !== undefined) next.push(v);
      }
    }
    cur = next;
  }
  return cur;
}

type Condition = { key?: string; match?: { value?: unknown; any?: unknown[]; except?: unknown[] }; range?: Record<string, number>; has_id?: Array<string | number>; must?: unknown; should?: unknown; must_not?: unknown };

function matchCondition(p: Point, c: Condition): boolean {
  if (c.must || c.should || c.must_not) return matchFilter(p, c as Filter);
  if (c.has_id) return c.has_id.map(String).includes(String(p.id));
  if (!c.key) return false;
  const values = getPath(p.payload, c.key);
  if (c.match) {
    if ('value' in c.match) return values.includes(c.match.value);
    if (c.match.any) return values.some((v) => c.match!.any!.includes(v));
    if (c.match.except) return !values.some((v) => c.match!.except!.includes(v));
  }
  if (c.range) {
    return values.some((v) => typeof v === 'number' && (c.range!.gt === undefined || v > c.range!.gt) && (c.range!.gte === undefined || v >= c.range!.gte) && (c.range!.lt === undefined || v < c.range!.lt) && (c.range!.lte === undefined || v <= c.range!.lte));
  }
  return false;
}
type Filter = { must?: Condition | Condition[]; should?: Condition | Condition[]; must_not?: Condition | Condition[] };
const arr = <T>(x: T | T[] | undefined | null): T[] => (x === undefined || x === null ? [] : Array.isArray(x) ? x : [x]);

function matchFilter(p: Point, f: Filter | undefined | null): boolean {
  if (!f) return true;
  const must = arr(f.must);
  const should = arr(f.should);
  const mustNot = arr(f.must_not);
  return must.every((c) => matchCondition(p, c)) && (should.length === 0 || should.some((c) => matchCondition(p, c))) && !mustNot.some((c) => matchCondition(p, c));
}

function cosineSim(a: number[], b: number[]): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? d / Math.sqrt(na * nb) : 0;
}

function selectPayload(payload: Payload, withPayload: unknown): Payload | undefined {
  if (withPayload === false || withPayload === undefined) return undefined;
  if (withPayload === true) return payload;
  const include = Array.isArray(withPayload) ? (withPayload as string[]) : ((withPayload as { include?: string[] }).include ?? undefined);
  if (!include) return payload;
  return Object.fromEntries(Object.entries(payload).filter(([k]) => include.includes(k)));
}

export class QdrantFake extends LoopbackServer<QdrantTarget> {
  /** Whether requests are being validated against the OpenAPI file. */
  readonly validating: boolean;
  /** Every request answered (method, path, status; the schema's complaints when it refused the body). */
  readonly log: Array<{ method: string; path: string; status: number; errors?: string[] }> = [];
  readonly collections = new Map<string, Collection>();
  private readonly check: OpenApiCheck | undefined;
  private version = 0;
  private readonly started = process.hrtime.bigint();

  constructor(private readonly options: QdrantFakeOptions = {}) {
    // The JS client always sends JSON; parse it whatever the content type says, as Qdrant does.
    super({ alwaysJson: true });
    this.check = OpenApiCheck.load(options.openapiPath);
    for (const r of ROUTES) this.check?.prepare(r.method, r.template);
    this.validating = this.check !== undefined;
  }

  private time(): number {
    return (Number(process.hrtime.bigint() - this.started) / 1e9) % 0.01;
  }

  private ok(result: unknown): Reply {
    return { status: 200, body: { result, status: 'ok', time: this.time() } };
  }

  private fail(status: number, error: string): Reply {
    return { status, body: { status: { error }, time: this.time() } };
  }

  protected override errorReply(status: number, message?: string): Reply {
    const fallback = status === 429 ? 'Rate limiting exceeded: Write rate limit exceeded, retry later' : status === 413 ? 'JSON payload is larger than allowed' : `Service internal error: HTTP ${status}`;
    return this.fail(status, message ?? fallback);
  }

  protected override targetOf(req: LoggedRequest, url: URL): QdrantTarget | undefined {
    return routeOf(req.method, url.pathname)?.target;
  }

  protected override handle(req: LoggedRequest, url: URL): Reply {
    const entry: QdrantFake['log'][number] = { method: req.method, path: url.pathname, status: 0 };
    const reply = this.answer(req, url, entry);
    entry.status = reply.status;
    this.log.push(entry);
    return reply;
  }

  private answer(req: LoggedRequest, url: URL, entry: { errors?: string[] }): Reply {
    if (this.options.apiKey && req.headers['api-key'] !== this.options.apiKey) return this.fail(401, 'Must provide an API key or an Authorization bearer token');
    const route = routeOf(req.method, url.pathname);
    if (!route) return this.fail(404, `Not found: ${req.method} ${url.pathname}`);
    // The version document, not the usual envelope (the client's compatibility check reads it).
    if (route.target === 'version') return { status: 200, body: { title: 'qdrant - vector search engine', version: '1.18.0', commit: '0000000000000000000000000000000000000000' } };
    const name = decodeURIComponent(route.re.exec(url.pathname)?.[1] ?? '');
    if (req.body === INVALID_JSON) {
      try {
        JSON.parse(req.raw);
      } catch (err) {
        return this.fail(400, `Format error in JSON body: ${(err as Error).message}`);
      }
    }
    const body = (req.raw ? req.body : {}) as Record<string, unknown>;
    const issues = this.check?.validate(route.method, route.template, body) ?? [];
    if (issues.length) {
      entry.errors = issues.map(formatIssue);
      const { status, error } = qdrantSpecError(issues);
      return this.fail(status, error);
    }
    return this.operate(route.template, req.method, name, body, url);
  }

  private operate(template: string, method: string, name: string, body: Record<string, unknown>, url: URL): Reply {
    const col = name ? this.collections.get(name) : undefined;
    const missing = (): Reply => this.fail(404, `Not found: Collection \`${name}\` doesn't exist!`);
    switch (template) {
      case '/collections':
        return this.ok({ collections: [...this.collections.keys()].map((n) => ({ name: n })) });
      case '/collections/{collection_name}/exists':
        return this.ok({ exists: this.collections.has(name) });
      case '/collections/{collection_name}': {
        if (method === 'GET') {
          if (!col) return missing();
          const vectors = col.unnamed ? col.vectors[''] : col.vectors;
          return this.ok({
            status: 'green',
            optimizer_status: 'ok',
            segments_count: 1,
            points_count: col.points.size,
            indexed_vectors_count: 0,
            config: {
              params: { vectors, shard_number: 1, replication_factor: 1, write_consistency_factor: 1, on_disk_payload: true },
              hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
              optimizer_config: { deleted_threshold: 0.2, vacuum_min_vector_number: 1000, default_segment_number: 0, flush_interval_sec: 5 },
              wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
            },
            payload_schema: col.indexes,
          });
        }
        if (method === 'DELETE') return this.ok(this.collections.delete(name));
        if (col) return this.fail(409, `Wrong input: Collection \`${name}\` already exists!`);
        const v = body.vectors as Record<string, unknown> | undefined;
        if (!v) return this.fail(400, 'Wrong input: vectors config is required');
        const unnamed = typeof v.size === 'number';
        const vectorsCfg = (unnamed ? { '': v } : v) as Collection['vectors'];
        this.collections.set(name, { vectors: vectorsCfg, unnamed, points: new Map(), indexes: {} });
        return this.ok(true);
      }
      case '/collections/{collection_name}/index': {
        if (!col) return missing();
        col.indexes[String(body.field_name)] = { data_type: body.field_schema, points: col.points.size };
        return this.ok({ operation_id: ++this.version, status: 'completed' });
      }
      case '/collections/{collection_name}/points':
        return col ? this.upsert(col, body, url) : missing();
      case '/collections/{collection_name}/points/scroll': {
        if (!col) return missing();
        const limit = typeof body.limit === 'number' ? body.limit : 10;
        const all = [...col.points.values()].filter((p) => matchFilter(p, body.filter as Filter)).sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1));
        const start = body.offset !== undefined && body.offset !== null ? all.findIndex((p) => String(p.id) >= String(body.offset)) : 0;
        const page = start < 0 ? [] : all.slice(start, start + limit);
        const next = start >= 0 ? all[start + limit] : undefined;
        return this.ok({ points: page.map((p) => ({ id: p.id, payload: selectPayload(p.payload, body.with_payload ?? true) })), next_page_offset: next ? next.id : null });
      }
      case '/collections/{collection_name}/points/query':
        return col ? this.query(col, body) : missing();
      case '/collections/{collection_name}/points/delete': {
        if (!col) return missing();
        if (Array.isArray(body.points)) for (const id of body.points) col.points.delete(String(id));
        else if (body.filter) for (const [id, p] of col.points) if (matchFilter(p, body.filter as Filter)) col.points.delete(id);
        return this.ok({ operation_id: ++this.version, status: 'completed' });
      }
      default:
        return missing();
    }
  }

  private upsert(col: Collection, body: Record<string, unknown>, url: URL): Reply {
    const points = (body.points ?? []) as Array<{ id: string | number; vector: number[] | Record<string, number[]>; payload?: Payload }>;
    for (const p of points) {
      const vec = Array.isArray(p.vector) ? { '': p.vector } : p.vector;
      for (const [vn, values] of Object.entries(vec)) {
        const cfg = col.vectors[vn];
        if (!cfg) return this.fail(400, `Wrong input: Not existing vector name error: ${vn}`);
        if (values.length !== cfg.size) return this.fail(400, `Wrong input: Vector dimension error: expected dim: ${cfg.size}, got ${values.length}`);
      }
    }
    for (const p of points) col.points.set(String(p.id), { id: p.id, vector: Array.isArray(p.vector) ? { '': p.vector } : p.vector, payload: p.payload ?? {}, version: ++this.version });
    return this.ok({ operation_id: this.version, status: url.searchParams.get('wait') === 'true' ? 'completed' : 'acknowledged' });
  }

  private query(col: Collection, body: Record<string, unknown>): Reply {
    const using = typeof body.using === 'string' ? body.using : '';
    const cfg = col.vectors[using];
    if (!cfg) return this.fail(400, `Wrong input: Not existing vector name error: ${using}`);
    const q = body.query as number[] | undefined;
    if (!Array.isArray(q)) return this.fail(400, 'Wrong input: the fake supports nearest queries with a dense vector only');
    if (q.length !== cfg.size) return this.fail(400, `Wrong input: Vector dimension error: expected dim: ${cfg.size}, got ${q.length}`);
    const limit = typeof body.limit === 'number' ? body.limit : 10;
    const threshold = typeof body.score_threshold === 'number' ? body.score_threshold : undefined;
    const scored = [...col.points.values()]
      .filter((p) => matchFilter(p, body.filter as Filter) && p.vector[using])
      .map((p) => ({ p, score: cosineSim(q, p.vector[using]!) }))
      .filter((x) => threshold === undefined || x.score >= threshold)
      .sort((a, b) => b.score - a.score)
      .slice(typeof body.offset === 'number' ? body.offset : 0)
      .slice(0, limit);
    return this.ok({ points: scored.map(({ p, score }) => ({ id: p.id, version: p.version, score, payload: selectPayload(p.payload, body.with_payload) ?? null })) });
  }
}

export async function startQdrantFake(options: QdrantFakeOptions = {}): Promise<QdrantFake> {
  const fake = new QdrantFake(options);
  await fake.start();
  return fake;
}
