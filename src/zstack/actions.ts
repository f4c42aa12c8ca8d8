// Async calls that start something: VM actions (attach/detach the GuestTools ISO) and the script
// library's CreateGuestVmScript and ExecuteGuestVmScript. Each request needs a start permit
// (start-permit.ts): the caller's start transaction chose and recorded the job uuid first; the request
// is sent once. Doubt about its outcome (reset, timeout, gateway error) is resolved by polling that job
// uuid. Only ID.1001 from the job, which means the interceptor rejected the call before it ran, leads
// to a second request: after a re-login, under a new job uuid and a new permit.
import { randomUUID } from 'node:crypto';
import { GtrError, ZStackApiError } from '../errors.js';
import type { Reply } from './http.js';
import { jobPath, locationPath, waitForJob, type JobContext } from './jobs.js';
import { errorForReply, isTransientStatus, okObject, SESSION_EXPIRED } from './reply.js';
import type { ActionApi, StartApi, StartPermit } from './start-permit.js';
import { locationOf } from './types.js';
import { isUuid } from '../uuid.js';
import { isPlainObject } from '../plain-object.js';

export interface ActionOptions {
  /**
   * Asked right before each request (the first, and the one re-send after ID.1001), with the credentials
   * already in hand, so nothing but the start transaction lies between the decision and the request: a
   * permit, or null when a gate refused (then nothing is sent).
   */
  permit: (attempt: 'first' | 'resend') => Promise<StartPermit | null>;
  /** Sent at top level: {"attachGuestToolsIsoToVm": {}, "systemTags": [...], "userTags": []}. */
  systemTags?: string[];
}

export type ActionContext = JobContext;

export type { ActionApi, StartApi };

/** `done`: the job succeeded; `refused`: the start transaction refused the first request or the re-send (nothing more was sent). */
export type ActionResult = 'done' | 'refused';

/** A started call's end: the job's result object, or refused (nothing more was sent). */
export type StartOutcome = { result: 'done'; body: Record<string, unknown> } | { result: 'refused' };

const ACTION_KEYS: Record<ActionApi, string> = {
  AttachGuestToolsIsoToVm: 'attachGuestToolsIsoToVm',
  DetachGuestToolsIsoFromVm: 'detachGuestToolsIsoFromVm',
};

export function newJobUuid(): string {
  return randomUUID().replaceAll('-', '');
}

function checkJobUuid(jobUuid: string): string {
  // A programming error, not an operational one: the MN would answer 400 anyway.
  if (!isUuid(jobUuid.toLowerCase())) throw new RangeError(`job uuid must be 32 hex characters, got ${JSON.stringify(jobUuid)}`);
  return jobUuid;
}

/** One call that starts something: what to send, and what its permit must name. */
export interface StartCall {
  api: StartApi;
  /** The permit's subject (start-permit.ts). */
  subject: string;
  method: 'PUT' | 'POST';
  path: string;
  body: unknown;
  /** Extra fields for logs and error details (never secrets). */
  log: Record<string, unknown>;
}

/** Where to poll after the request, or null when the reply already was the final result. */
type Sent = { path: string; immediate: boolean } | { done: Record<string, unknown> };

export async function runAction(ctx: ActionContext, api: ActionApi, vmUuid: string, opts: ActionOptions): Promise<ActionResult> {
  const call: StartCall = {
    api, subject: vmUuid, method: 'PUT', path: `/zstack/v1/vm-instances/${encodeURIComponent(vmUuid)}/actions`,
    body: { [ACTION_KEYS[api]]: {}, systemTags: opts.systemTags ?? [], userTags: [] }, log: { vmUuid },
  };
  return (await runStart(ctx, call, opts.permit)).result;
}

/** Sends a start call under a permit and follows its job to the end (see the top of this file). */
export async function runStart(ctx: ActionContext, call: StartCall, permitFor: ActionOptions['permit']): Promise<StartOutcome> {
  let attempt: 'first' | 'resend' = 'first';
  for (;;) {
    // Credentials first (a login may take long: a proxy holding it), then the permit, then the request.
    const token = await ctx.auth.current();
    const permit = await permitFor(attempt);
    if (permit === null) return { result: 'refused' };
    const jobUuid = checkJobUuid(permit.spend(call.api, call.subject));
    if (attempt === 'resend') ctx.http.logger?.info({ api: call.api, ...call.log, jobUuid }, 'zstack session expired before the call ran; sending it again');
    try {
      const sent = await sendOnce(ctx, call, jobUuid, token);
      if ('done' in sent) return { result: 'done', body: sent.done };
      return { result: 'done', body: await waitForJob(ctx, { api: call.api, path: sent.path, jobUuid, token, immediate: sent.immediate }) };
    } catch (err) {
      if (attempt === 'resend' || !(err instanceof ZStackApiError) || err.zstack.code !== SESSION_EXPIRED) throw err;
    }
    // ID.1001 from the job: the interceptor rejected the call before it ran. Log in again; the re-send
    // needs a permit of its own, asked after the login (a pause or a lost lease meanwhile stops it).
    await ctx.auth.renew(token);
    attempt = 'resend';
  }
}

async function sendOnce(ctx: ActionContext, call: StartCall, jobUuid: string, token: string): Promise<Sent> {
  const { api, log } = call;
  const pollOwnJob: Sent = { path: jobPath(jobUuid), immediate: true };
  let reply: Reply;
  try {
    reply = await ctx.http.send({
      api,
      method: call.method,
      path: call.path,
      headers: { ...ctx.auth.headers(token, call.method, call.path), 'x-job-uuid': jobUuid },
      json: call.body,
    });
  } catch (err) {
    if (err instanceof GtrError && err.code === 'GTR_ZSTACK_UNREACHABLE' && err.details.sent === true) {
      ctx.http.logger?.warn({ api, ...log, jobUuid, cause: err.details.cause }, 'zstack call outcome unknown; polling its job');
      return pollOwnJob;
    }
    throw err;
  }
  if (reply.status === 202) {
    const body = reply.body.kind === 'json' && isPlainObject(reply.body.value) ? reply.body.value : {};
    const location = locationOf(body);
    const path = location === null ? null : locationPath(location, ctx.http.endpoint);
    if (path === null) ctx.http.logger?.warn({ api, ...log, jobUuid }, 'zstack 202 without a usable location; polling the job uuid');
    return { path: path ?? jobPath(jobUuid), immediate: false };
  }
  if (reply.status === 200) return { done: okObject(api, reply, ctx.http.scrub) };
  // An AccessKey is checked before the job exists: a refusal means the call never ran.
  const refused = ctx.auth.refusal?.(api, reply, ctx.http.endpoint);
  if (refused) throw refused;
  if (isTransientStatus(reply)) {
    // A gateway may have forwarded the request before failing: find out through the job, never by re-sending.
    ctx.http.logger?.warn({ api, ...log, jobUuid, status: reply.status }, 'zstack call outcome unknown; polling its job');
    return pollOwnJob;
  }
  throw errorForReply(api, reply, ctx.http.scrub, { ...log, jobUuid });
}
