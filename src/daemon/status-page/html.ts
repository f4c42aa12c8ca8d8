// HTML built by a tagged template that escapes every interpolated value (VM names are user input);
// only values already built by `html` pass through unescaped. Control and bidi characters (an ESC, a
// right-to-left override in a VM name) are shown escaped (`\u202e`), as the CLI shows them.
import { printable } from '../../text/printable.js';
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(value: unknown): string {
  return printable(String(value), { keepNewlines: true }).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

function part(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(part).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(value);
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += part(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}
