// Sync GETs with the session: paged queries, counts and single reads. ID.1001 on a GET means the
// session expired: log in again (shared with concurrent callers) and repeat the GET once.
import type { HttpCore, Reply } from './http.js';
import { isSessionExpired, okObject } from './reply.js';
import { sendIdempotent, type RetryPolicy } from './retry.js';
import type { Authenticator } from './session.js';
import { badReply, inventoriesOf, QUERY_RESOURCES, totalOf, type ApiName, type QueryResource } from './types.js';

export interface QueryContext {
  http: HttpCore;
  auth: Authenticator;
  retry: RetryPolicy;
  pageSize: number;
}

/** GET with the credentials; the JSON object of the 200 reply, else the mapped error. */
export async function getObject(ctx: QueryContext, api: ApiName, path: string): Promise<Record<string, unknown>> {
  return okObject(api, await getReply(ctx, api, path), ctx.http.scrub);
}

/** GET with the credentials, once more after a re-login on ID.1001; a refused credential throws. */
export async function getReply(ctx: QueryContext, api: ApiName, path: string): Promise<Reply> {
  const send = (token: string) =>
    sendIdempotent(ctx.http, { api, method: 'GET', path, headers: ctx.auth.headers(token, 'GET', path) }, ctx.retry);
  const token = await ctx.auth.current();
  let reply = await send(token);
  if (isSessionExpired(reply)) {
    ctx.http.logger?.debug({ api }, 'zstack session expired; logging in again');
    reply = await send(await ctx.auth.renew(token));
  }
  const refused = ctx.auth.refusal?.(api, reply, ctx.http.endpoint);
  if (refused) throw refused;
  return reply;
}

/** `a=b&c=d` with every value URL-encoded: conditions are passed raw (`tag~=GuestTools::%`). */
export function queryString(params: Array<[string, string]>): string {
  return params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}

function conditionParams(conditions: string[]): Array<[string, string]> {
  return conditions.map((c) => ['q', c]);
}

export async function* queryPages(
  ctx: QueryContext,
  resource: QueryResource,
  conditions: string[],
  opts: { fields?: string[] } = {},
): AsyncIterable<Record<string, unknown>[]> {
  const { api, sortField } = QUERY_RESOURCES[resource];
  let previousFirst: unknown = undefined;
  for (let start = 0; ; start += ctx.pageSize) {
    const params: Array<[string, string]> = [
      ...conditionParams(conditions),
      ['limit', String(ctx.pageSize)],
      ['start', String(start)],
      // '+' must be sent as %2B: a raw '+' decodes to a space.
      ['sort', `+${sortField}`],
    ];
    if (opts.fields && opts.fields.length > 0) params.push(['fields', opts.fields.join(',')]);
    const page = inventoriesOf(api, await getObject(ctx, api, `/zstack/v1/${resource}?${queryString(params)}`));
    if (page.length === 0) return;
    // A server that ignores `start` would make this loop forever.
    const first = page[0][sortField];
    if (start > 0 && first !== undefined && first === previousFirst) {
      throw badReply(api, `page at start=${start} repeats the previous page (the server ignores "start")`);
    }
    previousFirst = first;
    yield page;
    if (page.length < ctx.pageSize) return;
  }
}

export async function count(ctx: QueryContext, resource: QueryResource, conditions: string[]): Promise<number> {
  const { api } = QUERY_RESOURCES[resource];
  const params: Array<[string, string]> = [...conditionParams(conditions), ['count', 'true']];
  return totalOf(api, await getObject(ctx, api, `/zstack/v1/${resource}?${queryString(params)}`));
}
