// Query-string decoding and `q` condition parsing as RestServer.handleQueryApi does it.
// Values may arrive raw (`%` from old clients) or encoded (`%25`): a `%` not followed by two hex
// digits is literal; `+` is a space (servlet decoding).
import { appendTo } from '../multimap.js';

const OPERATORS = ['!=', '>=', '<=', '!?=', '!~=', '~=', '?=', '=', '>', '<', 'is null', 'not null'] as const;
type Operator = (typeof OPERATORS)[number];

export interface Condition {
  field: string;
  op: Operator;
  value: string;
}

export type Params = Map<string, string[]>;

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Percent-decoding that keeps a lone `%` literal and decodes the bytes as UTF-8. */
function decodeComponent(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch === 37 && i + 2 < raw.length && isHex(raw.charCodeAt(i + 1)) && isHex(raw.charCodeAt(i + 2))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (ch === 43) {
      bytes.push(32);
    } else if (ch < 128) {
      bytes.push(ch);
    } else {
      // Whole code point (a surrogate pair takes two UTF-16 units).
      const cp = raw.codePointAt(i) ?? ch;
      const chunk = String.fromCodePoint(cp);
      for (const b of Buffer.from(chunk, 'utf8')) bytes.push(b);
      i += chunk.length - 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function parseQueryString(query: string): Params {
  const params: Params = new Map();
  if (!query) return params;
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = decodeComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(part.slice(eq + 1));
    appendTo(params, key, value);
  }
  return params;
}

/** The first operator of OPERATORS found anywhere in the text wins; split on its first occurrence. */
export function parseCondition(text: string): Condition | null {
  for (const op of OPERATORS) {
    const at = text.indexOf(op);
    if (at < 0) continue;
    const field = text.slice(0, at).trim();
    const value = op === 'is null' || op === 'not null' ? '' : text.slice(at + op.length);
    return { field, op, value };
  }
  return null;
}

export function noOperatorMessage(text: string): string {
  return `Invalid query parameter. The '${text}' in the parameter[q] doesn't contain any query operator. ` +
    `Valid query operators are [${OPERATORS.join(', ')}]`;
}

/** Java Boolean.valueOf: only "true", any case. */
export function javaBoolean(value: string | undefined): boolean {
  return value !== undefined && value.toLowerCase() === 'true';
}

/** SQL LIKE with `%` and `_`; a backslash escapes the next character. */
export function likeToRegExp(pattern: string): RegExp {
  let src = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '\\' && i + 1 < pattern.length) {
      src += escapeRe(pattern[++i] ?? '');
    } else if (c === '%') src += '[\\s\\S]*';
    else if (c === '_') src += '[\\s\\S]';
    else src += escapeRe(c);
  }
  return new RegExp(`${src}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
