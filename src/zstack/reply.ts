// Status mapping: 200 = result, 503 + {"error"} = ZStackApiError, other statuses without a ZStack
// body = ZStackHttpError, an unparseable or mis-shaped 200 = GTR_ZSTACK_BAD_REPLY.
import { ZStackApiError, ZStackHttpError, type GtrError, type ZStackErrorBody } from '../errors.js';
import { excerpt, type Reply } from './http.js';
import { badReply, zstackErrorOf, type ApiName } from './types.js';
import { isPlainObject } from '../plain-object.js';

export const SESSION_EXPIRED = 'ID.1001';
/** The MN's own operation timeout: the host may still finish the operation (zstack-api.md). */
export const OPERATION_TIMEOUT = 'SYS.1001';
export const AUTHENTICATION_FAILED = 'ID.1000';

function zstackErrorOfReply(reply: Reply): ZStackErrorBody | null {
  if (reply.status < 400 || reply.body.kind !== 'json') return null;
  return zstackErrorOf(reply.body.value);
}

export function isSessionExpired(reply: Reply): boolean {
  return zstackErrorOfReply(reply)?.code === SESSION_EXPIRED;
}

/** Gateway-style failures with no ZStack body: the request may be repeated if it is idempotent. */
export function isTransientStatus(reply: Reply): boolean {
  return (reply.status === 502 || reply.status === 503 || reply.status === 504) && zstackErrorOfReply(reply) === null;
}

/** The error a non-success reply stands for. Text that may echo request data is scrubbed of secrets. */
export function errorForReply(api: ApiName, reply: Reply, scrub: (t: string) => string, details: Record<string, unknown> = {}): GtrError {
  const zs = zstackErrorOfReply(reply);
  if (zs) {
    const clean = { code: scrub(zs.code), description: scrub(zs.description), details: scrub(zs.details) };
    const err = new ZStackApiError(api, reply.status, clean, { details: { api, status: reply.status, ...details } });
    return err;
  }
  if (reply.status >= 200 && reply.status < 300) return describeBadBody(api, reply, scrub);
  const text = scrub(excerpt(reply.body));
  const absent = absenceOf(reply);
  return new ZStackHttpError(api, reply.status, text, { details: { api, status: reply.status, ...details, ...(absent ? { absent } : {}) } });
}

/**
 * How an MN says it has no such API (zstack-install-api.md 0): RestServer's 404 `no api mapping to
 * <path>` for an unknown path (the script library before 5.2.0, UpdateGuestToolsState before 4.6.21),
 * its 400 `the body doesn't contain action mapping to the URL[...]` for an unknown action on a shared
 * path (DetachGuestToolsIsoFromVm on Cloud releases without it). The only place that reads that text.
 */
export type ApiAbsence = 'no-api-mapping' | 'no-action-mapping';

export function absenceOf(reply: Reply): ApiAbsence | null {
  if (reply.body.kind !== 'text') return null;
  if (reply.status === 404 && reply.body.text.startsWith('no api mapping')) return 'no-api-mapping';
  if (reply.status === 400 && reply.body.text.includes("doesn't contain action mapping")) return 'no-action-mapping';
  return null;
}

/** The absence an error stands for (set by errorForReply), or null: branch on this, never on the text. */
export function absentApi(error: unknown): ApiAbsence | null {
  if (!(error instanceof ZStackHttpError)) return null;
  const absent = error.details.absent;
  return absent === 'no-api-mapping' || absent === 'no-action-mapping' ? absent : null;
}

/** The JSON object of a 200 reply, or the error the reply stands for. */
export function okObject(api: ApiName, reply: Reply, scrub: (t: string) => string): Record<string, unknown> {
  if (reply.status !== 200) throw errorForReply(api, reply, scrub);
  if (reply.body.kind === 'json' && isPlainObject(reply.body.value)) return reply.body.value;
  throw describeBadBody(api, reply, scrub);
}

function describeBadBody(api: ApiName, reply: Reply, scrub: (t: string) => string): GtrError {
  const b = reply.body;
  const start = JSON.stringify(scrub(excerpt(b, 60)));
  if (b.kind === 'malformed') {
    const what = b.truncated ? 'larger than the client reads' : 'malformed or truncated JSON';
    return badReply(api, `HTTP ${reply.status} body is ${what} (${b.text.length} characters, starts with ${start})`);
  }
  if (b.kind === 'text') return badReply(api, `HTTP ${reply.status} body is not JSON (starts with ${start})`);
  return badReply(api, `HTTP ${reply.status} body is not a JSON object (${start})`);
}
