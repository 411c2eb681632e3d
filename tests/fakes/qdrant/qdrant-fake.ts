// A faithful local double of Qdrant's REST API (the endpoints @qdrant/js-client-rest uses for knowledge),
// with Qdrant's envelopes and errors; request bodies are validated against Qdrant's OpenAPI file when given.
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, readBody, sendJson, type LocalServer } from '../knowledge-http.js';
import { OpenApiValidator, type OpenApiDoc } from './openapi-validate.js';

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

export interface QdrantFake extends LocalServer {
  /** Whether requests are being validated against the OpenAPI file. */
  validating: boolean;
  /** Every request seen (method, OpenAPI path template, status answered). */
  log: Array<{ method: string; path: string; status: number; errors?: string[] }>;
  collections: Map<string, Collection>;
}

const ROUTES: Array<{ method: string; template: string; re: RegExp }> = [
  ['GET', '/'],
  ['GET', '/collections'],
  ['GET', '/collections/{collection_name}/exists'],
  ['GET', '/collections/{collection_name}'],
  ['PUT', '/collections/{collection_name}'],
  ['DELETE', '/collections/{collection_name}'],
  ['PUT', '/collections/{collection_name}/index'],
  ['PUT', '/collections/{collection_name}/points'],
  ['POST', '/collections/{collection_name}/points/scroll'],
  ['POST', '/collections/{collection_name}/points/query'],
  ['POST', '/collections/{collection_name}/points/delete'],
].map(([method, template]) => ({ method: method!, template: template!, re: new RegExp(`^${template!.replace('{collection_name}', '([^/]+)')}$`) }));

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

