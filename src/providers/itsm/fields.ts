// Field mapping (the tool's platform-neutral fields -> each platform's native names) and the
// validation rules applied before anything is sent. Errors accumulate; nothing fails fast.
import type { FieldRule } from '../../config/sections/itsm.js';
import type { Platform } from './templates.js';

export type ValidationCode =
  | 'required_field_missing'
  | 'max_length_exceeded'
  | 'invalid_enum_value'
  | 'pattern_mismatch'
  | 'invalid_type'
  | 'invalid_platform';

export interface ValidationIssue {
  field: string;
  code: ValidationCode;
  message: string;
}

/** Built-in rules; config itsm.fields.<platform>.<field> overrides or adds, field by field. */
export const BUILTIN_RULES: Record<Platform, Record<string, FieldRule>> = {
  servicenow: {
    short_description: { required: true, type: 'string', max_length: 160 },
    description: { type: 'string' },
    urgency: { type: 'string', enum: ['1', '2', '3'] },
    impact: { type: 'string', enum: ['1', '2', '3'] },
    category: { type: 'string', max_length: 40 },
    assignment_group: { type: 'string', max_length: 80 },
    caller_id: { type: 'string', max_length: 80 },
  },
  jira: {
    summary: { required: true, type: 'string', max_length: 255, pattern: '^[^\\r\\n]*$' },
    description: { type: 'string' },
    issuetype: { required: true, type: 'string', max_length: 60 },
    priority: { type: 'string', enum: ['Highest', 'High', 'Medium', 'Low', 'Lowest'] },
    labels: { type: 'string_array', pattern: '^[^\\s]{1,255}$' },
    project: { required: true, type: 'string', pattern: '^[A-Z][A-Z0-9_]+$' },
  },
  local: {
    summary: { required: true, type: 'string', max_length: 200 },
    description: { type: 'string' },
    priority: { required: true, type: 'string', enum: ['P1', 'P2', 'P3', 'P4'] },
    category: { type: 'string', max_length: 40 },
    assignment_group: { type: 'string', max_length: 80 },
    labels: { type: 'string_array', pattern: '^[\\w.:-]{1,50}$' },
  },
};

/** Fields a platform accepts at all: anything else is reported, not silently sent. */
const OPEN_FIELDS: Record<Platform, boolean> = { servicenow: true, jira: false, local: false };

export function rulesFor(platform: Platform, overrides: Record<string, FieldRule> = {}): Record<string, FieldRule> {
  const out: Record<string, FieldRule> = { ...BUILTIN_RULES[platform] };
  for (const [k, v] of Object.entries(overrides)) out[k] = { ...out[k], ...v };
  return out;
}

const isEmpty = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);

export function validateFields(platform: Platform, fields: Record<string, unknown>, rules: Record<string, FieldRule>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const [field, rule] of Object.entries(rules)) {
    const v = fields[field];
    if (isEmpty(v)) {
      if (rule.required) issues.push({ field, code: 'required_field_missing', message: `${field} is required on ${platform}` });
      continue;
    }
    const type = rule.type ?? 'string';
    let values: string[];
    if (type === 'string_array') {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
        issues.push({ field, code: 'invalid_type', message: `${field} must be a list of strings` });
        continue;
      }
      values = v as string[];
    } else if (type === 'integer') {
      if (!(typeof v === 'number' && Number.isInteger(v)) && !(typeof v === 'string' && /^-?\d+$/.test(v))) {
        issues.push({ field, code: 'invalid_type', message: `${field} must be a whole number` });
        continue;
      }
      values = [String(v)];
    } else {
      if (typeof v !== 'string') {
        issues.push({ field, code: 'invalid_type', message: `${field} must be a string, got ${Array.isArray(v) ? 'a list' : typeof v}` });
        continue;
      }
      values = [v];
    }
    for (const [idx, s] of values.entries()) {
      const name = type === 'string_array' ? `${field}[${idx}]` : field;
      if (rule.max_length !== undefined && s.length > rule.max_length) {
        issues.push({ field: name, code: 'max_length_exceeded', message: `${name} has ${s.length} characters; at most ${rule.max_length} allowed` });
      }
      if (rule.enum && !rule.enum.includes(s)) {
        issues.push({ field: name, code: 'invalid_enum_value', message: `${name} is ${JSON.stringify(s)}; allowed: ${rule.enum.join(', ')}` });
      }
      if (rule.pattern && !new RegExp(rule.pattern, 'u').test(s)) {
        issues.push({ field: name, code: 'pattern_mismatch', message: `${name} does not match ${rule.pattern}` });
      }
    }
  }
  for (const [field, v] of Object.entries(fields)) {
    if (rules[field] || isEmpty(v)) continue;
    if (!OPEN_FIELDS[platform]) {
      issues.push({ field, code: 'invalid_type', message: `${platform} tickets have no field ${field}; known: ${Object.keys(rules).join(', ')}` });
    } else if (!/^[a-z][a-z0-9_]*$/.test(field) || field.startsWith('sys_') || field === 'correlation_id') {
      // Table API quirk: sys_* are instance-owned, and correlation_id carries Shield's idempotency key.
      issues.push({ field, code: 'pattern_mismatch', message: `${field} cannot be set on ${platform}` });
    } else if (typeof v !== 'string') {
      issues.push({ field, code: 'invalid_type', message: `${field} must be a string (the Table API takes strings)` });
    }
  }
  return issues;
}

