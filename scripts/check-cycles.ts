// Finds import circles in src/ (`npx tsx scripts/check-cycles.ts`): exit 1 and the cycles when any.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Module -> the modules it imports, as paths relative to the project root ('src/app.ts'). */
export type ImportGraph = Map<string, Set<string>>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(m|c)?ts$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/**
 * Every module specifier in a file: import/export ... from, side-effect imports, `import()` calls
 * and `import('x')` types. Type-only edges count: a type cycle is still a design cycle.
 */
export function specifiersOf(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) out.push(arg.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** A relative specifier to the .ts file it names under NodeNext ('./x.js' is './x.ts'). */
function resolveRelative(from: string, spec: string, known: Set<string>): string | undefined {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return undefined;
  const target = resolve(dirname(from), spec);
  const candidates = [target.replace(/\.js$/, '.ts'), target.replace(/\.mjs$/, '.mts'), target.replace(/\.cjs$/, '.cts'), target];
  return candidates.find((c) => known.has(c));
}

/** The import graph of every TypeScript module under `dir` (edges to modules outside it are dropped). */
export function importGraph(dir = join(ROOT, 'src')): ImportGraph {
  const files = sourceFiles(dir);
  const known = new Set(files);
  const graph: ImportGraph = new Map();
  for (const f of files) {
    const edges = new Set<string>();
    for (const spec of specifiersOf(f, readFileSync(f, 'utf8'))) {
      const to = resolveRelative(f, spec, known);
      if (to) edges.add(relative(ROOT, to));
    }
    graph.set(relative(ROOT, f), edges);
  }
  return graph;
}

/** Strongly connected components with more than one module (or a module importing itself), Tarjan. */
export function stronglyConnected(graph: ImportGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.has(v)) out.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strong(v);
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** One shortest cycle through the first module of a component, to show a reader where to cut. */
function cycleIn(graph: ImportGraph, component: string[]): string[] {
  const members = new Set(component);
  const start = component[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = previous.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Each import circle as a path that returns to its start: ['a.ts', 'b.ts', 'a.ts']. */
export function findCycles(graph: ImportGraph): string[][] {
  return stronglyConnected(graph).map((c) => cycleIn(graph, c));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const graph = importGraph();
  const components = stronglyConnected(graph);
  if (components.length === 0) {
    process.stdout.write(`no import cycles in src/ (${graph.size} modules)\n`);
  } else {
    for (const c of components) {
      process.stdout.write(`cycle among ${c.length} modules: ${c.join(', ')}\n  e.g. ${cycleIn(graph, c).join(' -> ')}\n`);
    }
    process.exitCode = 1;
  }
}
