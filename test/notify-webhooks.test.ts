// Webhook notifications delivered to real HTTP receivers on 127.0.0.1, one per format: the message
// shapes, DingTalk's and Feishu's signing, the json format's body signature, retries with backoff (a
// receiver that fails twice, then accepts) or after the receiver's Retry-After, a receiver that never answers
// (a warning after the last try; it delays only its own queue), and no URL, header or secret in logs.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import pino from 'pino';
import { DEFAULT_EVENTS, EVENT_NAMES, type GtrEvent } from '../src/events.js';
import type { WebhookConfig, WebhookFormat } from '../src/config/schema.js';
import { retryAfterMs, WebhookNotifier } from '../src/notify/notifier.js';
import { waitFor } from './helpers/cli.js';

interface Received { url: string; headers: IncomingMessage['headers']; body: string }

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A receiver on 127.0.0.1: `answer` decides each reply (return null to never answer). */
interface Reply { status: number; body: string; headers?: Record<string, string> }

async function receiver(answer: (n: number) => Reply | null = () => ({ status: 200, body: '{"errcode":0}' })) {
  const got: Received[] = [];
  let n = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ url: req.url ?? '', headers: req.headers, body });
      const reply = answer(++n);
      if (reply) res.writeHead(reply.status, reply.headers).end(reply.body);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { got, url: (path: string) => `http://127.0.0.1:${port}${path}` };
}

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, raw };
}

const hook = (format: WebhookFormat, url: string, over: Partial<WebhookConfig & { secret: string | null }> = {}) =>
  ({ url, format, events: [...DEFAULT_EVENTS], headers: {}, secretFile: null, secret: null as string | null, ...over });

const FAILED: GtrEvent = { event: 'run.failed', runId: 7, status: 'partial', summary: 'run #7 partial: 1 of 3 attaches failed', counts: { vms: 10, attach: 3, failed: 1 } };
const AT = Date.UTC(2026, 11, 3, 12, 0, 0);

function notifier(webhooks: ReturnType<typeof hook>[], logger = memoryLogger().logger) {
  return new WebhookNotifier({ webhooks, logger, host: 'mn1', now: () => AT, attempts: 3, backoffMs: 20, timeoutMs: 500 });
}

