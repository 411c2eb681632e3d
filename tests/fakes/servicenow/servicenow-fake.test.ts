// The ServiceNow double (no published OpenAPI): what the Table API refuses, in its error shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceNowFake } from './servicenow-fake.js';

const sn = new ServiceNowFake({ auth: { type: 'basic', username: 'u', password: 'p' } });
const auth = { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` };
const post = async (body: string, headers: Record<string, string> = auth): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${sn.baseUrl}/api/now/table/incident`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: await res.json() };
};

beforeAll(async () => {
  await sn.start();
});
afterAll(async () => {
  await sn.close();
});

describe('ServiceNow double', () => {
  it('a body that is not a JSON object: 400 {"error": {...}, "status": "failure"}', async () => {
    for (const body of ['{"short_description": ', '["x"]']) {
      expect(await post(body)).toEqual({ status: 400, body: { error: { message: 'Exception while reading request', detail: 'The payload is not valid JSON.' }, status: 'failure' } });
    }
    expect(sn.records()).toHaveLength(0);
  });

  it('wrong credentials: 401 User Not Authenticated', async () => {
    const r = await post('{}', { authorization: `Basic ${Buffer.from('u:x').toString('base64')}` });
    expect(r).toEqual({ status: 401, body: { error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' }, status: 'failure' } });
  });

  it('a valid create: 201 with every field a string and sys_* fields its own', async () => {
    const r = await post(JSON.stringify({ short_description: 'Disk full', urgency: 1, sys_created_by: 'me' }));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ result: { short_description: 'Disk full', urgency: '1', sys_created_by: 'shield', number: expect.stringMatching(/^INC\d{7}$/) } });
  });

  it('a 429 fault answers in ServiceNow\'s shape; faults default to creates and spare the OAuth endpoint', async () => {
    sn.inject({ kind: 'status', status: 429, headers: { 'retry-after': '1' } }, { target: 'any', times: 5 });
    const token = await fetch(`${sn.baseUrl}/oauth_token.do`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password' });
    expect(token.status).toBe(400); // not an OAuth double: but not faulted either
    await token.body?.cancel();
    const r = await post('{}');
    expect(r).toEqual({ status: 429, body: { error: { message: 'Rate limit exceeded', detail: 'Too many requests; rate limit rule matched' }, status: 'failure' } });
    sn.clearFaults();
  });
});
