// The zod schemas of single config values. Each says in its `error` what it expects, in the words a
// problem shows (key, value, expected); values come out parsed (durations in ms, limits as {kind, value}).
import { z } from 'zod';
import { parseDuration } from '../time-format.js';
import { parseLimit } from '../count-or-percent.js';
import { distance } from '../text/did-you-mean.js';

export const str = (expected = 'a non-empty string') => z.string({ error: expected }).regex(/\S/, { error: expected });
export const bool = z.boolean({ error: 'true or false' });
export const int = (min: number, max: number, expected: string) =>
  z.int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
export const positiveInt = int(1, Number.MAX_SAFE_INTEGER, 'a positive integer');
export const positiveMs = int(1, Number.MAX_SAFE_INTEGER, 'a positive integer (milliseconds)');
export const oneOf = <const T extends readonly [string, ...string[]]>(choices: T) => z.enum(choices, { error: `one of ${choices.join(', ')}` });

/** A list whose every item passes `ok`, reported as one problem at the list's key (not one per item). */
export const listOf = <T>(expected: string, ok: (item: unknown) => item is T) =>
  z.array(z.unknown(), { error: expected }).refine((list) => list.every(ok), { error: expected }).transform((list) => list as T[]);
export const isName = (s: unknown): s is string => typeof s === 'string' && s !== '';

const DURATION_EXPECTED = 'a duration like "24h", "30m", "90s", "1500ms", "2d" or "0"';

/** A duration string (or a plain number of milliseconds) as milliseconds. */
export function duration(positive: boolean) {
  const expected = positive ? `a positive ${DURATION_EXPECTED.slice(2)} (not "0")` : DURATION_EXPECTED;
  return z.union([z.string().regex(/^(0|(\d+(\.\d+)?(ms|s|m|h|d|w))+)$/, { error: expected }), z.int().min(0, { error: expected })], { error: expected }).transform((value, ctx) => {
    const ms = typeof value === 'string' ? parseDuration(value) : value;
    if (ms !== null && (ms > 0 || !positive)) return ms;
    ctx.addIssue({ code: 'custom', message: expected, input: value });
    return z.NEVER;
  });
}

/** A count (integer >= minCount) or "N%" (0 < N <= 100, or 0 <= N when zero is allowed). */
export function limit(minCount: 0 | 1, example: string) {
  const expected = `${minCount === 1 ? 'a positive integer' : 'an integer >= 0'} or a percentage like "${example}"`;
  // Numbers come from JSON; flags and env give text, where digit strings are counts.
  return z.union([z.string().regex(/^\d+(\.\d+)?%$|^\d+$/, { error: expected }), z.int().min(minCount, { error: expected })], { error: expected }).transform((value, ctx) => {
    const parsed = parseLimit(String(value), minCount);
    if (parsed) return parsed;
    ctx.addIssue({ code: 'custom', message: expected, input: value });
    return z.NEVER;
  });
}

/** An http(s) base URL without credentials, query or /zstack/v1; trailing slashes dropped. */
export const httpUrl = z.string({ error: 'an http:// or https:// URL of the management node, such as "http://10.0.0.5:8080"' }).transform((value, ctx) => {
  const fail = (message: string, input: unknown = value) => (ctx.addIssue({ code: 'custom', message, input }), z.NEVER);
  const url = URL.canParse(value) ? new URL(value) : null;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return fail('an http:// or https:// URL of the management node, such as "http://10.0.0.5:8080"');
  if (url.username || url.password) {
    url.username = '';
    url.password = '';
    return fail('a URL without user:password@ (use zstack.accountName and zstack.password)', `${url.href} (credentials removed)`);
  }
  if (url.search || url.hash) return fail('a URL without ?query or #fragment');
  if (/\/zstack\/v1\/?$/.test(url.pathname)) return fail('the base URL without /zstack/v1 (it is appended)');
  return value.replace(/\/+$/, '');
});

const LISTEN_EXPECTED = 'host:port, such as "127.0.0.1:9477" or "[::1]:9477"';
export const listen = z.string({ error: LISTEN_EXPECTED }).regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, { error: LISTEN_EXPECTED })
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, { error: LISTEN_EXPECTED });

/** An object whose keys are exactly `shape`'s; an unknown key names the known ones and the likeliest one meant. */
export function strict<S extends z.ZodRawShape>(shape: S, expected: string) {
  const known = Object.keys(shape).sort();
  return z.strictObject(shape, {
    error: (issue) => issue.code !== 'unrecognized_keys' ? expected : `no such key; known keys here: ${known.join(', ')}${didYouMean(issue.keys, known)}`,
  });
}

function didYouMean(unknown: readonly string[], known: readonly string[]): string {
  const guesses = unknown.flatMap((key) => {
    const best = known.map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
    return best && best.d <= Math.max(1, Math.floor(key.length / 3)) ? [unknown.length === 1 ? best.k : `${best.k} for ${key}`] : [];
  });
  return guesses.length > 0 ? `; did you mean ${guesses.join(', ')}?` : '';
}
