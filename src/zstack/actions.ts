// Async VM actions (attach/detach the GuestTools ISO). The caller chooses and records the job uuid
// first; the PUT is sent once. Doubt about its outcome (reset, timeout, gateway error) is resolved by
// polling that job uuid. Only ID.1001 from the job, which means the interceptor rejected the call
// before it ran, leads to a second PUT: after a re-login and under a new job uuid.
import { randomUUID } from 'node:crypto';
import { GtrError, ZStackApiError } from '../errors.js';
import type { Reply } from './http.js';
import { jobPath, locationPath, waitForJob, type JobContext } from './jobs.js';
import { errorForReply, isTransientStatus, SESSION_EXPIRED } from './reply.js';
import { isRecord, locationOf } from './types.js';

export interface ActionOptions {
  /** 32 hex, chosen (and already recorded) by the caller. */
  jobUuid: string;
  /** Sent at top level: {"attachGuestToolsIsoToVm": {}, "systemTags": [...], "userTags": []}. */
  systemTags?: string[];
  /** Called synchronously before a resend, with the new job uuid, so the caller can record it first. */
  onResend?: (newJobUuid: string) => void;
  newJobUuid?: () => string;
}

export type ActionContext = JobContext;

export type ActionApi = 'AttachGuestToolsIsoToVm' | 'DetachGuestToolsIsoFromVm';

const ACTION_KEYS: Record<ActionApi, string> = {
  AttachGuestToolsIsoToVm: 'attachGuestToolsIsoToVm',
  DetachGuestToolsIsoFromVm: 'detachGuestToolsIsoFromVm',
};

const JOB_UUID = /^[0-9a-f]{32}$/i;

export function newJobUuid(): string {
  return randomUUID().replaceAll('-', '');
}

function checkJobUuid(jobUuid: string): string {
  // A programming error, not an operational one: the MN would answer 400 anyway.
  if (!JOB_UUID.test(jobUuid)) throw new RangeError(`job uuid must be 32 hex characters, got ${JSON.stringify(jobUuid)}`);
  return jobUuid;
}

/** Where to poll after the PUT, or null when the reply already was the final result. */
type Sent = { path: string; immediate: boolean } | null;

export async function runAction(ctx: ActionContext, api: ActionApi, vmUuid: string, opts: ActionOptions): Promise<void> {
  let jobUuid = checkJobUuid(opts.jobUuid);
  let resent = false;
  for (;;) {
    const token = await ctx.auth.current();
    try {
      const sent = await sendOnce(ctx, api, vmUuid, jobUuid, token, opts.systemTags ?? []);
      if (sent === null) return;
      await waitForJob(ctx, { api, path: sent.path, jobUuid, token, immediate: sent.immediate });
      return;
    } catch (err) {
      if (resent || !(err instanceof ZStackApiError) || err.zstack.code !== SESSION_EXPIRED) throw err;
    }
    await ctx.auth.renew(token);
    jobUuid = checkJobUuid((opts.newJobUuid ?? newJobUuid)());
    opts.onResend?.(jobUuid);
    resent = true;
    ctx.http.logger?.info({ api, vmUuid, jobUuid }, 'zstack session expired before the action ran; sending it again');
  }
}

async function sendOnce(ctx: ActionContext, api: ActionApi, vmUuid: string, jobUuid: string, token: string, systemTags: string[]): Promise<Sent> {
  const pollOwnJob: Sent = { path: jobPath(jobUuid), immediate: true };
  let reply: Reply;
  try {
    const path = `/zstack/v1/vm-instances/${encodeURIComponent(vmUuid)}/actions`;
    reply = await ctx.http.send({
      api,
      method: 'PUT',
      path,
      headers: { ...ctx.auth.headers(token, 'PUT', path), 'x-job-uuid': jobUuid },
      json: { [ACTION_KEYS[api]]: {}, systemTags, userTags: [] },
    });
  } catch (err) {
    if (err instanceof GtrError && err.code === 'GTR_ZSTACK_UNREACHABLE' && err.details.sent === true) {
      ctx.http.logger?.warn({ api, vmUuid, jobUuid, cause: err.details.cause }, 'zstack action outcome unknown; polling its job');
      return pollOwnJob;
    }
    throw err;
  }
  if (reply.status === 202) {
    const body = reply.body.kind === 'json' && isRecord(reply.body.value) ? reply.body.value : {};
    const location = locationOf(body);
    const path = location === null ? null : locationPath(location, ctx.http.endpoint);
    if (path === null) ctx.http.logger?.warn({ api, vmUuid, jobUuid }, 'zstack 202 without a usable location; polling the job uuid');
    return { path: path ?? jobPath(jobUuid), immediate: false };
  }
  if (reply.status === 200) return null;
  // An AccessKey is checked before the job exists: a refusal means the action never ran.
  const refused = ctx.auth.refusal?.(api, reply, ctx.http.endpoint);
  if (refused) throw refused;
  if (isTransientStatus(reply)) {
    // A gateway may have forwarded the PUT before failing: find out through the job, never by re-sending.
    ctx.http.logger?.warn({ api, vmUuid, jobUuid, status: reply.status }, 'zstack action outcome unknown; polling its job');
    return pollOwnJob;
  }
  throw errorForReply(api, reply, ctx.http.scrub, { vmUuid, jobUuid });
}
