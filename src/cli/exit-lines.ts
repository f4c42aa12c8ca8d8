// The "Exit codes:" line of a command's --help, rendered from the catalog (EXIT and EXIT_SHORT in
// src/errors.ts, the signal exits in src/reconcile/exit-code.ts): a help text names the exit codes it can
// end with, and the numbers, and the words where the command says nothing of its own, come from there.
import { EXIT, EXIT_SHORT, type ExitName } from '../errors.js';
import { EXIT_PRECEDENCE, SIGNAL_EXIT, SIGNAL_EXIT_SHORT } from '../reconcile/exit-code.js';

/** An exit code by its catalog name ('signal': 130 / 143), with the catalog's words or the command's own. */
export type ExitLineEntry = ExitName | 'signal' | readonly [ExitName | 'signal', string];

/** Help lines are wrapped at this many columns. */
const COLUMNS = 104;
const NBSP = '\u00a0';

/**
 * `Exit codes: 0 ok, 2 usage or config, ...` for the entries in order, wrapped, with a newline at the end;
 * `precedence` adds which code wins when several apply (EXIT_PRECEDENCE).
 */
export function exitLines(entries: readonly ExitLineEntry[], options: { precedence?: boolean } = {}): string {
  const parts = entries.map((entry) => {
    const [name, words] = typeof entry === 'string' ? [entry, undefined] : entry;
    // A code and the first word of its meaning stay on one line (NBSP, a space once wrapped).
    if (name === 'signal') return `${SIGNAL_EXIT.SIGINT}${NBSP}/${NBSP}${SIGNAL_EXIT.SIGTERM}${NBSP}${words ?? SIGNAL_EXIT_SHORT}`;
    return `${EXIT[name]}${NBSP}${words ?? EXIT_SHORT[name]}`;
  });
  const order = EXIT_PRECEDENCE.map((c) => (c === 'signal' ? `${SIGNAL_EXIT.SIGINT}/${SIGNAL_EXIT.SIGTERM}` : String(c))).join(', ');
  const text = `Exit codes: ${parts.join(', ')}${options.precedence ? ` (the first of ${order} wins)` : ''}.`;
  return `${wrap(text, COLUMNS).join('\n').replaceAll(NBSP, ' ')}\n`;
}

/** Greedy wrap at spaces (the help texts are ASCII but for NBSP); a word longer than `columns` gets a line of its own. */
function wrap(text: string, columns: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= columns) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
