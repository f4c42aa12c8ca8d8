// Small validators for config values. Each returns the parsed value or INVALID after reporting what
// it expected; the caller collects every problem before failing.
import { parseLimit, type Limit } from './count-or-percent.js';
import { parseDuration } from './duration.js';

export const INVALID = Symbol('invalid');
export type Invalid = typeof INVALID;

export interface FieldContext {
  key: string;
  report(key: string, value: unknown, expected: string): void;
}

export type Field<T> = (value: unknown, ctx: FieldContext) => T | Invalid;

export function fail(ctx: FieldContext, value: unknown, expected: string): Invalid {
  ctx.report(ctx.key, value, expected);
  return INVALID;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function nullable<T>(field: Field<T>): Field<T | null> {
  return (value, ctx) => (value === null ? null : field(value, ctx));
}

export const nonEmptyString: Field<string> = (value, ctx) =>
  typeof value === 'string' && value.trim() !== '' ? value : fail(ctx, value, 'a non-empty string');

export const bool: Field<boolean> = (value, ctx) =>
  typeof value === 'boolean' ? value : fail(ctx, value, 'true or false');

export function integer(min: number, max: number, expected: string): Field<number> {
  return (value, ctx) =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
      ? value
      : fail(ctx, value, expected);
}

export const positiveInt = integer(1, Number.MAX_SAFE_INTEGER, 'a positive integer');
export const nonNegativeInt = integer(0, Number.MAX_SAFE_INTEGER, 'an integer >= 0');
export const positiveMs = integer(1, Number.MAX_SAFE_INTEGER, 'a positive integer (milliseconds)');

const DURATION_EXPECTED = 'a duration like "24h", "30m", "90s", "1500ms", "2d" or "0"';

/** A duration string (or a plain number of milliseconds) turned into milliseconds. */
export function duration(opts: { positive: boolean }): Field<number> {
  const expected = opts.positive ? `a positive ${DURATION_EXPECTED.slice(2)} (not "0")` : DURATION_EXPECTED;
  return (value, ctx) => {
    const ms =
      typeof value === 'string' ? parseDuration(value) : Number.isSafeInteger(value) ? (value as number) : null;
    if (ms === null || ms < 0 || (opts.positive && ms === 0)) return fail(ctx, value, expected);
    return ms;
  };
}

/** A count (integer >= minCount) or "N%" (0 < N <= 100, or 0 <= N when zero is allowed). */
export function limit(minCount: 0 | 1, example: string): Field<Limit> {
  const expected = `${minCount === 1 ? 'a positive integer' : 'an integer >= 0'} or a percentage like "${example}"`;
  return (value, ctx) => {
    // Numbers come from JSON; flags and env give text, where digit strings are counts.
    const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
    const parsed = typeof text === 'string' ? parseLimit(text, minCount) : null;
    return parsed ?? fail(ctx, value, expected);
  };
}

export function oneOf<T extends string>(choices: readonly T[]): Field<T> {
  return (value, ctx) =>
    typeof value === 'string' && (choices as readonly string[]).includes(value)
      ? (value as T)
      : fail(ctx, value, `one of ${choices.join(', ')}`);
}

export const httpUrl: Field<string> = (value, ctx) => {
  const expected = 'an http:// or https:// URL of the management node, such as "http://10.0.0.5:8080"';
  if (typeof value !== 'string') return fail(ctx, value, expected);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(ctx, value, expected);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(ctx, value, expected);
  if (url.username || url.password) {
    url.username = '';
    url.password = '';
    return fail(ctx, `${url.href} (credentials removed)`, 'a URL without user:password@ (use zstack.accountName and zstack.password)');
  }
  if (url.search || url.hash) return fail(ctx, value, 'a URL without ?query or #fragment');
  if (/\/zstack\/v1\/?$/.test(url.pathname)) return fail(ctx, value, 'the base URL without /zstack/v1 (it is appended)');
  return value.replace(/\/+$/, '');
};

const LISTEN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export const listen: Field<string> = (value, ctx) => {
  const m = typeof value === 'string' ? LISTEN.exec(value) : null;
  return m && Number(m[2]) <= 65535 ? (value as string) : fail(ctx, value, 'host:port, such as "127.0.0.1:9477" or "[::1]:9477"');
};
