// Benchmark figures: every bench section returns rows the runner prints side by side.
export interface BenchRow {
  label: string;
  value: string;
  /** The baseline it is compared with, measured in the same run, when there is one. */
  baseline?: string;
  note?: string;
}

export interface BenchSection {
  title: string;
  rows: BenchRow[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const ms = (v: number): string => `${v.toFixed(v < 10 ? 2 : 1)} ms`;

export function printSection(s: BenchSection, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  out(`\n## ${s.title}`);
  const w = Math.max(...s.rows.map((r) => r.label.length), 10);
  for (const r of s.rows) {
    out(`  ${r.label.padEnd(w)}  ${r.value}${r.baseline ? `   (baseline ${r.baseline})` : ''}${r.note ? `   ${r.note}` : ''}`);
  }
}