// --- platform-neutral input -> native fields -----------------------------------------------------

export interface NeutralFields {
  summary?: string | undefined;
  description?: string | undefined;
  priority?: string | undefined;
  urgency?: string | undefined;
  impact?: string | undefined;
  category?: string | undefined;
  assignment_group?: string | undefined;
  labels?: string[] | undefined;
  issue_type?: string | undefined;
}

/** ServiceNow's default priority lookup: P1 = urgency 1 x impact 1 ... P5 = 3 x 3. */
const P_TO_UI: Record<string, [string, string]> = { P1: ['1', '1'], P2: ['1', '2'], P3: ['2', '2'], P4: ['2', '3'], P5: ['3', '3'] };
const JIRA_PRIORITY: Record<string, string> = { P1: 'Highest', P2: 'High', P3: 'Medium', P4: 'Low', P5: 'Lowest' };

function priorityFromUrgencyImpact(u?: string, i?: string): string | undefined {
  if (!u && !i) return undefined;
  const sum = Number(u ?? '2') + Number(i ?? '2');
  if (!Number.isFinite(sum)) return undefined;
  return `P${Math.min(5, Math.max(1, sum - 1))}`;
}

const normP = (p: string | undefined): string | undefined => {
  if (!p) return undefined;
  const m = /^p?([1-5])$/i.exec(p.trim());
  return m ? `P${m[1]}` : p;
};

export interface Mapped {
  fields: Record<string, unknown>;
  /** Inputs that have no home on this platform (reported, not silently lost). */
  ignored: string[];
}

export function mapNeutral(platform: Platform, f: NeutralFields, defaults: { jiraIssueType: string; jiraProject?: string | undefined; localPriority: string }): Mapped {
  const out: Record<string, unknown> = {};
  const ignored: string[] = [];
  const set = (k: string, v: unknown): void => {
    if (v !== undefined) out[k] = v;
  };
  const p = normP(f.priority);
  if (platform === 'servicenow') {
    set('short_description', f.summary);
    set('description', f.description);
    const ui = p ? P_TO_UI[p] : undefined;
    set('urgency', f.urgency ?? ui?.[0] ?? (p && !ui ? p : undefined));
    set('impact', f.impact ?? ui?.[1]);
    set('category', f.category);
    set('assignment_group', f.assignment_group);
    if (f.labels?.length) ignored.push('labels');
    if (f.issue_type) ignored.push('issue_type');
  } else if (platform === 'jira') {
    set('project', defaults.jiraProject);
    set('summary', f.summary);
    set('description', f.description);
    set('issuetype', f.issue_type ?? defaults.jiraIssueType);
    const fromUi = priorityFromUrgencyImpact(f.urgency, f.impact);
    const pr = p ?? fromUi;
    set('priority', pr ? (JIRA_PRIORITY[pr] ?? pr) : undefined);
    const labels = [...(f.labels ?? []), ...(f.category ? [f.category] : [])];
    if (labels.length) out.labels = labels;
    if (f.assignment_group) ignored.push('assignment_group');
  } else {
    set('summary', f.summary);
    set('description', f.description);
    const pr = p ?? priorityFromUrgencyImpact(f.urgency, f.impact) ?? defaults.localPriority;
    set('priority', pr === 'P5' ? 'P4' : pr);
    set('category', f.category);
    set('assignment_group', f.assignment_group);
    set('labels', f.labels);
    if (f.issue_type) ignored.push('issue_type');
  }
  return { fields: out, ignored };
}

/** Template fields are native already; only fill what the platform needs from config. */
export function completeTemplateFields(platform: Platform, fields: Record<string, unknown>, defaults: { jiraIssueType: string; jiraProject?: string | undefined; localPriority: string }): Record<string, unknown> {
  const out = { ...fields };
  if (platform === 'jira') {
    out.project ??= defaults.jiraProject;
    out.issuetype ??= defaults.jiraIssueType;
  }
  if (platform === 'local') out.priority ??= defaults.localPriority;
  return out;
}
