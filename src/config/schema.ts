// The configuration's one schema (DESIGN.md section 4): every section a strict object, every key with
// its default (in the file's own shape and units, DEFAULT_FILE_CONFIG) and every value parsed on the
// way in (durations to ms, limits to {kind, value}, wave lists to steps). `Config` is what it yields.
// config/default.json holds the same defaults; a test keeps the two equal.
import cron from 'node-cron';
import { z } from 'zod';
import { parseWaveSpec } from '../count-or-percent.js';
import { bool, duration, DURATIONS, httpUrl, int, leaderCheck, limit, listen, listOf, oneOf, orNull, peerUrl, positiveInt, positiveMs, str, strict, webhook, type Duration } from './fields.js';
import { isPlainObject, setOwn } from '../plain-object.js';
import { REDACTED } from '../redacted.js';

type Renamed<S, T> = { [K in keyof T as K extends keyof S & string ? (S[K] extends Duration ? `${K}Ms` : K) : K]: T[K] };
/** A strict object that a file may leave out (its keys then take their defaults); durations come out as "<key>Ms". */
const section = <S extends z.ZodRawShape>(shape: S) => strict(shape, 'an object').prefault({} as never)
  .transform((value) => Object.fromEntries(Object.entries(value).map(([k, v]) => [DURATIONS.has(shape[k]) ? `${k}Ms` : k, v])) as Renamed<S, typeof value>);

const CRON_EXPECTED = 'a cron expression with five or six fields, such as "*/30 * * * *"';
const cronExpression = z.string({ error: CRON_EXPECTED })
  .refine((v) => [5, 6].includes(v.trim().split(/\s+/).length) && cron.validate(v), { error: CRON_EXPECTED });

const isTimeZone = (zone: string) => {
  try {
    return zone !== '' && Boolean(new Intl.DateTimeFormat('en-US', { timeZone: zone }));
  } catch {
    return false;
  }
};
/** The host's zone (TZ, else the system's), as Intl resolves it; UTC when it resolves to no IANA zone. */
function hostTimeZone(): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && isTimeZone(zone) ? zone : 'UTC';
}
const TIME_ZONE_EXPECTED = 'an IANA time zone such as "UTC" or "Europe/Berlin", or null for the host\'s zone';
const timeZone = z.string({ error: TIME_ZONE_EXPECTED }).refine(isTimeZone, { error: TIME_ZONE_EXPECTED }).nullable().transform((zone) => zone ?? hostTimeZone());

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const HHMM_EXPECTED = 'a time "HH:MM" from 00:00 to 23:59 in schedule.timezone';
const hhmm = z.string({ error: HHMM_EXPECTED }).regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: HHMM_EXPECTED });
/** A maintenance window; an end at or before the start crosses midnight. */
const window = strict({
  days: listOf(`a list of days out of ${DAYS.join(', ')} (empty or missing means every day)`, (d): d is string => DAYS.includes(d as string)).prefault([]),
  start: hhmm,
  end: hhmm,
}, 'an object like {"days": ["sat", "sun"], "start": "22:00", "end": "04:00"}');

const names = listOf('a list of non-empty strings', (s): s is string => typeof s === 'string' && s !== '').optional();
const SELECTOR = { zoneUuids: names, clusterUuids: names, hostUuids: names, vmUuids: names, platforms: names, tags: names };
/**
 * null means "no selector", and so does one that names nothing. An include selector must name
 * something: an empty one would match no VM and so silently exclude the whole fleet.
 */
const selector = (mustSelect: boolean) =>
  strict(SELECTOR, `null or an object with lists of strings under ${Object.keys(SELECTOR).join(', ')}`).nullable().transform((s, ctx) => {
    if (s !== null && Object.values(s).some((list) => list && list.length > 0)) return s;
    if (s !== null && mustSelect) ctx.addIssue({ code: 'custom', input: s, message: 'at least one non-empty list (use null to include every VM)' });
    return null;
  }).prefault(null);

