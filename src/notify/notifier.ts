// Webhook delivery that never blocks or fails a run: emit() only queues. One bounded queue and one
// sender per webhook (a robot that never answers delays only itself); 5xx, 429 and transport errors
// are retried with doubling backoff, a warning is logged after the last try. Logs name a webhook by
// its number and format, never by URL, header or secret.
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import type { WebhookConfig } from '../config/notify-fields.js';
import type { EventSink, GtrEvent } from '../events.js';
import { buildDelivery, payloadOf, refusalOf, type EventPayload } from './formats.js';
import { messageOf } from '../errors.js';

export interface NotifierOptions {
  webhooks: readonly (WebhookConfig & { secret: string | null })[];
  logger: Logger;
  host: string;
  now?: () => number;
  /** Deliveries waiting per webhook; beyond it new events for that webhook are dropped (with a warning). */
  queueLimit?: number;
  /** Tries per delivery, the first included. */
  attempts?: number;
  /** Wait before the second try; doubles for each further one. */
  backoffMs?: number;
  /** Per try: connect, headers and body. */
  timeoutMs?: number;
}

interface Lane {
  number: number;
  hook: WebhookConfig & { secret: string | null };
  queue: EventPayload[];
  busy: boolean;
  dropped: number;
}

const DEFAULTS = { queueLimit: 100, attempts: 3, backoffMs: 1000, timeoutMs: 5000 };

class Retryable extends Error {}

export class WebhookNotifier implements EventSink {
  private readonly lanes: Lane[];
  private readonly agent: Agent;
  private readonly closing = new AbortController();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly opts: Required<Omit<NotifierOptions, 'webhooks'>>;

  constructor(options: NotifierOptions) {
    this.opts = { now: Date.now, ...DEFAULTS, ...options };
    this.lanes = options.webhooks.map((hook, i) => ({ number: i + 1, hook, queue: [], busy: false, dropped: 0 }));
    this.agent = new Agent({ connect: { timeout: this.opts.timeoutMs }, headersTimeout: this.opts.timeoutMs, bodyTimeout: this.opts.timeoutMs });
  }

  emit(event: GtrEvent): void {
    if (this.closing.signal.aborted) return;
    const payload = payloadOf(event, this.opts.host, this.opts.now());
    for (const lane of this.lanes) {
      if (!lane.hook.events.includes(event.event)) continue;
      if (lane.queue.length >= this.opts.queueLimit) {
        lane.dropped++;
        this.opts.logger.warn({ webhook: lane.number, format: lane.hook.format, event: event.event, dropped: lane.dropped }, 'webhook queue full; event dropped');
        continue;
      }
      lane.queue.push(payload);
      if (!lane.busy) void this.pump(lane);
    }
  }

  /** Deliveries queued or in flight (a delivery leaves its queue when it is done). */
  get pending(): number {
    return this.lanes.reduce((n, l) => n + l.queue.length, 0);
  }

  /** Waits up to `timeoutMs` for every queue to empty, then stops: what is left is logged and dropped. */
  async close(timeoutMs: number): Promise<void> {
    if (this.pending > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    const left = this.pending;
    if (left > 0) this.opts.logger.warn({ undelivered: left, waitedMs: timeoutMs }, 'webhook deliveries still pending at exit; dropped');
    this.closing.abort();
    for (const lane of this.lanes) lane.queue.length = 0;
    await this.agent.destroy();
  }

  private async pump(lane: Lane): Promise<void> {
    lane.busy = true;
    while (lane.queue.length > 0 && !this.closing.signal.aborted) {
      await this.deliver(lane, lane.queue[0]);
      lane.queue.shift();
    }
    lane.busy = false;
    if (this.pending === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private async deliver(lane: Lane, payload: EventPayload): Promise<void> {
    const { logger, attempts } = this.opts;
    const about = { webhook: lane.number, format: lane.hook.format, event: payload.event };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await this.send(lane, payload);
        logger.debug({ ...about, attempt }, 'webhook delivered');
        return;
      } catch (error) {
        if (this.closing.signal.aborted) return;
        const problem = messageOf(error);
        if (!(error instanceof Retryable) || attempt === attempts) {
          logger.warn({ ...about, tries: attempt, problem }, error instanceof Retryable ? 'webhook delivery failed after the last try' : 'webhook refused the delivery');
          return;
        }
        await this.sleep(this.opts.backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  private async send(lane: Lane, payload: EventPayload): Promise<void> {
    const d = buildDelivery(lane.hook, lane.hook.secret, payload, this.opts.now());
    let status: number;
    let body: string;
    try {
      const res = await request(d.url, { method: 'POST', headers: d.headers, body: d.body, dispatcher: this.agent, signal: this.closing.signal });
      status = res.statusCode;
      body = await res.body.text();
    } catch (error) {
      // Transport trouble (refused, reset, timeout): worth another try. Only the error's code is kept:
      // undici messages can name the host and port of the secret URL.
      throw new Retryable(transportCode(error));
    }
    if (status >= 500 || status === 429) throw new Retryable(`HTTP ${status}`);
    if (status >= 300) throw new Error(`HTTP ${status}`);
    const refusal = refusalOf(lane.hook.format, body);
    if (refusal !== null) throw new Error(`the robot answered ${refusal}`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.closing.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.closing.signal.addEventListener('abort', wake, { once: true });
    });
  }
}

function transportCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'error';
}
