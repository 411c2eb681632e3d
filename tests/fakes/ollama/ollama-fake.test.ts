// The Ollama double (no published OpenAPI): what /api/embed refuses, in Ollama's {"error": "..."} shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from './ollama-fake.js';

let ollama: OllamaFake;
const embed = async (body: unknown): Promise<{ status: number; type: string | null; body: unknown }> => {
  const res = await fetch(`${ollama.url}/api/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
};

beforeAll(async () => {
  ollama = await startOllamaFake({ models: { 'nomic-embed-text': 8 } });
});
afterAll(async () => {
  await ollama.close();
});

describe('Ollama double', () => {
  it('input of the wrong type: 400, JSON (the npm client reads the message only from JSON)', async () => {
    expect(await embed({ model: 'nomic-embed-text', input: [1, 2] })).toEqual({ status: 400, type: 'application/json', body: { error: 'input must be a string or an array of strings' } });
  });

  it('a model not pulled: 404 with the pull hint', async () => {
    expect(await embed({ model: 'mxbai-embed-large', input: 'x' })).toEqual({ status: 404, type: 'application/json', body: { error: 'model "mxbai-embed-large" not found, try pulling it first' } });
  });

  it('a valid call: one vector per input, in order; faults target embeddings only', async () => {
    const ok = await embed({ model: 'nomic-embed-text:latest', input: ['a b', 'c'] });
    expect(ok.status).toBe(200);
    expect((ok.body as { embeddings: number[][] }).embeddings.map((v) => v.length)).toEqual([8, 8]);
    ollama.inject({ kind: 'status', status: 503 }, { target: 'embed' });
    expect((await fetch(`${ollama.url}/api/tags`)).status).toBe(200);
    expect(await embed({ model: 'nomic-embed-text', input: 'x' })).toMatchObject({ status: 503, body: { error: expect.any(String) } });
    expect(ollama.stats).toEqual({ requests: 1, texts: 2 });
  });
});
