// Long text (a ZStack error's description and details) wrapped at word breaks by display width, so
// it is shown whole instead of cut off.
import stringWidth from 'string-width';
import { printable } from './printable.js';

/** `text` escaped and broken into lines of at most `columns` display columns (a longer word is split). */
export function wrapText(text: string, columns: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of printable(text.replace(/[\r\n\t ]+/g, ' ').trim()).split(' ')) {
    let rest = word;
    while (stringWidth(rest) > columns) {
      if (line !== '') lines.push(line);
      line = '';
      let head = '';
      for (const ch of rest) {
        if (stringWidth(head + ch) > columns) break;
        head += ch;
      }
      lines.push(head);
      rest = rest.slice(head.length);
    }
    if (rest === '') continue;
    if (line === '') line = rest;
    else if (stringWidth(`${line} ${rest}`) <= columns) line = `${line} ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** A ZStack or client error in full: `CODE: description` then the details, wrapped and indented. */
export function errorBlock(error: { code: string; description?: string | null; details?: string | null }, indent: string, columns = 100): string[] {
  const head = wrapText(`${error.code}${error.description ? `: ${error.description}` : ''}`, columns);
  const details = error.details ? wrapText(error.details, columns - 2) : [];
  return [...head.map((l) => indent + l), ...details.map((l) => `${indent}  ${l}`)];
}
