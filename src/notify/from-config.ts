// The notifier a command or the daemon uses: webhooks from notify.webhooks with their secrets, or
// NO_EVENTS when none are configured.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { NO_EVENTS, type EventSink } from '../events.js';
import { WebhookNotifier } from './notifier.js';

/** How long a one-shot command waits for its webhook deliveries before it exits. */
export const EXIT_DRAIN_MS = 10_000;

export interface Notifier extends EventSink {
  close(timeoutMs: number): Promise<void>;
}

const NONE: Notifier = { ...NO_EVENTS, close: async () => undefined };

export function notifierFromConfig(config: Config, secrets: ReadonlyMap<number, string>, logger: Logger): Notifier {
  if (config.notify.webhooks.length === 0) return NONE;
  return new WebhookNotifier({
    webhooks: config.notify.webhooks.map((hook, i) => ({ ...hook, secret: secrets.get(i) ?? null })),
    logger: logger.child({ component: 'notify' }),
    host: hostname(),
  });
}
