import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, readmeWithTable } from '../../scripts/tool-table.js';

describe('README', () => {
  const readme = readFileSync(README, 'utf8');

  it('opens with the two set-up commands, and .ci/run runs the second', () => {
    const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1]?.trim().split('\n') ?? [];
    expect(block).toEqual(['npm install && npm run demo', 'npm install && npm test']);
    expect(readme.indexOf('```sh')).toBeLessThan(readme.indexOf('\n## '));
    expect(readFileSync('.ci/run', 'utf8')).toContain("grep -m1 'npm test'");
  });

  it('has the tool table generated from the inventory (run `npm run docs` after changing tools)', () => {
    expect(readme).toBe(readmeWithTable(readme));
  });
});
