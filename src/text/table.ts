// Plain aligned text tables for human output; numbers right-aligned.
import { printable } from './printable.js';

export function formatTable(header: string[], rows: (string | number)[][]): string {
  // Cells often hold text from outside (VM names, tags, file names, error details): shown escaped.
  const cells = [header, ...rows.map((r) => r.map((c) => printable(String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return cells
    .map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n');
}
