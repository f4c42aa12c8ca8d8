// Async VM actions (attach/detach the GuestTools ISO). Each PUT needs a start permit (start-permit.ts):
// the caller's start transaction chose and recorded the job uuid first; the PUT is sent once. Doubt
// about its outcome (reset, timeout, gateway error) is resolved by polling that job uuid. Only ID.1001
// from the job, which means the interceptor rejected the call before it ran, leads to a second PUT:
// after a re-login, under a new job uuid and a new permit.
import { randomUUID } from 'node:crypto';
import { GtrError, ZStackApiError } from '../errors.js';
import type { Reply } from './http.js';
import { jobPath, locationPath, waitForJob, type JobContext } from './jobs.js';
import { errorForReply, isTransientStatus, SESSION_EXPIRED } from './reply.js';
import type { StartPermit } from './start-permit.js';
import { isRecord, locationOf } from './types.js';

export interface ActionOptions {
  /**
   * Asked right before each PUT (the first, and the one re-send after ID.1001), with the credentials
   * already in hand, so nothing but the start transaction lies between the decision and the request: a
   * permit, or null when a gate refused (then nothing is sent).
   */
  permit: (attempt: 'first' | 'resend') => Promise<StartPermit | null>;
  /** Sent at top level: {"attachGuestToolsIsoToVm": {}, "systemTags": [...], "userTags": []}. */
  systemTags?: string[];
}

export type ActionContext = JobContext;

export type ActionApi = 'AttachGuestToolsIsoToVm' | 'DetachGuestToolsIsoFromVm';

/** `done`: the job succeeded; `refused`: the start transaction refused the first PUT or the re-send (nothing more was sent). */
export type ActionResult = 'done' | 'refused';

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

export async function runAction(ctx: ActionContext, api: ActionApi, vmUuid: string, opts: ActionOptions): Promise<ActionResult> {
  let attempt: 'first' | 'resend' = 'first';
  for (;;) {
    // Credentials first (a login may take long: a proxy holding it), then the permit, then the PUT.
    const token = await ctx.auth.current();
    const permit = await opts.permit(attempt);
    if (permit === null) return 'refused';
    const jobUuid = checkJobUuid(permit.spend(api, vmUuid));
    if (attempt === 'resend') ctx.http.logger?.info({ api, vmUuid, jobUuid }, 'zstack session expired before the action ran; sending it again');
    try {
      const sent = await sendOnce(ctx, api, vmUuid, jobUuid, token, opts.systemTags ?? []);
      if (sent !== null) await waitForJob(ctx, { api, path: sent.path, jobUuid, token, immediate: sent.immediate });
      return 'done';
    } catch (err) {
      if (attempt === 'resend' || !(err instanceof ZStackApiError) || err.zstack.code !== SESSION_EXPIRED) throw err;
    }
    // ID.1001 from the job: the interceptor rejected the call before it ran. Log in again; the re-send
    // needs a permit of its own, asked after the login (a pause or a lost lease meanwhile stops it).
    await ctx.auth.renew(token);
    attempt = 'resend';
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
