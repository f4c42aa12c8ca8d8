// Flag parsing on node:util parseArgs; every mistake becomes a UsageError naming the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, messageOf } from '../errors.js';
import { isUuid } from '../uuid.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export const COMMON_OPTIONS = {
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export function parseFlags<O extends Options>(command: string, argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals, strict: true });
  } catch (error) {
    const message = messageOf(error);
    throw new UsageError(`${command}: ${message}`);
  }
}

export function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${flag}: got "${value}", expected a positive integer`);
  return Number(value);
}


export function vmUuids(values: string[] | undefined): string[] | undefined {
  if (!values || values.length === 0) return undefined;
  for (const v of values) {
    if (!isUuid(v)) throw new UsageError(`--vm: got "${v.slice(0, 80)}", expected a VM uuid (32 lowercase hex characters)`);
  }
  return [...new Set(values)];
}
