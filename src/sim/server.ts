// The HTTP front of the simulator: routing, the REST layer's checks (auth header, X-Job-UUID, action
// key), fault injection, the call log, and writing replies without Content-Type (as the real MN).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessKeys } from './access-keys.js';
import { isRecord, type Sessions } from './auth.js';
import type { Faults } from './faults.js';
import type { GuestTools } from './guest-tools.js';
import type { Jobs } from './jobs.js';
import type { MnFeatures } from './mn-version.js';
import type { QueryEngine, Resource } from './query.js';
import type { RequestHolds } from './request-holds.js';
import { parseQueryString, type Condition, type Params } from './query-params.js';
import { ACTIONS, route, type Route } from './routes.js';
import type { TimerSet } from './timers.js';
import type { ApiName, CallRecord } from './types.js';
import { errorReply, json, sessionError, text, zsError, type SimReply } from './wire.js';
import type { World } from './world.js';

export interface ServerDeps {
  world: World;
  sessions: Sessions;
  accessKeys: AccessKeys;
  features: MnFeatures;
  jobs: Jobs;
  faults: Faults;
  guestTools: GuestTools;
  query: QueryEngine;
  resources: {
    vm: Resource<unknown>; cdrom: Resource<unknown>; tag: Resource<unknown>; tagPattern: Resource<unknown>; userTag: Resource<unknown>;
    guest: Resource<unknown>;
  };
  timers: TimerSet;
  holds: RequestHolds;
  calls: CallRecord[];
  locationHost(): string;
}

interface Ctx {
  req: IncomingMessage;
  route: Route;
  /** The raw path after `/zstack`, what an AccessKey signature covers. */
  uri: string;
  api: ApiName;
  params: Params;
  body: unknown;
  record: CallRecord;
  /** Set by an action: destroy the socket after the side effect (reset fault on an accepted attach). */
  resetAfter?: boolean;
}

const MAX_BODY = 8 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function createHandler(d: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const write = (res: ServerResponse, record: CallRecord, reply: SimReply): void => {
    record.status = reply.status;
    d.calls.push(record);
    // No Content-Type, as RestServer: only the status and the body (Content-Length set by node).
    // The Date header is the MN's own clock (which a test may set off).
    res.setHeader('Date', new Date(d.accessKeys.now()).toUTCString());
    res.writeHead(reply.status);
    res.end(reply.body);
  };
  const reset = (res: ServerResponse, record: CallRecord): void => {
    record.status = 0;
    d.calls.push(record);
    res.socket?.destroy();
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const pathname = qi < 0 ? url : url.slice(0, qi);
    const rawQuery = qi < 0 ? '' : url.slice(qi + 1);
    const method = req.method ?? 'GET';
    const record: CallRecord = { at: Date.now(), method, path: pathname, api: 'Unknown', status: 0 };
    if (rawQuery) record.query = rawQuery;

    void (async () => {
      const bodyText = method === 'GET' || method === 'HEAD' ? '' : await readBody(req);
      const sub = pathname.startsWith('/zstack/') ? pathname.slice('/zstack'.length) : null;
      const found = sub === null ? null : route(method, sub.replace(/\/+$/, ''));
      // An MN older than 4.6.11 has no QueryGuestToolsState: RestServer knows no such path.
      const r = found?.kind === 'query-guest' && d.features.guestToolsStateField === null ? null : found;
      if (!r) return write(res, record, text(404, `no api mapping to ${sub ?? pathname}`));
      if (r.uuid && r.kind !== 'job' && r.kind !== 'logout' && r.kind !== 'validate') record.vmUuid = r.uuid;
      if (r.kind === 'job' && r.uuid) record.jobUuid = r.uuid;

      let body: unknown = {};
      if (bodyText.trim() !== '') {
        try {
          body = JSON.parse(bodyText) as unknown;
        } catch {
          return write(res, record, text(400, 'the body is not a valid JSON'));
        }
      }
      let api = r.api;
      if (r.kind === 'actions') {
        const key = isRecord(body) ? Object.keys(ACTIONS).find((k) => k in body) : undefined;
        if (!key) return write(res, record, text(400, `the body doesn't contain action mapping to the URL[${sub ?? ''}]`));
        api = ACTIONS[key] ?? null;
      }
      if (!api) return write(res, record, text(404, `no api mapping to ${sub ?? pathname}`));
      record.api = api;
      if (r.kind === 'query-cdrom') delete record.vmUuid;
      const held = d.holds.wait(api, record);
      if (held) await held;

      const delay = d.faults.latencyMs + d.faults.spikeMs();
      if (delay > 0) await d.timers.sleep(delay);
      if (d.faults.expireSessionsNow()) d.sessions.clear();
      const fault = d.faults.forRequest(api);
      if (fault === 'error') return write(res, record, errorReply(zsError('SYS.1000', 'injected fault: internal error')));
      if (fault === 'proxy') {
        const status = d.faults.proxyStatus();
        return write(res, record, text(status, status === 502 ? 'Bad Gateway' : 'Service Unavailable'));
      }
      if (fault === 'reset' && api !== 'AttachGuestToolsIsoToVm') return reset(res, record);

      const ctx: Ctx = { req, route: r, uri: sub ?? pathname, api, params: parseQueryString(rawQuery), body, record, resetAfter: fault === 'reset' };
      const reply = handle(d, ctx);
      if (ctx.resetAfter) return reset(res, record);
      if (fault === 'timeout') {
        // Carried out, never answered: the client times out; close() ends the connection.
        record.status = 0;
        d.calls.push(record);
        return;
      }
      write(res, record, reply);
    })().catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return;
      write(res, record, text(500, error instanceof Error ? error.message : String(error)));
    });
  };
}

