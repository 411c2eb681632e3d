// The Qdrant double refuses what Qdrant refuses, in Qdrant's shape: a body its OpenAPI rejects gets
// 400 "Format error" (does not deserialize) or 422 "Validation error" (out of bounds), and nothing changes.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedSpecPath, specAbsentMessage } from '../openapi.js';
import { startQdrantFake, type QdrantFake } from './qdrant-fake.js';

const SPEC = sharedSpecPath('qdrant-openapi.json');
const HAVE_SPEC = existsSync(SPEC);
if (!HAVE_SPEC) process.stderr.write(specAbsentMessage('fakes/qdrant', SPEC));

let qdrant: QdrantFake;
const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(`${qdrant.url}${path}`, { method, headers: { 'content-type': 'application/json', 'api-key': 'k' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const upsert = (points: unknown): ReturnType<typeof call> => call('PUT', '/collections/docs/points?wait=true', { points });
const query = (body: unknown): ReturnType<typeof call> => call('POST', '/collections/docs/points/query', body);
/** Qdrant's error envelope: {"status": {"error": "..."}, "time": <seconds>}. */
const refusal = (status: number, error: RegExp) => ({ status, body: { status: { error: expect.stringMatching(error) }, time: expect.any(Number) } });

beforeAll(async () => {
  qdrant = await startQdrantFake({ openapiPath: SPEC, apiKey: 'k' });
  await call('PUT', '/collections/docs', { vectors: { dense: { size: 3, distance: 'Cosine' } } });
});
afterAll(async () => {
  await qdrant.close();
});

describe.skipIf(!HAVE_SPEC)('Qdrant double: bodies the OpenAPI refuses', () => {
  it('validates against the spec', () => {
    expect(qdrant.validating).toBe(true);
  });

  it('an upsert whose vector is a string: 400 Format error', async () => {
    expect(await upsert([{ id: 1, vector: 'abc' }])).toEqual(refusal(400, /^Format error in JSON body: .*points\[0\]\.vector: must be array, not string/));
  });

  it('an upsert whose vector holds a string: 400 Format error naming the element', async () => {
    expect(await upsert([{ id: 1, vector: { dense: [0.1, 'x', 0.3] } }])).toEqual(refusal(400, /points\[0\]\.vector\.dense\[1\]: must be number, not string/));
  });

  it('an upsert point without a vector, or with a negative id: 400 Format error', async () => {
    expect(await upsert([{ id: 1 }])).toEqual(refusal(400, /points\[0\]\.vector: is required/));
    expect(await upsert([{ id: -1, vector: { dense: [1, 0, 0] } }])).toEqual(refusal(400, /points\[0\]\.id/));
  });

  it('a query whose query is not a vector, id or query object: 400 Format error', async () => {
    expect(await query({ query: true, using: 'dense' })).toEqual(refusal(400, /^Format error in JSON body: query: matches none/));
  });

  it('a filter with an unknown clause: 400 Format error', async () => {
    expect(await query({ query: [1, 0, 0], using: 'dense', filter: { mustt: [] } })).toEqual(refusal(400, /filter\.mustt: is not a known property/));
  });

  it('a query with limit 0 deserializes but breaks a bound: 422 Validation error', async () => {
    expect(await query({ query: [1, 0, 0], using: 'dense', limit: 0 })).toEqual(refusal(422, /^Validation error in JSON body: \[limit: must be >= 1, not 0\]$/));
  });

  it('a collection with an unknown distance: 400, and no collection', async () => {
    expect(await call('PUT', '/collections/other', { vectors: { size: 3, distance: 'Cosinus' } })).toEqual(refusal(400, /distance: must be one of/));
    expect(qdrant.collections.has('other')).toBe(false);
  });

  it('nothing refused reached the store; the log keeps the schema\'s complaints', () => {
    expect(qdrant.collections.get('docs')!.points.size).toBe(0);
    const refused = qdrant.log.filter((l) => l.errors);
    expect(refused.map((l) => l.status)).toEqual([400, 400, 400, 400, 400, 400, 422, 400]);
    expect(refused.every((l) => l.errors!.length > 0)).toBe(true);
  });
});

describe('Qdrant double: valid bodies and its own rules', () => {
  it('accepts a valid upsert and query', async () => {
    const up = await upsert([{ id: '550e8400-e29b-41d4-a716-446655440000', vector: { dense: [1, 0, 0] }, payload: { document: 'a', metadata: { source: 's' } } }]);
    expect(up).toEqual({ status: 200, body: { result: { operation_id: expect.any(Number), status: 'completed' }, status: 'ok', time: expect.any(Number) } });
    const q = await query({ query: [1, 0, 0], using: 'dense', limit: 3, with_payload: true, filter: { must: [{ key: 'metadata.source', match: { value: 's' } }] } });
    expect(q.status).toBe(200);
    expect((q.body.result as { points: Array<{ id: string; score: number }> }).points).toEqual([expect.objectContaining({ id: '550e8400-e29b-41d4-a716-446655440000', score: expect.closeTo(1, 6) })]);
  });

  it('a vector of the wrong dimension: 400 Wrong input', async () => {
    expect(await upsert([{ id: 2, vector: { dense: [1, 0] } }])).toEqual(refusal(400, /^Wrong input: Vector dimension error: expected dim: 3, got 2$/));
  });

  it('invalid JSON: 400 Format error; a missing collection: 404; no api-key: 401', async () => {
    const res = await fetch(`${qdrant.url}/collections/docs/points/query`, { method: 'POST', headers: { 'content-type': 'application/json', 'api-key': 'k' }, body: '{"query": [' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { status: { error: string } }).status.error).toMatch(/^Format error in JSON body: /);
    expect(await call('POST', '/collections/nope/points/query', { query: [1, 0, 0] })).toEqual(refusal(404, /^Not found: Collection `nope` doesn't exist!$/));
    const anon = await fetch(`${qdrant.url}/collections`);
    expect(anon.status).toBe(401);
    await anon.body?.cancel();
  });

  it('faults apply per operation: a 503 on upserts leaves queries alone', async () => {
    qdrant.inject({ kind: 'status', status: 503 }, { target: 'upsert' });
    expect(await upsert([{ id: 3, vector: { dense: [0, 1, 0] } }])).toEqual(refusal(503, /.+/));
    expect((await query({ query: [1, 0, 0], using: 'dense' })).status).toBe(200);
    expect((await upsert([{ id: 3, vector: { dense: [0, 1, 0] } }])).status).toBe(200);
  });
});
