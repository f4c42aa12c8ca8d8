// What each webhook format puts on the wire: the message shape of the chat robot and its signing
// scheme. Pure functions of (event, webhook, secret, time), so they are tested without a network.
//   json      the event as JSON; with a secret, X-GTR-Signature: sha256=<hex HMAC-SHA256 of the body>
//   dingtalk  {"msgtype":"text"}; with a secret, &timestamp=<ms>&sign=<base64 HMAC-SHA256(secret, "ts\nsecret")>
//   wecom     {"msgtype":"text"} (the robot's key in the URL is its only credential)
//   feishu    {"msg_type":"text"}; with a secret, "timestamp" (s) and "sign" = base64 HMAC-SHA256 keyed by
//             "ts\nsecret" over an empty message, in the body
//   slack     {"text"} (incoming webhooks are not signed)
import { createHmac } from 'node:crypto';
import type { WebhookFormat } from '../config/schema.js';
import type { GtrEvent } from '../events.js';

/** The `json` format's body (DESIGN: event, time, host, runId?, rolloutId?, status?, reason?, summary, counts?). */
export interface EventPayload extends GtrEvent {
  time: string;
  host: string;
}

interface Delivery {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export function payloadOf(event: GtrEvent, host: string, at: number): EventPayload {
  const { event: name, runId, rolloutId, status, reason, summary, counts } = event;
  return JSON.parse(JSON.stringify({ event: name, time: new Date(at).toISOString(), host, runId, rolloutId, status, reason, summary, counts })) as EventPayload;
}

/** The text the chat formats send: the summary, then the facts, one per line. */
function chatText(p: EventPayload): string {
  const facts = [`event: ${p.event}`, `host: ${p.host}`];
  if (p.runId !== undefined) facts.push(`run: #${p.runId}`);
  if (p.rolloutId !== undefined) facts.push(`rollout: #${p.rolloutId}`);
  if (p.status !== undefined) facts.push(`status: ${p.status}`);
  if (p.reason !== undefined) facts.push(`reason: ${p.reason}`);
  if (p.counts) facts.push(`counts: ${Object.entries(p.counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  facts.push(`time: ${p.time}`);
  return `[gtr] ${p.summary}\n${facts.join('\n')}`;
}

const hmac = (key: string, message: string) => createHmac('sha256', key).update(message, 'utf8');

export function buildDelivery(
  hook: { url: string; format: WebhookFormat; headers: Readonly<Record<string, string>> },
  secret: string | null,
  payload: EventPayload,
  at: number,
): Delivery {
  const headers: Record<string, string> = { ...hook.headers, 'content-type': 'application/json; charset=utf-8' };
  const text = chatText(payload);
  switch (hook.format) {
    case 'json': {
      const body = JSON.stringify(payload);
      if (secret !== null) headers['x-gtr-signature'] = `sha256=${hmac(secret, body).digest('hex')}`;
      return { url: hook.url, headers, body };
    }
    case 'dingtalk': {
      const url = new URL(hook.url);
      if (secret !== null) {
        const timestamp = String(at);
        url.searchParams.set('timestamp', timestamp);
        url.searchParams.set('sign', hmac(secret, `${timestamp}\n${secret}`).digest('base64'));
      }
      return { url: url.toString(), headers, body: JSON.stringify({ msgtype: 'text', text: { content: text } }) };
    }
    case 'wecom':
      return { url: hook.url, headers, body: JSON.stringify({ msgtype: 'text', text: { content: text } }) };
    case 'feishu': {
      const signed: Record<string, string> = {};
      if (secret !== null) {
        const timestamp = String(Math.floor(at / 1000));
        signed.timestamp = timestamp;
        signed.sign = hmac(`${timestamp}\n${secret}`, '').digest('base64');
      }
      return { url: hook.url, headers, body: JSON.stringify({ ...signed, msg_type: 'text', content: { text } }) };
    }
    case 'slack':
      return { url: hook.url, headers, body: JSON.stringify({ text }) };
  }
}

/**
 * A 2xx reply can still be a refusal: DingTalk and WeCom answer `{"errcode": N}`, Feishu `{"code": N}`
 * (older: `StatusCode`); anything but 0 is the robot's "no" (bad signature, keyword, rate limit).
 */
export function refusalOf(format: WebhookFormat, body: string): string | null {
  if (format === 'json' || format === 'slack') return null;
  let reply: unknown;
  try {
    reply = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof reply !== 'object' || reply === null) return null;
  const r = reply as Record<string, unknown>;
  const code = format === 'feishu' ? (r.code ?? r.StatusCode) : r.errcode;
  if (code === undefined || code === 0) return null;
  const message = format === 'feishu' ? (r.msg ?? r.StatusMessage) : r.errmsg;
  return `code ${String(code)}${typeof message === 'string' ? `: ${message.slice(0, 120)}` : ''}`;
}
