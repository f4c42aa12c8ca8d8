// Plain aligned text tables for human output; numbers right-aligned. Widths are display columns
// (string-width: a CJK character or an emoji takes two, a combining mark none), so Chinese and emoji
// names keep the columns straight. A long cell is cut at CELL_COLUMNS with `…` so one long name does
// not make every row thousands of characters wide; `wide` (--wide, -o wide) shows every cell whole.
import stringWidth from 'string-width';
import { printable } from './printable.js';

/** Where a cell is cut, in display columns (the `…` included). */
const CELL_COLUMNS = 40;

export interface TableOptions {
  /** Every cell whole (--wide, -o wide). */
  wide?: boolean;
  /** Columns (by header) never cut: file paths, details, fixes. */
  full?: string[];
}

const SEGMENTER = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** `text` cut to at most `columns` display columns, ending with `…` when cut. */
export function cutToWidth(text: string, columns: number): string {
  if (stringWidth(text) <= columns) return text;
  let out = '';
  let used = 0;
  for (const { segment } of SEGMENTER.segment(text)) {
    const w = stringWidth(segment);
    if (used + w > columns - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

function pad(text: string, width: number, start: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - stringWidth(text)));
  return start ? fill + text : text + fill;
}

export function formatTable(header: string[], rows: (string | number)[][], opts: TableOptions = {}): string {
  const full = new Set(opts.full ?? []);
  // Cells often hold text from outside (VM names, tags, file names, error details): shown escaped.
  const cell = (c: string | number, i: number): string => {
    const text = printable(String(c));
    return opts.wide || full.has(header[i]) ? text : cutToWidth(text, CELL_COLUMNS);
  };
  const cells = [header, ...rows.map((r) => r.map(cell))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => stringWidth(r[i] ?? ''))));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return cells
    .map((r) => r.map((c, i) => pad(c, widths[i], numeric[i])).join('  ').trimEnd())
    .join('\n');
}
