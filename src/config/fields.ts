// The zod schemas of single config values. Each says in its `error` what it expects, in the words a
// problem shows (key, value, expected); values come out parsed (durations in ms, limits as {kind, value}).
import { z } from 'zod';
import { parseDuration } from '../time-format.js';
import { parseLimit } from '../count-or-percent.js';
import { distance } from '../text/did-you-mean.js';
import { EVENT_NAMES, DEFAULT_EVENTS, type EventName } from '../events.js';
import { isPlainObject } from '../plain-object.js';

export const str = (expected = 'a non-empty string') => z.string({ error: expected }).regex(/\S/, { error: expected });
export const orNull = (expected?: string) => str(expected).nullable().prefault(null);
export const bool = (value: boolean) => z.boolean({ error: 'true or false' }).prefault(value);
export const int = (min: number, expected: string, max = Number.MAX_SAFE_INTEGER) =>
  z.int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
export const positiveInt = (value: number) => int(1, 'a positive integer').prefault(value);
export const positiveMs = (value: number) => int(1, 'a positive integer (milliseconds)').prefault(value);
export const oneOf = <const T extends readonly [string, ...string[]]>(choices: T, value: T[number] = choices[0]) =>
  z.enum(choices, { error: `one of ${choices.join(', ')}` }).prefault(value);

/** A list whose every item passes `ok`, reported as one problem at the list's key (not one per item). */
export const listOf = <T>(expected: string, ok: (item: unknown) => item is T) =>
  z.array(z.unknown(), { error: expected }).refine((list) => list.every(ok), { error: expected }).transform((list) => list as T[]);

/** `value` through `parse` (null: not valid), else the issue `expected`. */
const parsedBy = <I, O>(expected: string, parse: (value: I) => O | null) => (value: I, ctx: z.RefinementCtx) => {
  const parsed = parse(value);
  if (parsed !== null) return parsed;
  ctx.addIssue({ code: 'custom', message: expected, input: value });
  return z.NEVER;
};

const DURATION_EXPECTED = 'a duration like "24h", "30m", "90s", "1500ms", "2d" or "0"';
/** The duration schemas: a section (schema.ts) gives their values, in ms, as "<key>Ms". */
export const DURATIONS = new WeakSet<z.core.$ZodType>();
/** A duration string (or a plain number of milliseconds) as milliseconds. */
export function duration(value: string, positive = false) {
  const expected = positive ? `a positive ${DURATION_EXPECTED.slice(2)} (not "0")` : DURATION_EXPECTED;
  const schema = z.union([z.string().regex(/^(0|(\d+(\.\d+)?(ms|s|m|h|d|w))+)$/, { error: expected }), z.int().min(0, { error: expected })], { error: expected })
    .transform(parsedBy(expected, (v) => { const ms = typeof v === 'string' ? parseDuration(v) : v; return ms !== null && (ms > 0 || !positive) ? ms : null; }))
    .prefault(value);
  DURATIONS.add(schema);
  return schema;
}
export type Duration = ReturnType<typeof duration>;

