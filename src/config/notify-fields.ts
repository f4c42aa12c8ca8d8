// notify.webhooks: a list of {url, events?, format?, headers?, secretFile?}. URLs and header values are
// secrets (a robot's URL carries its access token): problems show "[redacted]" (schema.ts).
import { z } from 'zod';
import { EVENT_NAMES, DEFAULT_EVENTS, type EventName } from '../events.js';
import { isPlainObject, listOf, str, strict } from './fields.js';

export const WEBHOOK_FORMATS = ['json', 'dingtalk', 'wecom', 'feishu', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];
/** Formats with a signing scheme that uses secretFile. */
export const SIGNED_FORMATS: readonly WebhookFormat[] = ['json', 'dingtalk', 'feishu'];

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Set by the notifier itself. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'x-gtr-signature', 'transfer-encoding', 'connection']);
const HEADERS_EXPECTED = `an object of header name -> string value (not ${[...RESERVED_HEADERS].join(', ')}; no line breaks)`;
const isHeader = ([name, value]: [string, unknown]) => HEADER_NAME.test(name) && !RESERVED_HEADERS.has(name.toLowerCase()) && typeof value === 'string' && !/[\r\n]/.test(value);

const webhook = strict({
  url: z.string({ error: "an http:// or https:// URL (the robot's webhook address)" })
    .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol) && new URL(v).hostname !== '', { error: "an http:// or https:// URL (the robot's webhook address)" }),
  events: listOf(`a non-empty list of ${EVENT_NAMES.join(', ')} (default: all but rollout.wave-started)`, (e): e is EventName => (EVENT_NAMES as readonly unknown[]).includes(e))
    .refine((list) => list.length > 0, { error: `a non-empty list of ${EVENT_NAMES.join(', ')} (default: all but rollout.wave-started)` })
    .transform((list) => [...new Set(list)]).prefault([...DEFAULT_EVENTS]),
  format: z.enum(WEBHOOK_FORMATS, { error: `one of ${WEBHOOK_FORMATS.join(', ')}` }).prefault('json'),
  headers: z.unknown().refine((v) => isPlainObject(v) && Object.entries(v).every(isHeader), { error: HEADERS_EXPECTED })
    .transform((h) => ({ ...(h as Record<string, string>) })).prefault({}),
  secretFile: str('the path of a file holding the signing secret').nullable().prefault(null),
}, 'an object {url, events?, format?, headers?, secretFile?}').superRefine((hook, ctx) => {
  if (hook.secretFile !== null && typeof hook.format === 'string' && !SIGNED_FORMATS.includes(hook.format)) {
    ctx.addIssue({ code: 'custom', path: ['secretFile'], input: hook.secretFile, message: `no secretFile: format ${hook.format} has no signing (only ${SIGNED_FORMATS.join(', ')})` });
  }
});

export const webhooks = z.array(webhook, { error: 'a list of webhooks [{url, events?, format?, headers?, secretFile?}]' });
export type WebhookConfig = z.output<typeof webhook>;
