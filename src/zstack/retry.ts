// Automatic retries, for idempotent requests only (GET queries, job polls, login): transport errors
// and gateway statuses without a ZStack body, with capped exponential backoff and jitter.
// The attach/detach PUT never comes through here: its doubt is resolved by polling its job uuid.
import { setTimeout as delay } from 'node:timers/promises';
import { GtrError } from '../errors.js';
import type { HttpCore, Reply, SendOptions } from './http.js';
import { isTransientStatus } from './reply.js';
import type { ApiName } from './types.js';

export interface RetryPolicy {
  /** Retries after the first attempt (so at most attempts + 1 requests). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 2000 };

/** "Equal jitter": half the capped exponential delay, plus a random part of the other half. */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Waits, but gives up at once on shutdown. */
export async function sleep(ms: number, api: ApiName, signal: AbortSignal | undefined): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    throw new GtrError('GTR_ABORTED', `${api}: aborted while waiting`, { cause: err, details: { api } });
  }
}

function isRetryableError(err: unknown): boolean {
  return err instanceof GtrError && err.code === 'GTR_ZSTACK_UNREACHABLE';
}

export async function sendIdempotent(http: HttpCore, req: SendOptions, policy: RetryPolicy): Promise<Reply> {
  for (let retry = 0; ; retry++) {
    let reason: string;
    try {
      const reply = await http.send(req);
      if (!isTransientStatus(reply) || retry >= policy.attempts) return reply;
      reason = `HTTP ${reply.status}`;
    } catch (err) {
      if (!isRetryableError(err) || retry >= policy.attempts) throw err;
      reason = (err as GtrError).details.cause as string;
    }
    const wait = backoffMs(policy, retry);
    http.logger?.debug({ api: req.api, retry: retry + 1, reason, waitMs: wait }, 'zstack request retry');
    await sleep(wait, req.api, http.signal);
  }
}
