import { describe, expect, it } from 'vitest';
import { type ShieldError } from '../../src/errors.js';
import { TemplateCatalog } from '../../src/providers/itsm/templates.js';
import { loadConfig } from '../../src/config/load.js';

const catalog = (onError?: (t: string) => void) =>
  new TemplateCatalog(
    {
      nested: {
        description: 'nested fields',
        variables: { opt: { description: '', required: false }, withdef: { description: '', required: true, default: 'D' } },
        platforms: {
          local: {
            summary: '{svc} down',
            deep: { list: ['{svc}-{opt}', { x: '{withdef}' }], n: 3, flag: true },
            literal: '{{not a var}} {svc}',
          },
        },
      },
    },
    onError,
  );

function thrown(fn: () => unknown): ShieldError {
  try {
    fn();
  } catch (e) {
    return e as ShieldError;
  }
  throw new Error('expected an error');
}

describe('TemplateCatalog', () => {
  it('fills placeholders at any depth, keeps non-strings, applies defaults and escapes', () => {
    const out = catalog().render('nested', 'local', { svc: 'db', extra: 'x' });
    expect(out.fields).toEqual({ summary: 'db down', deep: { list: ['db-', { x: 'D' }], n: 3, flag: true }, literal: '{not a var} db' });
    expect(out.missing).toEqual(['opt']);
    expect(out.unused).toEqual(['extra']);
  });

  it('fails with VALIDATION_FAILED naming each missing required variable and counts it', () => {
    const errors: string[] = [];
    const err = thrown(() => catalog((t) => errors.push(t)).render('nested', 'local', {}));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect((err.details as { missing: string[] }).missing).toEqual(['svc']);
    expect(errors).toEqual(['nested']);
  });

  it('rejects a platform the template lacks with invalid_platform', () => {
    const err = thrown(() => catalog().render('nested', 'jira', { svc: 'x' }));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(err.details)).toContain('invalid_platform');
  });

  it('unknown template is NOT_FOUND with the list of names in the hint', () => {
    const err = thrown(() => catalog().render('__proto__', 'local', {}));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.hint).toContain('nested');
  });

  it('every shipped template renders on every platform with its required variables', () => {
    const c = new TemplateCatalog(loadConfig().templates);
    for (const t of c.list()) {
      const vars = Object.fromEntries(t.variables.filter((v) => v.required).map((v) => [v.name, `<${v.name}>`]));
      for (const p of t.platforms) {
        const out = c.render(t.name, p, vars);
        expect(JSON.stringify(out.fields)).not.toMatch(/\{[A-Za-z_]\w*\}/);
        expect(out.unused).toEqual([]);
      }
      expect(t.platforms.sort()).toEqual(['jira', 'local', 'servicenow']);
    }
  });
});
