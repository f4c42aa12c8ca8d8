// Flag parsing on node:util parseArgs; every mistake becomes a UsageError naming the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import type { LogFlags } from './log-output.js';
import { printable } from '../text/printable.js';
import type { TableOptions } from '../text/table.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export const COMMON_OPTIONS = {
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  verbose: { type: 'boolean', short: 'v' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  wide: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
} as const satisfies Options;

/** What every command's flags give its context: the config file and the log flags (cli/log-output.ts). */
export interface CommonFlags extends LogFlags {
  config?: string;
}

/** Tables whole (--wide or -o wide), else cut at 40 columns (text/table.ts). */
export function tableOptions(values: { wide?: boolean; output?: string }): TableOptions {
  if (values.output !== undefined && values.output !== 'wide') throw new UsageError(`-o/--output: got "${printable(values.output.slice(0, 40))}", expected wide (or use --json)`);
  return { wide: values.wide === true || values.output === 'wide' };
}

export const LOG_FLAGS_HELP = `Logs (stderr): on a terminal, short lines at warning and above; -v (--verbose) adds info,
--log-level LEVEL (trace, debug, info, warn, error, fatal, silent) sets any level. When stderr is not a
terminal, or with --log-format json, JSON lines at log.level (info unless configured).
`;

export function parseFlags<O extends Options>(command: string, argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${command}: ${message}`);
  }
}

export function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${flag}: got "${value}", expected a positive integer`);
  return Number(value);
}

const UUID = /^[0-9a-f]{32}$/;

export function vmUuids(values: string[] | undefined): string[] | undefined {
  if (!values || values.length === 0) return undefined;
  for (const v of values) {
    if (!UUID.test(v)) throw new UsageError(`--vm: got "${v.slice(0, 80)}", expected a VM uuid (32 lowercase hex characters)`);
  }
  return [...new Set(values)];
}
