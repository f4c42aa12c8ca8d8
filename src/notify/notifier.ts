// Webhook delivery that never blocks or fails a run: emit() only queues. One bounded queue and one
// sender per webhook (a robot that never answers delays only itself); 5xx, 429 and transport errors
// are retried by undici's retry interceptor, after the receiver's Retry-After when it sends one, else
// with doubling backoff; a warning is logged after the last try. Logs name a webhook by its number and
// format, never by URL, header or secret.
import type { Logger } from 'pino';
import { Agent, interceptors, request, type Dispatcher, type RetryHandler } from 'undici';
import type { WebhookConfig } from '../config/schema.js';
import type { EventSink, GtrEvent } from '../events.js';
import { buildDelivery, payloadOf, refusalOf, type EventPayload } from './formats.js';
import { messageOf } from '../errors.js';

interface NotifierOptions {
  webhooks: readonly (WebhookConfig & { secret: string | null })[];
  logger: Logger;
  host: string;
  now?: () => number;
  /** Deliveries waiting per webhook; beyond it new events for that webhook are dropped (with a warning). */
  queueLimit?: number;
  /** Tries per delivery, the first included. */
  attempts?: number;
  /** Wait before the second try; doubles for each further one. A receiver's Retry-After replaces it. */
  backoffMs?: number;
  /** The longest wait before a try, whatever Retry-After asks. */
  maxWaitMs?: number;
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

const DEFAULTS = { queueLimit: 100, attempts: 3, backoffMs: 1000, maxWaitMs: 60_000, timeoutMs: 5000 };

/** The statuses worth another try: the receiver is busy or broken for now. */
const RETRY_STATUSES = [429, ...Array.from({ length: 100 }, (_, i) => 500 + i)];

/** A try that failed: `retryable` when another try may go through. */
class DeliveryError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

export class WebhookNotifier implements EventSink {
  private readonly lanes: Lane[];
  private readonly agent: Agent;
  private readonly dispatcher: Dispatcher;
  private readonly closing = new AbortController();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly opts: Required<Omit<NotifierOptions, 'webhooks'>>;

  constructor(options: NotifierOptions) {
    this.opts = { now: Date.now, ...DEFAULTS, ...options };
    this.lanes = options.webhooks.map((hook, i) => ({ number: i + 1, hook, queue: [], busy: false, dropped: 0 }));
    this.agent = new Agent({ connect: { timeout: this.opts.timeoutMs }, headersTimeout: this.opts.timeoutMs, bodyTimeout: this.opts.timeoutMs });
    this.dispatcher = this.agent.compose(interceptors.retry({ methods: ['POST'], statusCodes: RETRY_STATUSES }));
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
    const { logger } = this.opts;
    const about = { webhook: lane.number, format: lane.hook.format, event: payload.event };
    const tries = { count: 1 };
    try {
      await this.send(lane, payload, tries);
      logger.debug({ ...about, attempt: tries.count }, 'webhook delivered');
    } catch (error) {
      if (this.closing.signal.aborted) return;
      const retryable = error instanceof DeliveryError && error.retryable;
      logger.warn({ ...about, tries: tries.count, problem: messageOf(error) }, retryable ? 'webhook delivery failed after the last try' : 'webhook refused the delivery');
    }
  }

  /** One delivery: the interceptor tries again while `retry` says so, counting the tries in `tries`. */
  private async send(lane: Lane, payload: EventPayload, tries: { count: number }): Promise<void> {
    const d = buildDelivery(lane.hook, lane.hook.secret, payload, this.opts.now());
    const retryOptions: RetryHandler.RetryOptions = {
      retry: (error, { state }, next) => {
        if (state.counter >= this.opts.attempts || this.closing.signal.aborted) return next(error);
        tries.count += 1;
        this.sleep(this.waitBefore(error, state.counter)).then(() => next(this.closing.signal.aborted ? error : null));
      },
    };
    const options: Parameters<typeof request>[1] & { retryOptions: RetryHandler.RetryOptions } = {
      method: 'POST', headers: d.headers, body: d.body, dispatcher: this.dispatcher, signal: this.closing.signal, retryOptions,
    };
    let status: number;
    let body: string;
    try {
      const res = await request(d.url, options);
      status = res.statusCode;
      body = await res.body.text();
    } catch (error) {
      // A status worth another try after the last one, or transport trouble (refused, reset, timeout).
      // Only the status or the error's code is kept: undici messages can name the host and port of the
      // secret URL.
      const failed = (error as { statusCode?: unknown }).statusCode;
      throw new DeliveryError(typeof failed === 'number' ? `HTTP ${failed}` : transportCode(error), true);
    }
    if (status >= 300) throw new DeliveryError(`HTTP ${status}`, false);
    const refusal = refusalOf(lane.hook.format, body);
    if (refusal !== null) throw new DeliveryError(`the robot answered ${refusal}`, false);
  }

  /** Before try `done + 1`: the receiver's Retry-After (seconds or an HTTP date), else the doubling backoff; at most maxWaitMs. */
  private waitBefore(error: Error, done: number): number {
    const header = (error as { headers?: Record<string, string | string[] | undefined> }).headers?.['retry-after'];
    const asked = typeof header === 'string' ? retryAfterMs(header, Date.now()) : null;
    return Math.min(asked ?? this.opts.backoffMs * 2 ** (done - 1), this.opts.maxWaitMs);
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

/** Retry-After in ms from `now`: delay-seconds or an HTTP date; null when it is neither. */
export function retryAfterMs(header: string, now: number): number | null {
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date starts with the day's name (IMF-fixdate, RFC 850 and asctime forms alike).
  const at = /^[A-Za-z]/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function transportCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'error';
}
