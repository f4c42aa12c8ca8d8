// Flag parsing on node:util parseArgs; every mistake becomes a UsageError naming the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, messageOf } from '../errors.js';
import type { LogFlags } from './log-output.js';
import { printable } from '../text/printable.js';
import { didYouMean } from '../text/did-you-mean.js';
import type { TableOptions } from '../text/table.js';

type Options = NonNullable<ParseArgsConfig['options']>;

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

export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  const all = { ...COMMON_OPTIONS, ...options };
  try {
    return parseArgs({ args: argv, options: all, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(flagProblem(error, all));
  }
}

/** parseArgs' complaint in one short sentence, with the nearest known flag when it is a typo. */
function flagProblem(error: unknown, options: Options): string {
  const code = (error as { code?: string }).code;
  const message = messageOf(error);
  const flag = /^Unknown option '([^']*)'/.exec(message)?.[1] ?? /^Option '([^']*)/.exec(message)?.[1] ?? null;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== null) {
    const name = flag.replace(/^-+/, '').split('=')[0];
    return `unknown option ${printable(flag.slice(0, 40))}${didYouMean(name, Object.keys(options), (w) => `--${w}`)}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /^Unexpected argument '([^']*)'/.exec(message)?.[1] ?? '';
    return `unexpected argument "${printable(arg.slice(0, 40))}"`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== null) {
    const name = /--([a-z][a-z-]*)/.exec(flag)?.[1] ?? '';
    const spec = options[name] as Options[string] | undefined;
    return spec?.type === 'string' ? `--${name} needs a value` : `--${name} takes no value`;
  }
  return printable(message);
}

export function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${flag}: got "${value}", expected a positive integer`);
  return Number(value);
}

/** The `--vm` values (uuids or names; cli/vm-refs.ts resolves them), deduplicated; undefined when none. */
export function vmRefs(values: string[] | undefined): string[] | undefined {
  if (!values || values.length === 0) return undefined;
  if (values.some((v) => v.trim() === '')) throw new UsageError('--vm: got an empty value, expected a VM uuid or name');
  return [...new Set(values)];
}
