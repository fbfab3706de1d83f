/** Plain-text tables, as the CLI prints reports and benchmarks print results. */

/** Rows as a plain-text table: a header, a rule, left-aligned text and right-aligned numbers. */
export function table(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '(none)';
  const keys = Object.keys(rows[0]);
  const cells = rows.map((r) => keys.map((k) => String(r[k] ?? '')));
  const widths = keys.map((k, i) => Math.max(k.length, ...cells.map((c) => c[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(keys), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