/** A count (integer >= minCount) or "N%" (0 < N <= 100, or 0 <= N when zero is allowed). */
export function limit(minCount: 0 | 1, example: string, value: string | number) {
  const expected = `${minCount === 1 ? 'a positive integer' : 'an integer >= 0'} or a percentage like "${example}"`;
  // A digit string is a count too.
  return z.union([z.string().regex(/^\d+(\.\d+)?%$|^\d+$/, { error: expected }), z.int().min(minCount, { error: expected })], { error: expected })
    .transform(parsedBy(expected, (v) => parseLimit(String(v), minCount))).prefault(value);
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

// ha.leaderCheck: how a node tells whether it leads a pair of management nodes (only the leader attaches).
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const isAddress = (a: string) => IPV4.test(a) || (a.includes(':') && /^[0-9A-Fa-f:.]+$/.test(a));
const only = (value: unknown, key: string) => isPlainObject(value) && Object.keys(value).length === 1 && key in value;
// Every check aborts its option, so that a wrong value is one problem at ha.leaderCheck (the union's),
// whose message follows what the value was meant to be: a vip, a command, or any of the four.
const abort = { abort: true };
export type LeaderCheckConfig = { kind: 'none' } | { kind: 'zsha2' } | { kind: 'vip'; address: string } | { kind: 'command'; argv: string[] };
export const leaderCheck = z.union([
  z.enum(['none', 'zsha2']).transform((kind): LeaderCheckConfig => ({ kind })),
  z.strictObject({ vip: z.string().refine(isAddress, abort) }).transform((v): LeaderCheckConfig => ({ kind: 'vip', address: v.vip })),
  // The first word must be a path: the daemon runs it without a shell, and systemd's PATH is short.
  z.strictObject({ command: z.array(z.string().min(1, abort)).min(1, abort).refine((argv) => argv[0].startsWith('/'), abort) })
    .transform((v): LeaderCheckConfig => ({ kind: 'command', argv: v.command })),
], {
  error: ({ input }) => only(input, 'vip') ? 'an IPv4 or IPv6 address in {"vip": ADDR}, such as {"vip": "10.0.0.10"}'
    : only(input, 'command') ? 'a non-empty list of strings starting with an absolute path in {"command": [...]}, such as {"command": ["/usr/local/bin/am-i-leader"]}'
    : '"none", "zsha2", {"vip": "10.0.0.10"} (leader when the address is on a local interface) or {"command": ["/path/to/check", "arg"]} (leader when it exits 0)',
}).prefault('none');

/** The peer's base URL (its http.listen), e.g. "http://10.0.0.6:9477". */
export const peerUrl = httpUrl.refine((url) => !/\/zstack\/v1/.test(url), { error: "the peer daemon's base URL (its http.listen), not the MN's API" });

// notify.webhooks: URLs and header values are secrets (a robot's URL carries its access token), shown
// as "[redacted]" in problems (schema.ts).
const WEBHOOK_FORMATS = ['json', 'dingtalk', 'wecom', 'feishu', 'slack'] as const;
/** Formats with a signing scheme that uses secretFile. */
const SIGNED_FORMATS: readonly string[] = ['json', 'dingtalk', 'feishu'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Set by the notifier itself. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'x-gtr-signature', 'transfer-encoding', 'connection']);
const HEADERS_EXPECTED = `an object of header name -> string value (not ${[...RESERVED_HEADERS].join(', ')}; no line breaks)`;
const isHeader = ([name, value]: [string, unknown]) => HEADER_NAME.test(name) && !RESERVED_HEADERS.has(name.toLowerCase()) && typeof value === 'string' && !/[\r\n]/.test(value);
const WEBHOOK_URL_EXPECTED = "an http:// or https:// URL (the robot's webhook address)";
const EVENTS_EXPECTED = `a non-empty list of ${EVENT_NAMES.join(', ')} (default: all but rollout.wave-started)`;

export const webhook = strict({
  url: z.string({ error: WEBHOOK_URL_EXPECTED }).refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol) && new URL(v).hostname !== '', { error: WEBHOOK_URL_EXPECTED }),
  events: listOf(EVENTS_EXPECTED, (e): e is EventName => (EVENT_NAMES as readonly unknown[]).includes(e))
    .refine((list) => list.length > 0, { error: EVENTS_EXPECTED }).transform((list) => [...new Set(list)]).prefault([...DEFAULT_EVENTS]),
  format: oneOf(WEBHOOK_FORMATS),
  headers: z.unknown().refine((v) => isPlainObject(v) && Object.entries(v).every(isHeader), { error: HEADERS_EXPECTED })
    .transform((h) => ({ ...(h as Record<string, string>) })).prefault({}),
  secretFile: orNull('the path of a file holding the signing secret'),
}, 'an object {url, events?, format?, headers?, secretFile?}').superRefine((hook, ctx) => {
  if (hook.secretFile !== null && typeof hook.format === 'string' && !SIGNED_FORMATS.includes(hook.format)) {
    ctx.addIssue({ code: 'custom', path: ['secretFile'], input: hook.secretFile, message: `no secretFile: format ${hook.format} has no signing (only ${SIGNED_FORMATS.join(', ')})` });
  }
});
