// The OpenAPI check on small inline documents: refs, 3.0 vs 3.1 (nullable, exclusive bounds),
// formats, readable issues, and refusals of what it cannot check.
import { describe, expect, it } from 'vitest';
import { OpenApiCheck, displayPath, formatIssue, type OpenApiDocument } from './openapi.js';

const op = (schemaRef: string): Record<string, unknown> => ({ requestBody: { content: { 'application/json': { schema: { $ref: schemaRef } } } } });

const v30: OpenApiDocument = {
  openapi: '3.0.1',
  paths: {
    '/things/{name}': { put: op('#/components/schemas/Thing'), get: {} },
    '/batch': { post: { requestBody: { $ref: '#/components/requestBodies/Batch' } } },
  },
  components: {
    requestBodies: { Batch: { content: { 'application/json; charset=utf-8': { schema: { type: 'array', items: { $ref: '#/components/schemas/Thing' } } } } } },
    schemas: {
      Thing: {
        type: 'object',
        required: ['id', 'size'],
        additionalProperties: false,
        properties: {
          id: { $ref: '#/components/schemas/Id' },
          size: { type: 'integer', format: 'uint32', minimum: 1, example: 3, 'x-rust-type': 'u32' },
          ratio: { type: 'number', minimum: 0, maximum: 1, exclusiveMaximum: true, nullable: true },
          label: { type: 'string', nullable: true, enum: ['a', 'b'] },
          parent: { description: 'optional parent', anyOf: [{ $ref: '#/components/schemas/Id' }, { nullable: true }] },
          owner: { $ref: '#/components/schemas/Owner' },
          seen: { type: 'string', format: 'partial-date-time' },
        },
      },
      Id: { anyOf: [{ type: 'integer', format: 'uint64', minimum: 0 }, { type: 'string', format: 'uuid' }] },
      Owner: { type: 'object', required: ['email'], nullable: true, properties: { email: { type: 'string', format: 'email' } }, discriminator: { propertyName: 'email' } },
    },
  },
};

const v31: OpenApiDocument = {
  openapi: '3.1.0',
  paths: { '/things': { post: op('#/components/schemas/Thing') } },
  components: {
    schemas: {
      Thing: {
        type: 'object',
        required: ['size'],
        properties: {
          size: { type: 'integer', exclusiveMinimum: 0 },
          note: { type: ['string', 'null'] },
          tags: { type: 'array', items: { type: 'string' }, examples: [['a']] },
        },
      },
    },
  },
};

const put = (body: unknown): string[] => new OpenApiCheck(v30).validate('put', '/things/{name}', body).map(formatIssue);
const ok = { id: 7, size: 2 };

