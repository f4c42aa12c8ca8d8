// Where the CLI's logs go and how they look. On a terminal: short human lines at warning and above
// (info with -v, any level with --log-level), drawn around the progress bar. Elsewhere (stderr is a pipe
// or a file, or --log-format json): pino's JSON lines, the same as the daemon writes.
import pino from 'pino';
import { UsageError } from '../errors.js';
import { createLogger } from '../log.js';
import { clockTime } from '../time-format.js';
import { printable } from '../text/printable.js';
import type { Terminal } from './terminal.js';

/** The flags every command takes for its logs (args.ts COMMON_OPTIONS). */
export interface LogFlags {
  verbose?: boolean;
  'log-level'?: string;
  'log-format'?: string;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const FORMATS = ['auto', 'human', 'json'];

interface LogChoice {
  format: 'human' | 'json';
  level: string;
}

/** The format and level from the flags, the config's log.level and whether stderr is a terminal. */
export function logChoice(flags: LogFlags, configLevel: string, stderrIsTty: boolean): LogChoice {
  const asked = flags['log-format'] ?? 'auto';
  if (!FORMATS.includes(asked)) throw new UsageError(`--log-format: got "${printable(asked.slice(0, 40))}", expected auto, human or json`);
  const level = flags['log-level'];
  if (level !== undefined && !LEVELS.includes(level)) {
    throw new UsageError(`--log-level: got "${printable(level.slice(0, 40))}", expected one of ${LEVELS.join(', ')}`);
  }
  const format = asked === 'json' || (asked === 'auto' && !stderrIsTty) ? 'json' : 'human';
  const fallback = format === 'human' ? 'warn' : configLevel;
  return { format, level: level ?? (flags.verbose === true && pino.levels.values[fallback] > pino.levels.values.info ? 'info' : fallback) };
}

export function cliLogger(choice: LogChoice, terminal: Terminal): pino.Logger {
  if (choice.format === 'json') return createLogger({ level: choice.level, destination: 'stderr' });
  return createLogger({ level: choice.level, destination: { write: (json: string) => terminal.line(humanLine(json)) } });
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };
const NOT_SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);
const FIELD_MAX = 160;

/** One pino JSON line as `10:57:20 warning: attach failed  vm=... error=SYS.1006: ...`, escaped. */
function humanLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return printable(json.trimEnd());
  }
  const time = typeof entry.time === 'string' ? `${clockTime(Date.parse(entry.time))} ` : '';
  const level = LEVEL_NAMES[Number(entry.level)] ?? 'log';
  const fields = Object.entries(entry)
    .filter(([k, v]) => !NOT_SHOWN.has(k) && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${fieldText(v)}`);
  return printable(`${time}${level}: ${String(entry.msg ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}`);
}

function fieldText(value: unknown): string {
  const text = typeof value === 'string' ? value : errorText(value) ?? JSON.stringify(value);
  return text.length > FIELD_MAX ? `${text.slice(0, FIELD_MAX - 1)}…` : text;
}

/** `{ code, description | message, details }` (a ZStack or client error) as `CODE: description (details)`. */
function errorText(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || !('code' in value)) return null;
  const e = value as { code: unknown; description?: unknown; message?: unknown; details?: unknown };
  const what = typeof e.description === 'string' ? e.description : typeof e.message === 'string' ? e.message : '';
  const details = typeof e.details === 'string' && e.details !== '' ? ` (${e.details})` : '';
  return `${String(e.code)}${what ? `: ${what}` : ''}${details}`;
}
