// The CPF parameter catalog: which parameters an agent may change, their types, units and ranges.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ShieldError } from '../../errors.js';
import { parameterSpecSchema, type ParameterSpec } from '../../config/sections/remediation.js';

const catalogFileSchema = z.object({ description: z.string().optional(), parameters: z.array(parameterSpecSchema) }).strict();

export class ParameterCatalog {
  private readonly specs = new Map<string, ParameterSpec>();

  constructor(specs: ParameterSpec[]) {
    for (const s of specs) this.specs.set(key(s.section, s.name), s);
  }

  /** Load the catalog file (a bare name resolves in configDir) and lay the inline entries over it. */
  static load(file: string, configDir: string, extra: ParameterSpec[]): ParameterCatalog {
    const path = isAbsolute(file) || file.includes('/') ? resolve(file) : resolve(configDir, file);
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read the CPF parameter catalog ${path}: ${(err as Error).message}`);
    }
    const parsed = catalogFileSchema.safeParse(data);
    if (!parsed.success) throw new Error(`invalid CPF parameter catalog ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return new ParameterCatalog([...parsed.data.parameters, ...extra]);
  }

  get(section: string, name: string): ParameterSpec | undefined {
    return this.specs.get(key(section, name));
  }

  list(): ParameterSpec[] {
    return [...this.specs.values()];
  }

  /**
   * The spec of a parameter an agent may change, with the value normalized; POLICY_DENIED for
   * unknown or protected parameters, VALIDATION_FAILED (with the range) for bad values.
   */
  check(section: string, name: string, value: string): { spec: ParameterSpec; value: string } {
    const spec = this.get(section, name);
    if (!spec) {
      throw new ShieldError('POLICY_DENIED', `[${section}] ${name} is not in the parameter catalog; Shield does not change unknown parameters.`, {
        details: { section, parameter: name },
        hint: 'Only catalogued parameters can be changed by an agent; ask an operator to change this one.',
      });
    }
    if (!spec.agent_may_change) {
      throw new ShieldError('POLICY_DENIED', `[${spec.section}] ${spec.name} may not be changed by an agent.`, {
        details: { section: spec.section, parameter: spec.name },
        hint: 'This parameter is protected by policy; ask an operator to change it.',
      });
    }
    const v = value.trim();
    const problem = validate(spec, v);
    if (problem) {
      throw new ShieldError('VALIDATION_FAILED', `[${spec.section}] ${spec.name}=${v}: ${problem}.`, {
        details: { section: spec.section, parameter: spec.name, value: v, expected: describeRange(spec) },
      });
    }
    return { spec, value: v };
  }
}

const key = (section: string, name: string): string => `${section.toLowerCase()}\u0000${name.toLowerCase()}`;

export function describeRange(spec: ParameterSpec): string {
  const unit = spec.unit ? ` ${spec.unit}` : '';
  const also = spec.also_allowed.length ? ` (or ${spec.also_allowed.join(', ')})` : '';
  switch (spec.type) {
    case 'int':
      return `an integer from ${spec.min ?? '-inf'} to ${spec.max ?? 'inf'}${unit}${also}`;
    case 'int_list':
      return `${spec.list_length ?? 'a list of'} comma-separated integers, each from ${spec.min ?? '-inf'} to ${spec.max ?? 'inf'}${unit}`;
    case 'bool':
      return '0 or 1';
    case 'enum':
      return `one of ${(spec.values ?? []).join(', ')}`;
    case 'string':
      return spec.pattern ? `text matching ${spec.pattern}` : 'text on one line';
  }
}

function inRange(spec: ParameterSpec, n: number): boolean {
  return (spec.min === undefined || n >= spec.min) && (spec.max === undefined || n <= spec.max);
}

function validate(spec: ParameterSpec, v: string): string | undefined {
  if (/[\r\n]/.test(v)) return 'a value cannot span lines';
  if (spec.also_allowed.includes(v)) return undefined;
  const expected = `expected ${describeRange(spec)}`;
  switch (spec.type) {
    case 'int':
      return /^-?\d+$/.test(v) && inRange(spec, Number(v)) ? undefined : expected;
    case 'int_list': {
      const parts = v.split(',');
      if (spec.list_length !== undefined && parts.length !== spec.list_length) return expected;
      return parts.every((p) => /^\d+$/.test(p.trim()) && inRange(spec, Number(p))) ? undefined : expected;
    }
    case 'bool':
      return v === '0' || v === '1' ? undefined : expected;
    case 'enum':
      return (spec.values ?? []).includes(v) ? undefined : expected;
    case 'string':
      return spec.pattern === undefined || new RegExp(spec.pattern).test(v) ? undefined : expected;
  }
}
