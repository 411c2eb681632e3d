// Unit tests: field validation, Markdown conversion and truncation (retry delays: tests/upstream/retry.test.ts).
import { describe, expect, it } from 'vitest';
import { mapNeutral, rulesFor, validateFields } from '../../src/providers/itsm/fields.js';
import { parseMarkdown, renderDescription, toAdf, toPlain, toWiki } from '../../src/providers/itsm/markdown.js';
import { adfProblems } from '../fakes/jira/jira-fake.js';

describe('field validation', () => {
  it('accumulates every problem with its code', () => {
    const issues = validateFields(
      'jira',
      { summary: 'two\nlines', issuetype: 7, priority: 'Urgent', labels: ['ok', 'not ok'], project: 'ops', colour: 'red' },
      rulesFor('jira'),
    );
    expect(issues.map((i) => [i.field, i.code])).toEqual([
      ['summary', 'pattern_mismatch'],
      ['issuetype', 'invalid_type'],
      ['priority', 'invalid_enum_value'],
      ['labels[1]', 'pattern_mismatch'],
      ['project', 'pattern_mismatch'],
      ['colour', 'invalid_type'],
    ]);
  });

  it('reports missing required fields and lengths; config overrides merge over built-ins', () => {
    const rules = rulesFor('servicenow', { category: { enum: ['network', 'software'] }, u_site: { required: true } });
    const issues = validateFields('servicenow', { short_description: 'x'.repeat(161), category: 'hardware', urgency: '4', sys_id: 'abc' }, rules);
    expect(issues.map((i) => [i.field, i.code])).toEqual([
      ['short_description', 'max_length_exceeded'],
      ['urgency', 'invalid_enum_value'],
      ['category', 'invalid_enum_value'],
      ['u_site', 'required_field_missing'],
      ['sys_id', 'pattern_mismatch'],
    ]);
    expect(rules.category).toMatchObject({ type: 'string', max_length: 40, enum: ['network', 'software'] });
  });

  it('integer rules accept whole numbers and numeric strings only', () => {
    const rules = { n: { type: 'integer' as const } };
    expect(validateFields('servicenow', { n: '12' }, rules)).toEqual([]);
    expect(validateFields('servicenow', { n: 3 }, rules)).toEqual([]);
    expect(validateFields('servicenow', { n: '1.5' }, rules)[0]?.code).toBe('invalid_type');
  });

  it('maps neutral priority to each platform', () => {
    const d = { jiraIssueType: 'Task', jiraProject: 'OPS', localPriority: 'P3' };
    expect(mapNeutral('servicenow', { summary: 's', priority: 'P2' }, d).fields).toMatchObject({ short_description: 's', urgency: '1', impact: '2' });
    expect(mapNeutral('jira', { summary: 's', urgency: '1', impact: '1' }, d).fields).toMatchObject({ priority: 'Highest', issuetype: 'Task', project: 'OPS' });
    expect(mapNeutral('local', { summary: 's' }, d).fields).toMatchObject({ priority: 'P3' });
    expect(mapNeutral('servicenow', { summary: 's', labels: ['a'] }, d).ignored).toEqual(['labels']);
  });
});

describe('Markdown conversion', () => {
  const md = [
    '# Title',
    '',
    'Some **bold**, *em*, `code` and a [link](https://example.com/x).',
    '',
    '- one',
    '- two',
    '  - nested',
    '',
    '1. first',
    '2. second',
    '',
    '```js',
    'const a = "<b>";',
    '```',
    '',
    '> quoted',
    '',
    'A [bad link](javascript:alert(1)) and <script>alert(1)</script>.',
  ].join('\n');
  const blocks = parseMarkdown(md);

  it('ADF: headings, paragraphs, lists, code blocks, links, emphasis; valid by the fake checker', () => {
    const adf = toAdf(blocks);
    expect(adfProblems(adf)).toEqual([]);
    const types = (adf.content ?? []).map((n) => n.type);
    expect(types).toEqual(['heading', 'paragraph', 'bulletList', 'orderedList', 'codeBlock', 'blockquote', 'paragraph']);
    const para = adf.content![1]!.content!;
    expect(para).toContainEqual({ type: 'text', text: 'bold', marks: [{ type: 'strong' }] });
    expect(para).toContainEqual({ type: 'text', text: 'em', marks: [{ type: 'em' }] });
    expect(para).toContainEqual({ type: 'text', text: 'code', marks: [{ type: 'code' }] });
    expect(para).toContainEqual({ type: 'text', text: 'link', marks: [{ type: 'link', attrs: { href: 'https://example.com/x' } }] });
    expect(adf.content![4]).toEqual({ type: 'codeBlock', attrs: { language: 'js' }, content: [{ type: 'text', text: 'const a = "<b>";' }] });
    const nested = adf.content![2]!.content![1]!.content!;
    expect(nested.map((n) => n.type)).toEqual(['paragraph', 'bulletList']);
    // javascript: links never become links.
    expect(JSON.stringify(adf)).not.toContain('"href":"javascript');
  });

  it('wiki markup for Data Center', () => {
    expect(toWiki(blocks)).toBe(
      [
        'h1. Title',
        'Some *bold*, _em_, {{code}} and a [link|https://example.com/x].',
        '* one\n* two\n** nested',
        '# first\n# second',
        '{code:js}\nconst a = "<b>";\n{code}',
        '{quote}\nquoted\n{quote}',
        'A bad link (javascript:alert(1)) and <script>alert(1)</script>.',
      ].join('\n\n'),
    );
  });

  it('plain text for ServiceNow, with HTML made inert', () => {
    const plain = toPlain(blocks);
    expect(plain).toContain('Title\n\nSome bold, em, code and a link (https://example.com/x).');
    expect(plain).toContain('- one\n- two\n  - nested');
    expect(plain).toContain('1. first\n2. second');
    expect(plain).toContain('    const a = "&lt;b&gt;";');
    expect(plain).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(plain).not.toMatch(/<script/);
    expect(toPlain(parseMarkdown('[code]<b>x</b>[/code]'))).toBe('[ code ]&lt;b&gt;x&lt;/b&gt;[ /code ]');
  });

  it('wiki escapes macros and images in agent text', () => {
    expect(toWiki(parseMarkdown('{html}<b>x</b>{html} !http://evil/x.png!'))).toBe('\\{html\\}<b>x</b>\\{html\\} \\!http://evil/x.png\\!');
  });

  it('truncates over the limit with a visible notice, for every format', () => {
    const long = `# Log\n\n${'word '.repeat(20_000)}`;
    for (const format of ['adf', 'wiki', 'plain'] as const) {
      const out = renderDescription(long, format, 5_000);
      expect(out.truncated).toBe(true);
      const size = typeof out.value === 'string' ? out.value.length : JSON.stringify(out.value).length;
      expect(size).toBeLessThanOrEqual(5_000);
      expect(size).toBeGreaterThan(3_000);
      expect(JSON.stringify(out.value)).toContain('Truncated by Shield');
    }
    const short = renderDescription('short', 'wiki', 5_000);
    expect(short).toEqual({ value: 'short', truncated: false, kept_chars: 5 });
  });

  it('does not leave the notice inside a cut code fence', () => {
    const md = `intro\n\n\`\`\`\n${'line\n'.repeat(5_000)}\`\`\``;
    const out = renderDescription(md, 'adf', 4_000);
    const adf = out.value as { content: Array<{ type: string }> };
    expect(adf.content.at(-1)!.type).toBe('paragraph');
    expect(JSON.stringify(adf.content.at(-1))).toContain('Truncated by Shield');
  });
});
