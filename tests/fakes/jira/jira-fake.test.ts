// The Jira double refuses what Jira refuses, in Jira's shape: bodies against Atlassian's OpenAPI
// (when ../shared has it), then the field rules of the create screen.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specAbsentMessage } from '../openapi.js';
import { JIRA_OPENAPI_PATH, JiraFake } from './jira-fake.js';

const HAVE_SPEC = existsSync(JIRA_OPENAPI_PATH);
if (!HAVE_SPEC) process.stderr.write(specAbsentMessage('fakes/jira', JIRA_OPENAPI_PATH));

const jira = new JiraFake({ deployment: 'cloud', openApiPath: JIRA_OPENAPI_PATH });
const valid = { fields: { project: { key: 'OPS' }, summary: 'Disk full', issuetype: { name: 'Task' }, labels: ['ops'] } };
const create = async (body: unknown): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${jira.baseUrl}/rest/api/3/issue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
};

beforeAll(async () => {
  await jira.start();
});
afterAll(async () => {
  await jira.close();
});

describe('Jira double: bodies the OpenAPI refuses', () => {
  it.skipIf(!HAVE_SPEC)('loads the spec', () => {
    expect(jira.openApiLoaded).toBe(true);
  });

  it.skipIf(!HAVE_SPEC)('fields that is not an object: 400 with the error under "fields"', async () => {
    expect(await create({ fields: 'Disk full' })).toEqual({ status: 400, body: { errorMessages: [], errors: { fields: 'must be object, not string' } } });
  });

  it.skipIf(!HAVE_SPEC)('an update operation list that is not a list: 400 with the error under its path', async () => {
    const r = await create({ ...valid, update: { labels: { add: 'x' } } });
    expect(r).toEqual({ status: 400, body: { errorMessages: [], errors: { 'update.labels': 'must be array, not object' } } });
  });

  it.skipIf(!HAVE_SPEC)('a body that is not an object at all: 400 in errorMessages', async () => {
    expect(await create([valid])).toEqual({ status: 400, body: { errorMessages: ['must be object, not array'], errors: {} } });
  });

  it('creates nothing for any refused body, and creates a valid one', async () => {
    expect(jira.issues).toHaveLength(0);
    const r = await create(valid);
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ id: '10001', key: 'OPS-1', self: `${jira.baseUrl}/rest/api/3/issue/10001` });
    expect(jira.issues).toHaveLength(1);
  });
});

describe('Jira double: the create screen\'s field rules', () => {
  it('no fields.project: 400 with errors.project', async () => {
    const { project: _, ...fields } = valid.fields;
    expect(await create({ fields })).toEqual({ status: 400, body: { errorMessages: [], errors: { project: 'valid project is required' } } });
  });

  it('a summary of the wrong type: 400 with errors.summary', async () => {
    const r = await create({ fields: { ...valid.fields, summary: 42 } });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ errorMessages: [], errors: { summary: expect.any(String) } });
    expect(Object.keys((r.body as { errors: object }).errors)).toEqual(['summary']);
  });

  it('labels with spaces and a field not on the screen: one error each', async () => {
    const r = await create({ fields: { ...valid.fields, labels: ['two words'], customfield_1: 'x' } });
    expect(r).toEqual({
      status: 400,
      body: { errorMessages: [], errors: { labels: 'The label must not contain spaces.', customfield_1: "Field 'customfield_1' cannot be set. It is not on the appropriate screen, or unknown." } },
    });
    expect(jira.issues).toHaveLength(1); // only the valid one above
  });
});