export async function startQdrantFake(options: QdrantFakeOptions = {}): Promise<QdrantFake> {
  const validator = options.openapiPath && existsSync(options.openapiPath) ? new OpenApiValidator(JSON.parse(readFileSync(options.openapiPath, 'utf8')) as OpenApiDoc) : undefined;
  const collections = new Map<string, Collection>();
  const log: QdrantFake['log'] = [];
  let version = 0;
  const started = process.hrtime.bigint();
  const time = (): number => Number(process.hrtime.bigint() - started) / 1e9 % 0.01;
  const ok = (res: ServerResponse, result: unknown): void => sendJson(res, 200, { result, status: 'ok', time: time() });
  const fail = (res: ServerResponse, status: number, error: string): void => sendJson(res, status, { status: { error }, time: time() });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = ROUTES.find((r) => r.method === req.method && r.re.test(url.pathname));
    if (options.apiKey && req.headers['api-key'] !== options.apiKey) {
      fail(res, 401, 'Must provide an API key or an Authorization bearer token');
      return 401;
    }
    if (!route) {
      fail(res, 404, `Not found: ${req.method} ${url.pathname}`);
      return 404;
    }
    const name = decodeURIComponent(route.re.exec(url.pathname)?.[1] ?? '');
    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch (err) {
        fail(res, 400, `Format error in JSON body: ${(err as Error).message}`);
        return 400;
      }
    }
    if (validator) {
      if (!validator.hasOperation(route.template, route.method)) throw new Error(`route ${route.method} ${route.template} not in the OpenAPI file`);
      const schema = validator.requestSchema(route.template, route.method);
      if (schema) {
        const errors = validator.validate(schema, body);
        if (errors.length) {
          log.push({ method: route.method, path: route.template, status: 422, errors });
          fail(res, 422, `Validation error in JSON body: ${errors.slice(0, 3).join('; ')}`);
          return -422;
        }
      }
    }
    const col = name ? collections.get(name) : undefined;
    const missing = (): number => {
      fail(res, 404, `Not found: Collection \`${name}\` doesn't exist!`);
      return 404;
    };
    switch (route.template) {
      case '/collections':
        ok(res, { collections: [...collections.keys()].map((n) => ({ name: n })) });
        return 200;
      case '/collections/{collection_name}/exists':
        ok(res, { exists: collections.has(name) });
        return 200;
      case '/collections/{collection_name}': {
        if (req.method === 'GET') {
          if (!col) return missing();
          const vectors = col.unnamed ? col.vectors[''] : col.vectors;
          ok(res, {
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
          return 200;
        }
        if (req.method === 'DELETE') {
          ok(res, collections.delete(name));
          return 200;
        }
        if (col) {
          fail(res, 409, `Wrong input: Collection \`${name}\` already exists!`);
          return 409;
        }
        const v = body.vectors as Record<string, unknown> | undefined;
        if (!v) {
          fail(res, 400, 'Wrong input: vectors config is required');
          return 400;
        }
        const unnamed = typeof v.size === 'number';
        const vectorsCfg = (unnamed ? { '': v } : v) as Collection['vectors'];
        collections.set(name, { vectors: vectorsCfg, unnamed, points: new Map(), indexes: {} });
        ok(res, true);
        return 200;
      }
      case '/collections/{collection_name}/index': {
        if (!col) return missing();
        col.indexes[String(body.field_name)] = { data_type: body.field_schema, points: col.points.size };
        ok(res, { operation_id: ++version, status: 'completed' });
        return 200;
      }
      case '/collections/{collection_name}/points': {
        if (!col) return missing();
        const points = (body.points ?? []) as Array<{ id: string | number; vector: number[] | Record<string, number[]>; payload?: Payload }>;
        for (const p of points) {
          const vec = Array.isArray(p.vector) ? { '': p.vector } : p.vector;
          for (const [vn, values] of Object.entries(vec)) {
            const cfg = col.vectors[vn];
            if (!cfg) {
              fail(res, 400, `Wrong input: Not existing vector name error: ${vn}`);
              return 400;
            }
            if (values.length !== cfg.size) {
              fail(res, 400, `Wrong input: Vector dimension error: expected dim: ${cfg.size}, got ${values.length}`);
              return 400;
            }
          }
        }
        for (const p of points) col.points.set(String(p.id), { id: p.id, vector: Array.isArray(p.vector) ? { '': p.vector } : p.vector, payload: p.payload ?? {}, version: ++version });
        ok(res, { operation_id: version, status: url.searchParams.get('wait') === 'true' ? 'completed' : 'acknowledged' });
        return 200;
      }
      case '/collections/{collection_name}/points/scroll': {
        if (!col) return missing();
        const limit = typeof body.limit === 'number' ? body.limit : 10;
        const all = [...col.points.values()].filter((p) => matchFilter(p, body.filter as Filter)).sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1));
        const start = body.offset !== undefined && body.offset !== null ? all.findIndex((p) => String(p.id) >= String(body.offset)) : 0;
        const page = start < 0 ? [] : all.slice(start, start + limit);
        const next = start >= 0 ? all[start + limit] : undefined;
        ok(res, { points: page.map((p) => ({ id: p.id, payload: selectPayload(p.payload, body.with_payload ?? true) })), next_page_offset: next ? next.id : null });
        return 200;
      }
      case '/collections/{collection_name}/points/query': {
        if (!col) return missing();
        const using = typeof body.using === 'string' ? body.using : '';
        const cfg = col.vectors[using];
        if (!cfg) {
          fail(res, 400, `Wrong input: Not existing vector name error: ${using}`);
          return 400;
        }
        const q = body.query as number[] | undefined;
        if (!Array.isArray(q)) {
          fail(res, 400, 'Wrong input: the fake supports nearest queries with a dense vector only');
          return 400;
        }
        if (q.length !== cfg.size) {
          fail(res, 400, `Wrong input: Vector dimension error: expected dim: ${cfg.size}, got ${q.length}`);
          return 400;
        }
        const limit = typeof body.limit === 'number' ? body.limit : 10;
        const threshold = typeof body.score_threshold === 'number' ? body.score_threshold : undefined;
        const scored = [...col.points.values()]
          .filter((p) => matchFilter(p, body.filter as Filter) && p.vector[using])
          .map((p) => ({ p, score: cosineSim(q, p.vector[using]!) }))
          .filter((x) => threshold === undefined || x.score >= threshold)
          .sort((a, b) => b.score - a.score)
          .slice(typeof body.offset === 'number' ? body.offset : 0)
          .slice(0, limit);
        ok(res, { points: scored.map(({ p, score }) => ({ id: p.id, version: p.version, score, payload: selectPayload(p.payload, body.with_payload) ?? null })) });
        return 200;
      }
      case '/collections/{collection_name}/points/delete': {
        if (!col) return missing();
        if (Array.isArray(body.points)) for (const id of body.points) col.points.delete(String(id));
        else if (body.filter) for (const [id, p] of col.points) if (matchFilter(p, body.filter as Filter)) col.points.delete(id);
        ok(res, { operation_id: ++version, status: 'completed' });
        return 200;
      }
      default:
        return missing();
    }
  };

  const srv = await listen(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/') {
      // The version document, not the usual envelope (the client's compatibility check reads it).
      if (options.apiKey && req.headers['api-key'] !== options.apiKey) return fail(res, 401, 'Must provide an API key or an Authorization bearer token');
      log.push({ method: 'GET', path: '/', status: 200 });
      return sendJson(res, 200, { title: 'qdrant - vector search engine', version: '1.18.0', commit: '0000000000000000000000000000000000000000' });
    }
    const status = await handle(req, res);
    if (status !== -422) log.push({ method: req.method ?? '', path: url.pathname, status });
  });
  return { url: srv.url, port: srv.port, close: srv.close, validating: validator !== undefined, log, collections };
}
