// Text from the management node, the ISO folder or the ledger (VM names, tags, error details, file
// names) is shown escaped, so it can never move the cursor, retitle the window, fake a line of output
// or reorder text in the operator's terminal. JSON output needs none of this: JSON.stringify escapes.

// C0 controls (newline aside, optionally), DEL, C1 controls, and the invisible format
// characters that reorder or hide text (bidi overrides and isolates, zero-width, BOM).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u0009\u000a-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_KEEP_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

function escape(ch: string): string {
  if (ch === '\t') return '\\t'; // a TAB would break a table's columns
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control or invisible formatting character shown as `\t`, `\xNN` or `\uNNNN`. */
export function printable(text: string, opts: { keepNewlines?: boolean } = {}): string {
  return text.replace(opts.keepNewlines ? UNSAFE_KEEP_NEWLINE : UNSAFE, escape);
}