const waves = z.string({ error: 'a comma-separated list of wave sizes like "1,10%,50%,100%"' }).transform((text, ctx) => {
  const steps = parseWaveSpec(text);
  if (typeof steps !== 'string') return steps;
  ctx.addIssue({ code: 'custom', message: steps, input: text });
  return z.NEVER;
}).prefault('1,10%,50%,100%');

const NO_LIMIT = 'an integer >= 0 (0: no limit)';
const command = orNull('a non-empty command, or null');

export const configSchema = strict({
  $schema: orNull('the path or URL of config/schema.json, for editors'),
  zstack: section({
    endpoint: httpUrl.prefault('http://127.0.0.1:8080'),
    accountName: str().prefault('admin'),
    password: orNull(),
    passwordFile: orNull(),
    accessKeyId: orNull(),
    accessKeySecret: orNull(),
    accessKeySecretFile: orNull(),
    requestTimeoutMs: positiveMs(30_000),
    pageSize: int(1, 'an integer from 1 to 10000', 10_000).prefault(1000),
    jobPollIntervalMs: positiveMs(1000),
    jobTimeoutMs: positiveMs(1_800_000),
    recordVersionTag: bool(false),
    tls: section({ caFile: orNull(), rejectUnauthorized: bool(true) }),
  }),
  isoDir: str().prefault('/opt/zstack-dvd'),
  database: str().prefault('/var/lib/guesttools-reconciler/state.db'),
  schedule: section({
    cron: cronExpression.prefault('*/30 * * * *'),
    timezone: timeZone.prefault(null),
    windows: z.array(window, { error: 'a list of windows like {"days": ["sat"], "start": "22:00", "end": "04:00"} (empty: always open)' }).prefault([]),
    jitter: duration('0'),
  }),
  policy: section({
    maxConcurrency: limit(1, '20%', 10),
    maxPerHost: positiveInt(2),
    maxErrors: limit(0, '5%', '5%'),
    maxPerRun: int(0, NO_LIMIT).prefault(0),
    attachUntagged: bool(false),
    allowPrerelease: bool(false),
    // Must be positive: 0 would switch off the guards against attaching the same target twice.
    reattachAfter: duration('24h', true),
    quarantineAfter: positiveInt(3),
    quarantineBase: duration('1h', true),
    maxAttempts: positiveInt(3),
    ejectUserIso: bool(false),
    include: selector(true),
    exclude: selector(false),
    mode: oneOf(['auto', 'rollout']),
    isoSoak: duration('0'),
    detachAfterVerify: bool(true),
  }),
  install: section({
    mode: oneOf(['off', 'qga']),
    maxConcurrency: positiveInt(10),
    settle: duration('3m'),
    timeout: duration('30m', true),
    linux: section({ command }),
    windows: section({ command }),
  }),
  rollout: section({ autoStart: bool(false), waves, soak: duration('30m'), waveTimeout: duration('6h', true), maxErrors: limit(0, '5%', '5%') }),
  ledger: section({ retainDays: int(0, 'an integer >= 0 (0: keep forever)').prefault(90), retainRuns: int(0, NO_LIMIT).prefault(10_000) }),
  http: section({ listen: listen.prefault('127.0.0.1:9477'), auth: section({ tokenFile: orNull(), basicFile: orNull() }) }),
  notify: section({ webhooks: z.array(webhook, { error: 'a list of webhooks [{url, events?, format?, headers?, secretFile?}]' }).prefault([]) }),
  ha: section({ leaderCheck, peer: peerUrl.nullable().prefault(null), syncInterval: duration('1m', true), tokenFile: orNull() }),
  log: section({ level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info') }),
}, 'an object').transform(({ $schema: _schema, ...config }) => config);

/** Every key filled in: a file's config with nothing left out. */
type Filled<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]-?: Filled<Exclude<T[K], undefined>> } : T;

