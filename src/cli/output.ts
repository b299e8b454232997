/** Plain-text output of the CLI: tables for people, JSON for scripts. */

export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}
export function err(line = ''): void {
  process.stderr.write(`${line}\n`);
}
export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** A plain text table: one header row, columns padded to their widest cell; cells longer than `maxCell` are cut. */
export function formatTable(header: string[], rows: string[][], maxCell = Infinity): string {
  const cut = (s: string) => (s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s);
  const all = [header, ...rows.map((r) => r.map((c) => cut(c.replace(/\s+/g, ' '))))];
  const widths = header.map((_, col) => Math.max(...all.map((r) => (r[col] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, col) => (cell ?? '').padEnd(widths[col]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
