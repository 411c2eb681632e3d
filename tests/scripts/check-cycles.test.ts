// src/ has no import circles (the graph of scripts/check-cycles.ts). For now the circle inside
// src/config (schema <-> sections) is tolerated: its fix is in flight on another branch; once it
// has landed, drop the filter so the test asserts no circle at all.
import { describe, expect, it } from 'vitest';
import { findCycles, importGraph, specifiersOf, stronglyConnected, type ImportGraph } from '../../scripts/check-cycles.js';

describe('the import graph of src/', () => {
  it('sees static, re-exported, type-only and dynamic imports and import types', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      "export { c } from './c.js';",
      "import './d.js';",
      "const e = () => import('./e.js');",
      "type F = typeof import('./f.js');",
    ].join('\n');
    expect(specifiersOf('x.ts', text)).toEqual(['./a.js', './b.js', './c.js', './d.js', './e.js', './f.js']);
  });

  it('reports a circle as a path back to its start', () => {
    const graph: ImportGraph = new Map([
      ['a.ts', new Set(['b.ts'])],
      ['b.ts', new Set(['c.ts'])],
      ['c.ts', new Set(['a.ts'])],
      ['d.ts', new Set(['a.ts'])],
    ]);
    expect(findCycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('has no import circle', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(50);
    expect(stronglyConnected(graph)).toEqual([]);
  });
});