describe('notify.webhooks delivery', () => {
  it('sends each format in its own message shape, signed as the robot expects', async () => {
    const r = await receiver();
    const n = notifier([
      hook('json', r.url('/json'), { secret: 's3cret-json', headers: { 'X-Team': 'ops' } }),
      hook('dingtalk', r.url('/robot/send?access_token=tok'), { secret: 'SECdingtalk' }),
      hook('wecom', r.url('/cgi-bin/webhook/send?key=k1')),
      hook('feishu', r.url('/open-apis/bot/v2/hook/h1'), { secret: 'feishu-secret' }),
      hook('slack', r.url('/services/T/B/X')),
    ]);
    n.emit(FAILED);
    await n.close(5000);
    assert.equal(r.got.length, 5);
    const by = (prefix: string) => r.got.find((g) => g.url.startsWith(prefix))!;

    const json = by('/json');
    assert.deepEqual(JSON.parse(json.body), {
      event: 'run.failed', time: '2026-12-03T12:00:00.000Z', host: 'mn1', runId: 7, status: 'partial',
      summary: 'run #7 partial: 1 of 3 attaches failed', counts: { vms: 10, attach: 3, failed: 1 },
    });
    assert.equal(json.headers['x-gtr-signature'], `sha256=${createHmac('sha256', 's3cret-json').update(json.body).digest('hex')}`);
    assert.equal(json.headers['x-team'], 'ops');
    assert.match(String(json.headers['content-type']), /^application\/json/);

    const ding = by('/robot/send');
    const q = new URL(ding.url, 'http://x').searchParams;
    assert.equal(q.get('access_token'), 'tok');
    assert.equal(q.get('timestamp'), String(AT));
    assert.equal(q.get('sign'), createHmac('sha256', 'SECdingtalk').update(`${AT}\nSECdingtalk`).digest('base64'));
    const dingBody = JSON.parse(ding.body) as { msgtype: string; text: { content: string } };
    assert.equal(dingBody.msgtype, 'text');
    assert.match(dingBody.text.content, /^\[gtr\] run #7 partial: 1 of 3 attaches failed\n/);
    assert.match(dingBody.text.content, /host: mn1/);

    const wecom = JSON.parse(by('/cgi-bin').body) as { msgtype: string; text: { content: string } };
    assert.equal(wecom.msgtype, 'text');
    assert.match(wecom.text.content, /run #7 partial/);

    const feishu = JSON.parse(by('/open-apis').body) as { timestamp: string; sign: string; msg_type: string; content: { text: string } };
    const ts = String(Math.floor(AT / 1000));
    assert.equal(feishu.timestamp, ts);
    assert.equal(feishu.sign, createHmac('sha256', `${ts}\nfeishu-secret`).update('').digest('base64'));
    assert.equal(feishu.msg_type, 'text');
    assert.match(feishu.content.text, /run #7 partial/);

    assert.match((JSON.parse(by('/services').body) as { text: string }).text, /^\[gtr\] run #7 partial/);
  });

  it('sends only the events a webhook asked for; by default all but rollout.wave-started', async () => {
    const r = await receiver();
    const n = notifier([hook('json', r.url('/default')), hook('json', r.url('/waves'), { events: ['rollout.wave-started'] })]);
    for (const event of EVENT_NAMES) n.emit({ event, summary: event });
    await n.close(5000);
    const of = (p: string) => r.got.filter((g) => g.url === p).map((g) => (JSON.parse(g.body) as { event: string }).event);
    assert.deepEqual(of('/default'), EVENT_NAMES.filter((e) => e !== 'rollout.wave-started'));
    assert.deepEqual(of('/waves'), ['rollout.wave-started']);
  });

  it('retries 5xx with backoff until the receiver accepts', async () => {
    const flaky = await receiver((n) => (n <= 2 ? { status: 503, body: 'busy' } : { status: 200, body: '{"errcode":0}' }));
    const { logger, lines } = memoryLogger();
    const n = notifier([hook('dingtalk', flaky.url('/robot/send?access_token=t'))], logger);
    n.emit(FAILED);
    await n.close(5000);
    assert.equal(flaky.got.length, 3);
    assert.ok(lines.some((l) => l.msg === 'webhook delivered' && l.attempt === 3));
    assert.ok(!lines.some((l) => l.level === 40), 'no warning once delivered');
  });

  it("tries again after the receiver's Retry-After, not after its own backoff", async () => {
    // The backoff is ten minutes: the second try comes within waitFor's bound only if Retry-After (1 s) is used.
    const busy = await receiver((n) => (n === 1 ? { status: 429, body: 'slow down', headers: { 'Retry-After': '1' } } : { status: 200, body: '{"errcode":0}' }));
    const { logger, lines } = memoryLogger();
    const n = new WebhookNotifier({ webhooks: [hook('wecom', busy.url('/wecom?key=k'))], logger, host: 'mn1', now: () => AT, attempts: 3, backoffMs: 600_000, maxWaitMs: 600_000, timeoutMs: 5000 });
    n.emit(FAILED);
    try {
      await waitFor('the try after Retry-After', () => lines.some((l) => l.msg === 'webhook delivered' && l.attempt === 2));
    } finally {
      await n.close(0);
    }
    assert.equal(busy.got.length, 2);
    assert.equal(busy.got[1].body, busy.got[0].body, 'the same message is sent again');
  });

  it('does not try again before the Retry-After a receiver asks for, while another webhook retries on its backoff', async () => {
    const later = await receiver(() => ({ status: 503, body: 'maintenance', headers: { 'Retry-After': '3600' } }));
    const flaky = await receiver((n) => (n === 1 ? { status: 503, body: 'busy' } : { status: 200, body: '{"errcode":0}' }));
    const { logger, lines } = memoryLogger();
    const n = notifier([hook('json', later.url('/later')), hook('wecom', flaky.url('/flaky?key=k'))], logger);
    n.emit(FAILED);
    // The other webhook's backoff (20 ms) has passed: it tried again and was delivered.
    await waitFor('the backoff retry of webhook 2', () => lines.some((l) => l.msg === 'webhook delivered' && l.webhook === 2 && l.attempt === 2));
    assert.equal(later.got.length, 1, 'webhook 1 waits for its Retry-After (capped at maxWaitMs, 60 s)');
    await n.close(0);
    assert.ok(!lines.some((l) => l.webhook === 1 && l.level === 40), 'a delivery stopped by close is not reported as failed');
  });

  it('reads Retry-After as delay-seconds or an HTTP date', () => {
    assert.equal(retryAfterMs('120', AT), 120_000);
    assert.equal(retryAfterMs(new Date(AT + 30_000).toUTCString(), AT), 30_000);
    assert.equal(retryAfterMs(new Date(AT - 30_000).toUTCString(), AT), 0);
    assert.equal(retryAfterMs('soon', AT), null);
    assert.equal(retryAfterMs('-5', AT), null);
  });

  it('warns after the last try at a receiver that never answers, without holding up the others', async () => {
    const silent = await receiver(() => null);
    const ok = await receiver();
    const { logger, lines, raw } = memoryLogger();
    const n = notifier([hook('json', silent.url('/silent?token=abc'), { headers: { Authorization: 'Bearer hdr-secret' }, secret: 'sig-secret' }), hook('wecom', ok.url('/ok?key=wk'))], logger);
    n.emit(FAILED);
    await waitFor('the answering receiver', () => ok.got.length === 1);
    await waitFor('the last try', () => lines.some((l) => l.msg === 'webhook delivery failed after the last try'));
    const warning = lines.find((l) => l.msg === 'webhook delivery failed after the last try')!;
    assert.equal(warning.webhook, 1);
    assert.equal(warning.tries, 3);
    assert.equal(silent.got.length, 3);
    await n.close(1000);
    const all = raw.join('');
    for (const secret of ['token=abc', 'hdr-secret', 'sig-secret', '/silent', 'key=wk', '127.0.0.1']) assert.ok(!all.includes(secret), `logs must not contain ${secret}`);
  });

  it('does not retry a robot that refuses (bad signature), and says so', async () => {
    const refusing = await receiver(() => ({ status: 200, body: '{"errcode":310000,"errmsg":"sign not match"}' }));
    const { logger, lines } = memoryLogger();
    const n = notifier([hook('dingtalk', refusing.url('/robot/send?access_token=t'), { secret: 'wrong' })], logger);
    n.emit(FAILED);
    await n.close(5000);
    assert.equal(refusing.got.length, 1);
    assert.match(String(lines.find((l) => l.msg === 'webhook refused the delivery')?.problem), /310000: sign not match/);
  });

  it('keeps a bounded queue: emit never blocks, excess events are dropped with a warning, close gives up at its bound', async () => {
    const silent = await receiver(() => null);
    const { logger, lines } = memoryLogger();
    const n = new WebhookNotifier({ webhooks: [hook('json', silent.url('/s'))], logger, host: 'mn1', queueLimit: 3, attempts: 1, timeoutMs: 60_000 });
    for (let i = 0; i < 10; i++) n.emit({ ...FAILED, runId: i });
    assert.equal(n.pending, 3);
    assert.equal(lines.filter((l) => l.msg === 'webhook queue full; event dropped').length, 7);
    await n.close(50);
    assert.ok(lines.some((l) => l.msg === 'webhook deliveries still pending at exit; dropped' && l.undelivered === 3));
  });
});