function handle(d: ServerDeps, ctx: Ctx): SimReply {
  const { route: r, params } = ctx;
  const uuid = r.uuid ?? '';
  switch (r.kind) {
    case 'login':
      return d.sessions.login(ctx.body);
    case 'logout':
      d.sessions.logout(uuid);
      return { status: 200, body: '' };
    case 'validate':
      return json(200, { valid: d.sessions.valid(uuid) });
    case 'job':
      return d.jobs.poll(ctx.req.method ?? 'GET', uuid);
    case 'actions':
      return action(d, ctx);
    default:
      break;
  }
  const auth = authorize(d, ctx);
  if (!auth.ok) return auth.reply;
  if (auth.session !== null && !d.sessions.use(auth.session)) return errorReply(sessionError());
  const byUuid: Condition[] = r.uuid ? [{ field: 'uuid', op: '=', value: uuid }] : [];
  switch (r.kind) {
    case 'query-vm':
      return d.query.run(d.resources.vm, { params, implicit: byUuid });
    case 'query-cdrom':
      return d.query.run(d.resources.cdrom, { params });
    case 'query-tag':
      return d.query.run(d.resources.tag, { params, implicit: byUuid });
    case 'query-tag-pattern':
      return d.query.run(d.resources.tagPattern, { params, implicit: byUuid });
    case 'query-user-tag':
      return d.query.run(d.resources.userTag, { params, implicit: byUuid });
    case 'query-guest':
      return d.query.run(d.resources.guest, { params });
    case 'latest':
      return d.guestTools.latest(uuid);
    case 'info':
      return d.guestTools.info(uuid);
    default:
      return text(404, 'no api mapping');
  }
}

type Authorized = { ok: true; session: string | null } | { ok: false; reply: SimReply };

/** The REST layer's check: an AccessKey is verified here (before any 202); a session id only later, by the interceptor. */
function authorize(d: ServerDeps, ctx: Ctx): Authorized {
  const value = ctx.req.headers.authorization?.trim() ?? '';
  if (!value.startsWith('ZStack ')) return d.sessions.header(value === '' ? undefined : value);
  const date = ctx.req.headers.date;
  const check = d.accessKeys.check({ method: ctx.req.method ?? 'GET', uri: ctx.uri, credential: value.slice('ZStack '.length), date });
  return check.ok ? { ok: true, session: null } : check;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** PUT .../actions: header checks, then 202 with the job location; the job does the rest. */
function action(d: ServerDeps, ctx: Ctx): SimReply {
  const auth = authorize(d, ctx);
  if (!auth.ok) {
    ctx.resetAfter = false;
    return auth.reply;
  }
  const header = ctx.req.headers['x-job-uuid'];
  const jobId = d.jobs.checkHeader(Array.isArray(header) ? header[0] : header);
  if (!jobId.ok) {
    ctx.resetAfter = false;
    return jobId.reply;
  }
  const vmUuid = ctx.route.uuid ?? '';
  const body = isRecord(ctx.body) ? ctx.body : {};
  const actionKey = ctx.api === 'AttachGuestToolsIsoToVm' ? 'attachGuestToolsIsoToVm' : 'detachGuestToolsIsoFromVm';
  const inner = body[actionKey];
  // Top-level systemTags (the documented form) and inside the action object (what zssdk.py sends).
  const systemTags = [...stringList(body.systemTags), ...(isRecord(inner) ? stringList(inner.systemTags) : [])];
  const job = d.jobs.create(jobId.uuid, ctx.api, vmUuid);
  ctx.record.jobUuid = job.uuid;
  const vm = d.world.getVm(vmUuid);
  if (vm?.hostUuid) ctx.record.hostUuid = vm.hostUuid;
  if (ctx.api === 'AttachGuestToolsIsoToVm' && d.faults.expireSessionsUnderAttach()) d.sessions.clear();
  if (auth.session !== null && !d.sessions.use(auth.session)) {
    // The interceptor runs after the 202: the job carries ID.1001.
    d.jobs.fail(job, sessionError());
  } else if (ctx.api === 'AttachGuestToolsIsoToVm') {
    d.guestTools.startAttach(job, vmUuid, systemTags);
  } else {
    d.guestTools.startDetach(job, vmUuid);
  }
  return json(202, { location: `http://${d.locationHost()}/zstack/v1/api-jobs/${job.uuid}`, apiTimeout: 1800000 });
}
