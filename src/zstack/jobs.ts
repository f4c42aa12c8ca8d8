// Async job polling: GET /zstack/v1/api-jobs/<uuid> until 200 (done), 503 (failed), 404 (lost) or the
// job timeout. The MN builds `location` from its own address, which may be unreachable (NAT, proxy),
// so only its path is kept and sent to the configured endpoint.
import { performance } from 'node:perf_hooks';
import { GtrError, ZStackApiError } from '../errors.js';
import type { HttpCore, Reply } from './http.js';
import { errorForReply, okObject } from './reply.js';
import { sendIdempotent, sleep, type RetryPolicy } from './retry.js';
import type { Authenticator } from './session.js';
import type { ApiName } from './types.js';
import { isPlainObject } from '../plain-object.js';

export interface JobContext {
  http: HttpCore;
  /** Polls carry the request's credentials as the SDKs send them, though the MN does not check them. */
  auth: Authenticator;
  retry: RetryPolicy;
  jobPollIntervalMs: number;
  jobTimeoutMs: number;
}

export function jobPath(jobUuid: string): string {
  return `/zstack/v1/api-jobs/${encodeURIComponent(jobUuid)}`;
}

/** The path (and query) of a job location, to be sent to the configured endpoint; null if unusable. */
export function locationPath(location: string, endpoint: string): string | null {
  try {
    const url = new URL(location, endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    // A proxy in front of the MN may add a path prefix; the MN's own location never has it.
    const prefix = new URL(endpoint).pathname.replace(/\/+$/, '');
    const path = prefix && url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : url.pathname;
    return `${path}${url.search}`;
  } catch {
    return null;
  }
}

/** One poll, with the usual GET retries. `token` is sent like the SDKs do, though the MN does not check it. */
function pollOnce(ctx: JobContext, path: string, token: string | null): Promise<Reply> {
  const headers: Record<string, string> = token ? ctx.auth.headers(token, 'GET', path) : {};
  return sendIdempotent(ctx.http, { api: 'QueryJob', method: 'GET', path, headers }, ctx.retry);
}

interface WaitOptions {
  /** The action the job belongs to; failures are reported under its name. */
  api: ApiName;
  path: string;
  jobUuid: string;
  token: string | null;
  /** Poll at once instead of after one interval (used when the job may already have finished). */
  immediate?: boolean;
}

/** Resolves with the job's result object; throws ZStackApiError, GTR_JOB_LOST or GTR_JOB_TIMEOUT. */
export async function waitForJob(ctx: JobContext, w: WaitOptions): Promise<Record<string, unknown>> {
  const started = performance.now();
  const details = { api: w.api, jobUuid: w.jobUuid };
  let first = true;
  for (;;) {
    if (!(first && w.immediate)) {
      const left = ctx.jobTimeoutMs - (performance.now() - started);
      if (left <= 0) throw jobTimeout(w, ctx.jobTimeoutMs);
      await sleep(Math.min(ctx.jobPollIntervalMs, left), w.api, ctx.http.signal);
    }
    first = false;
    const reply = await pollOnce(ctx, w.path, w.token);
    if (reply.status === 202) {
      if (performance.now() - started >= ctx.jobTimeoutMs) throw jobTimeout(w, ctx.jobTimeoutMs);
      continue;
    }
    if (reply.status === 200) return okObject(w.api, reply, ctx.http.scrub);
    if (reply.status === 404) throw jobLost(w.api, w.jobUuid);
    throw errorForReply(w.api, reply, ctx.http.scrub, details);
  }
}

export type JobCheck =
  /** `result`: the job's result object (e.g. ExecuteGuestVmScript's record inventory), {} when it has none. */
  | { state: 'succeeded'; result: Record<string, unknown> }
  | { state: 'failed'; error: ZStackApiError }
  | { state: 'running' }
  | { state: 'unknown' };

/** Crash recovery: what became of a job sent earlier (possibly by another process). */
export async function checkJob(ctx: JobContext, jobUuid: string, token: string | null): Promise<JobCheck> {
  const reply = await pollOnce(ctx, jobPath(jobUuid), token);
  if (reply.status === 200) return { state: 'succeeded', result: reply.body.kind === 'json' && isPlainObject(reply.body.value) ? reply.body.value : {} };
  if (reply.status === 202) return { state: 'running' };
  if (reply.status === 404) return { state: 'unknown' };
  const err = errorForReply('QueryJob', reply, ctx.http.scrub, { jobUuid });
  if (err instanceof ZStackApiError) return { state: 'failed', error: err };
  throw err;
}

/** How long crash recovery follows a job that is still running before leaving it in doubt. */
const FOLLOW_BOUND_MS = 30_000;

/**
 * Crash recovery: polls a job sent earlier until it ends, for at most min(jobTimeoutMs, FOLLOW_BOUND_MS);
 * `running` when it did not end by then (it stays in doubt; the next start polls it again).
 */
export async function followJob(ctx: JobContext, jobUuid: string, token: string | null): Promise<JobCheck> {
  const bound = Math.min(ctx.jobTimeoutMs, FOLLOW_BOUND_MS);
  const started = performance.now();
  for (;;) {
    const state = await checkJob(ctx, jobUuid, token);
    if (state.state !== 'running' || performance.now() - started >= bound) return state;
    await sleep(ctx.jobPollIntervalMs, 'QueryJob', ctx.http.signal);
  }
}

export function jobLost(api: ApiName, jobUuid: string): GtrError {
  return new GtrError(
    'GTR_JOB_LOST',
    `${api}: job ${jobUuid} is unknown to the management node (the request never arrived, or the job expired or was lost in a restart)`,
    { details: { api, jobUuid } },
  );
}

function jobTimeout(w: WaitOptions, timeoutMs: number): GtrError {
  return new GtrError('GTR_JOB_TIMEOUT', `${w.api}: job ${w.jobUuid} did not finish within ${timeoutMs} ms`, {
    details: { api: w.api, jobUuid: w.jobUuid, timeoutMs },
  });
}