/** The defaults, in the file's shape: each key's prefault, section by section. */
function defaultsOf(schema: z.core.$ZodType): unknown {
  const def = schema._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; in?: z.core.$ZodType; innerType?: z.core.$ZodType; defaultValue?: unknown };
  if (def.type === 'object') return Object.fromEntries(Object.entries(def.shape!).map(([key, s]) => [key, defaultsOf(s)]));
  if (def.type === 'pipe') return defaultsOf(def.in!);
  return def.type === 'prefault' && isPlainObject(def.defaultValue) ? defaultsOf(def.innerType!) : def.defaultValue;
}
export const DEFAULT_FILE_CONFIG = defaultsOf(configSchema) as Readonly<Filled<z.input<typeof configSchema>>>;

/** The validated configuration: durations in milliseconds, limits a count or a percentage, waves as steps. */
export type Config = z.output<typeof configSchema>;
export type Selector = NonNullable<Config['policy']['include']>;
/** Days ('mon'..'sun', empty: every day) and 'HH:MM' start and end in schedule.timezone; end <= start crosses midnight. */
export type MaintenanceWindow = Config['schedule']['windows'][number];
export type WebhookConfig = Config['notify']['webhooks'][number];
export type WebhookFormat = WebhookConfig['format'];

type Path = ReadonlyArray<PropertyKey>;
export type Reporter = (key: string, value: unknown, expected: string) => void;

// The secrets' values are hidden in problems, and so are those of unknown keys that look like a (misspelt) secret.
const SECRET_KEYS: ReadonlySet<string> = new Set(['zstack.password', 'zstack.accessKeySecret']);
const SECRETISH = /pa?s+w|pwd|secret|token|session|key|auth|cred/i;

/** Validate a merged raw tree. Problems go to `report`, one per key; the result is only meaningful without any. */
export function buildConfig(raw: unknown, report: Reporter): Config {
  const reported = new Set<string>();
  let tree = raw;
  // Invalid values fall back to their defaults, so that the checks that read files and compare keys
  // (load.ts) still run and every problem is listed at once: each round drops the values in error
  // (a value inside a list drops the list), the next sees what that leaves (an include selector
  // emptied by it goes as well); only the first round's problems are the file's.
  for (let round = 0; round < 3; round++) {
    const parsed = configSchema.safeParse(tree ?? {}, { reportInput: true });
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
      const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : null;
      for (const path of unknownKeys ? unknownKeys.map((k) => [...issue.path, k]) : [issue.path]) {
        tree = without(tree, path);
        const key = keyOf(path);
        if (round > 0 || reported.has(key)) continue;
        reported.add(key);
        const input = unknownKeys ? (issue.input as Record<string, unknown>)[path[path.length - 1] as string] : issue.input;
        report(key, shown(path, input, unknownKeys !== null), issue.message);
      }
    }
  }
  return configSchema.parse(tree ?? {});
}

function keyOf(path: Path): string {
  return path.reduce<string>((key, part) => (typeof part === 'number' ? `${key}[${part}]` : key ? `${key}.${String(part)}` : String(part)), '');
}

/** The value a problem shows: the secrets, webhook URLs and header values as "[redacted]". */
function shown(path: Path, value: unknown, unknownKey: boolean): unknown {
  if (path[0] === 'notify' && path[1] === 'webhooks') {
    if (path.length === 2) return isPlainObject(value) ? REDACTED : value;
    if (path.length === 3 || unknownKey || path[3] === 'url') return value === undefined ? undefined : REDACTED;
    if (path[3] === 'headers') return isPlainObject(value) ? Object.keys(value) : REDACTED;
    return value;
  }
  return SECRET_KEYS.has(keyOf(path)) || (unknownKey && SECRETISH.test(String(path[path.length - 1]))) ? REDACTED : value;
}

/** `tree` without the value at `path` (copies along the path; the tree itself is not changed); a list goes whole. */
function without(tree: unknown, path: Path): unknown {
  if (!isPlainObject(tree) || path.length === 0) return undefined;
  const [head, ...rest] = path as string[];
  const copy = { ...tree };
  if (rest.length === 0) delete copy[head];
  else setOwn(copy, head, without(copy[head], rest));
  return copy;
}
