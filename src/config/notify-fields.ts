// Validator for notify.webhooks: a list of {url, events?, format?, headers?, secretFile?}. URLs and
// header values are secrets (a robot's URL carries its access token): problems show "[redacted]".
import { EVENT_NAMES, DEFAULT_EVENTS, type EventName } from '../events.js';
import { INVALID, isPlainObject, type Field, type FieldContext } from './fields.js';

export const WEBHOOK_FORMATS = ['json', 'dingtalk', 'wecom', 'feishu', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];
/** Formats with a signing scheme that uses secretFile. */
export const SIGNED_FORMATS: readonly WebhookFormat[] = ['json', 'dingtalk', 'feishu'];

export interface WebhookConfig {
  /** Secret: never logged (redactedConfig hides it). */
  url: string;
  events: EventName[];
  format: WebhookFormat;
  /** Secret values. */
  headers: Record<string, string>;
  secretFile: string | null;
}

const KEYS = ['url', 'events', 'format', 'headers', 'secretFile'];
const REDACTED = '[redacted]';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Set by the notifier itself. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'x-gtr-signature', 'transfer-encoding', 'connection']);

function httpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

function webhook(value: unknown, key: string, ctx: FieldContext): WebhookConfig | typeof INVALID {
  if (!isPlainObject(value)) {
    ctx.report(key, REDACTED, 'an object {url, events?, format?, headers?, secretFile?}');
    return INVALID;
  }
  const problems: Array<[string, unknown, string]> = [];
  for (const name of Object.keys(value)) {
    if (!KEYS.includes(name)) problems.push([`${key}.${name}`, REDACTED, `no such key; known keys here: ${KEYS.join(', ')}`]);
  }
  if (!httpUrl(value.url)) problems.push([`${key}.url`, value.url === undefined ? undefined : REDACTED, 'an http:// or https:// URL (the robot\'s webhook address)']);
  const format = value.format ?? 'json';
  if (typeof format !== 'string' || !(WEBHOOK_FORMATS as readonly string[]).includes(format)) {
    problems.push([`${key}.format`, format, `one of ${WEBHOOK_FORMATS.join(', ')}`]);
  }
  const events = value.events ?? DEFAULT_EVENTS;
  if (!Array.isArray(events) || events.length === 0 || events.some((e) => !(EVENT_NAMES as readonly unknown[]).includes(e))) {
    problems.push([`${key}.events`, events, `a non-empty list of ${EVENT_NAMES.join(', ')} (default: all but rollout.wave-started)`]);
  }
  const headers = value.headers ?? {};
  if (!isPlainObject(headers) || Object.entries(headers).some(([n, v]) => !HEADER_NAME.test(n) || RESERVED_HEADERS.has(n.toLowerCase()) || typeof v !== 'string' || /[\r\n]/.test(v))) {
    const names = isPlainObject(headers) ? Object.keys(headers) : REDACTED;
    problems.push([`${key}.headers`, names, `an object of header name -> string value (not ${[...RESERVED_HEADERS].join(', ')}; no line breaks)`]);
  }
  const secretFile = value.secretFile ?? null;
  if (secretFile !== null && (typeof secretFile !== 'string' || secretFile === '')) {
    problems.push([`${key}.secretFile`, secretFile, 'the path of a file holding the signing secret']);
  } else if (secretFile !== null && !(SIGNED_FORMATS as readonly unknown[]).includes(format)) {
    problems.push([`${key}.secretFile`, secretFile, `no secretFile: format ${String(format)} has no signing (only ${SIGNED_FORMATS.join(', ')})`]);
  }
  for (const [k, v, expected] of problems) ctx.report(k, v, expected);
  if (problems.length > 0) return INVALID;
  return {
    url: value.url as string,
    events: [...new Set(events as EventName[])],
    format: format as WebhookFormat,
    headers: { ...(headers as Record<string, string>) },
    secretFile: secretFile as string | null,
  };
}

export const webhooks: Field<WebhookConfig[]> = (value, ctx) => {
  if (!Array.isArray(value)) {
    ctx.report(ctx.key, isPlainObject(value) ? REDACTED : value, 'a list of webhooks [{url, events?, format?, headers?, secretFile?}]');
    return INVALID;
  }
  const out = value.map((entry, i) => webhook(entry, `${ctx.key}[${i}]`, ctx));
  return out.some((w) => w === INVALID) ? INVALID : (out as WebhookConfig[]);
};