describe('OpenAPI 3.0', () => {
  const check = new OpenApiCheck(v30);

  it('accepts a valid body, resolving $refs to components and request bodies', () => {
    expect(check.version).toBe('3.0');
    expect(check.validate('put', '/things/{name}', { ...ok, id: '550e8400-e29b-41d4-a716-446655440000', ratio: 0.5, label: 'a', parent: 3, owner: { email: 'a@b.example' } })).toEqual([]);
    expect(check.validate('post', '/batch', [ok, ok])).toEqual([]);
    expect(check.validate('post', '/batch', [ok, { size: 1 }]).map(formatIssue)).toEqual(['[1].id: is required']);
  });

  it('nullable: adds null to the type (and enum); `{"nullable": true}` alone means null; nullable beside a $ref allows null', () => {
    expect(put({ ...ok, ratio: null, label: null, parent: null, owner: null })).toEqual([]);
    expect(put({ ...ok, label: 'c' })).toEqual(['label: must be one of ["a","b",null], not "c"']);
    // The null branch of the anyOf must not let anything else through.
    expect(put({ ...ok, parent: { id: 1 } })).toEqual(['parent: matches none of the allowed shapes (closest: must be integer, not object)']);
    expect(put({ ...ok, size: null })).toEqual(['size: must be integer, not null']);
  });

  it('a boolean exclusiveMaximum makes maximum exclusive', () => {
    expect(put({ ...ok, ratio: 0.999 })).toEqual([]);
    expect(put({ ...ok, ratio: 1 })).toEqual(['ratio: must be < 1, not 1']);
  });

  it('checks the integer formats generators emit (uint32, uint64) and ajv-formats ones (uuid, email); ignores unknown ones', () => {
    expect(put({ ...ok, size: 4_294_967_296 })).toEqual(['size: must match format uint32, not 4294967296']);
    expect(put({ ...ok, id: 'not-a-uuid' })).toEqual(['id: matches none of the allowed shapes (closest: must be integer, not string)']);
    expect(put({ ...ok, owner: { email: 'nobody' } })).toEqual(['owner.email: must match format email, not "nobody"']);
    expect(check.ignoredFormats).toEqual(['partial-date-time']);
    expect(put({ ...ok, seen: 'whatever' })).toEqual([]);
  });

  it('says what is wrong, where, and whether it is the shape or a bound', () => {
    const issues = check.validate('put', '/things/{name}', { size: 0, extra: true });
    expect(issues).toEqual([
      { path: 'id', keyword: 'required', kind: 'shape', message: 'is required' },
      { path: 'extra', keyword: 'additionalProperties', kind: 'shape', message: 'is not a known property' },
      { path: 'size', keyword: 'minimum', kind: 'constraint', message: 'must be >= 1, not 0' },
    ]);
    // Below zero for an unsigned integer is a shape problem: the value cannot be read as the type.
    expect(check.validate('put', '/things/{name}', { ...ok, id: -1 })[0]).toMatchObject({ kind: 'shape', message: 'matches none of the allowed shapes (closest: must be >= 0, not -1)' });
    expect(put('text')).toEqual(['body: must be object, not string']);
  });

  it('an operation without a request body accepts anything; an unknown one is an error', () => {
    expect(check.validate('get', '/things/{name}', { any: 'thing' })).toEqual([]);
    expect(() => check.validate('post', '/nowhere', {})).toThrow(/POST \/nowhere is not in the OpenAPI document/);
  });
});

describe('OpenAPI 3.1', () => {
  const check = new OpenApiCheck(v31);

  it('uses JSON Schema 2020-12: numeric exclusive bounds, null in type lists', () => {
    expect(check.version).toBe('3.1');
    expect(check.validate('post', '/things', { size: 1, note: null, tags: ['x'] })).toEqual([]);
    expect(check.validate('post', '/things', { size: 0 }).map(formatIssue)).toEqual(['size: must be > 0, not 0']);
    expect(check.validate('post', '/things', { size: 1, note: 3 }).map(formatIssue)).toEqual(['note: must be string or null, not integer']);
    expect(check.validate('post', '/things', { size: 1, tags: [1] }).map(formatIssue)).toEqual(['tags[0]: must be string, not integer']);
  });
});

describe('what the check refuses to guess', () => {
  it('a document that is not OpenAPI 3', () => {
    expect(() => new OpenApiCheck({ swagger: '2.0' } as unknown as OpenApiDocument)).toThrow(/not an OpenAPI 3 document/);
  });

  it('a $ref outside #/components/schemas', () => {
    const doc: OpenApiDocument = { openapi: '3.0.3', components: { schemas: { A: { $ref: 'other.json#/A' } } } };
    expect(() => new OpenApiCheck(doc)).toThrow(/unsupported \$ref "other.json#\/A"/);
  });

  it('an absent spec file loads as undefined (callers skip the check)', () => {
    expect(OpenApiCheck.load('/nonexistent/spec.json')).toBeUndefined();
    expect(OpenApiCheck.load(undefined)).toBeUndefined();
  });
});

describe('displayPath', () => {
  it('turns JSON pointers into readable paths', () => {
    expect(displayPath('')).toBe('');
    expect(displayPath('/points/0/vector/1')).toBe('points[0].vector[1]');
    expect(displayPath('/a~1b/c~0d')).toBe('a/b.c~d');
  });
});
