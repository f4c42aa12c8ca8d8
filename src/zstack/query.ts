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
export function getReply(ctx: QueryContext, api: ApiName, path: string): Promise<Reply> {
  return idempotentReply(ctx, api, 'GET', path);
}

/**
 * An idempotent request (a GET, or a sync PUT that only re-reads, such as UpdateGuestToolsState) with
 * the credentials and the usual retries, once more after a re-login on ID.1001; a refused credential throws.
 */
export async function idempotentReply(ctx: QueryContext, api: ApiName, method: 'GET' | 'PUT', path: string, json?: unknown): Promise<Reply> {
  const send = (token: string) =>
    sendIdempotent(ctx.http, { api, method, path, headers: ctx.auth.headers(token, method, path), json }, ctx.retry);
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

/**
 * Every row of `resource` matching `conditions`, page by page, by key (docs/design.md 1): sorted on the
 * resource's unique key (QUERY_RESOURCES), each page after the first asks for `key>LAST` besides the
 * query's own conditions. Offset paging (`start=`) over a table that changes while it is read skips
 * the row that slides from one page onto the previous one (a CD-ROM holding a user's ISO, a tag, a
 * VM); a key cursor never does: a row is missed only if it was deleted, or created behind the cursor,
 * during the read. A short page ends the query. `fields` always carries the key, so the cursor can be read.
 */
export async function* queryPages(
  ctx: QueryContext,
  resource: QueryResource,
  conditions: string[],
  opts: { fields?: string[] } = {},
): AsyncIterable<Record<string, unknown>[]> {
  const { api, sortField } = QUERY_RESOURCES[resource];
  const fields = opts.fields && opts.fields.length > 0 ? withKey(opts.fields, sortField) : null;
  let last: string | null = null;
  for (;;) {
    const params: Array<[string, string]> = [
      ...conditionParams(last === null ? conditions : [...conditions, `${sortField}>${last}`]),
      ['limit', String(ctx.pageSize)],
      // '+' must be sent as %2B: a raw '+' decodes to a space.
      ['sort', `+${sortField}`],
    ];
    if (fields) params.push(['fields', fields.join(',')]);
    const page = inventoriesOf(api, await getObject(ctx, api, `/zstack/v1/${resource}?${queryString(params)}`));
    if (page.length === 0) return;
    last = checkKeys(api, sortField, page, last);
    yield page;
    if (page.length < ctx.pageSize) return;
  }
}

function withKey(fields: string[], key: string): string[] {
  return fields.includes(key) ? fields : [...fields, key];
}

/**
 * The last key of `page`, once its keys are seen to rise from `after`: a server that ignored the key
 * condition (the same page again: an endless loop) or the sort (the cursor would skip rows) is a bad
 * reply, never a silent gap. Keys compare case-insensitively, as the MN's MySQL collation does.
 */
function checkKeys(api: ApiName, sortField: string, page: Record<string, unknown>[], after: string | null): string {
  let previous = after;
  for (const row of page) {
    const key = row[sortField];
    if (typeof key !== 'string' || key === '') throw badReply(api, `a row without "${sortField}" (the paging key)`);
    if (previous !== null && !(key.toLowerCase() > previous.toLowerCase())) {
      throw previous === after
        ? badReply(api, `the page after ${sortField}>${after} starts at ${key} (the server ignores the "${sortField}>" condition)`)
        : badReply(api, `${sortField} ${key} follows ${previous} (the server does not sort by "${sortField}")`);
    }
    previous = key;
  }
  return previous as string;
}

export async function count(ctx: QueryContext, resource: QueryResource, conditions: string[]): Promise<number> {
  const { api } = QUERY_RESOURCES[resource];
  const params: Array<[string, string]> = [...conditionParams(conditions), ['count', 'true']];
  return totalOf(api, await getObject(ctx, api, `/zstack/v1/${resource}?${queryString(params)}`));
}
