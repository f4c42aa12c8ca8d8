// The HTTP front of the simulator: routing, the REST layer's checks (auth header, X-Job-UUID, action
// key), fault injection, the call log, and writing replies without Content-Type (as the real MN).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessKeys } from './access-keys.js';
import { type Sessions } from './auth.js';
import type { Faults } from './faults.js';
import type { GuestOs } from './guest-os.js';
import { updateGuestToolsState } from './guest-state.js';
import type { GuestTools } from './guest-tools.js';
import type { Job, Jobs } from './jobs.js';
import { typeProblem } from './api-params.js';
import { createSpecs, EXECUTE_SPECS, type ScriptLibrary } from './script-library.js';
import type { MnFeatures } from './mn-version.js';
import type { QueryEngine, Resource } from './query.js';
import type { RequestHolds } from './request-holds.js';
import { parseQueryString, type Condition, type Params } from './query-params.js';
import { ACTIONS, route, SCRIPT_ACTIONS, SCRIPT_KINDS, type Route, type RouteKind } from './routes.js';
import type { TimerSet } from './timers.js';
import type { ApiName, CallRecord } from './types.js';
import { errorReply, json, sessionError, text, zsError, type SimReply } from './wire.js';
import type { World } from './world.js';
import { messageOf } from '../errors.js';
import { isPlainObject } from '../plain-object.js';

interface ServerDeps {
  world: World;
  sessions: Sessions;
  accessKeys: AccessKeys;
  features: MnFeatures;
  jobs: Jobs;
  faults: Faults;
  guestTools: GuestTools;
  guestOs: GuestOs;
  scripts: ScriptLibrary;
  query: QueryEngine;
  /** The script tables' own engine (keyed on their own version, not the world's). */
  scriptQuery: QueryEngine;
  resources: {
    vm: Resource<unknown>; cdrom: Resource<unknown>; tag: Resource<unknown>; tagPattern: Resource<unknown>; userTag: Resource<unknown>;
    guest: Resource<unknown>; script: Resource<unknown>; record: Resource<unknown>; detail: Resource<unknown>;
  };
  /** false: DetachGuestToolsIsoFromVm is unknown (400 `the body doesn't contain action mapping`). */
  detachApi: boolean;
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

/** Async calls that start something: a reset fault hits them after the MN accepted them (the client's doubt path). */
const ASYNC_STARTS: ReadonlySet<ApiName> = new Set(['AttachGuestToolsIsoToVm', 'DetachGuestToolsIsoFromVm', 'CreateGuestVmScript', 'ExecuteGuestVmScript']);
/** Routes whose `{uuid}` is a VM's. */
const VM_KINDS: ReadonlySet<RouteKind> = new Set(['query-vm', 'actions', 'latest', 'info', 'update-guest-state']);

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
      // APIs an older MN lacks: RestServer knows no such path.
      const r = found !== null && absent(d, found.kind) ? null : found;
      if (!r) return write(res, record, text(404, `no api mapping to ${sub ?? pathname}`));
      if (r.uuid && VM_KINDS.has(r.kind)) record.vmUuid = r.uuid;
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
      if (r.kind === 'actions' || r.kind === 'script-actions') {
        const known = r.kind === 'actions' ? ACTIONS : SCRIPT_ACTIONS;
        const key = isPlainObject(body) ? Object.keys(known).find((k) => k in body && (d.detachApi || k !== 'detachGuestToolsIsoFromVm')) : undefined;
        if (!key) return write(res, record, text(400, `the body doesn't contain action mapping to the URL[${sub ?? ''}]`));
        api = known[key] ?? null;
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
      if (fault === 'reset' && !ASYNC_STARTS.has(api)) return reset(res, record);

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
      write(res, record, text(500, messageOf(error)));
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
    case 'script-create':
      return createScript(d, ctx);
    case 'script-actions':
      return executeScript(d, ctx);
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
    case 'update-guest-state':
      return updateGuestToolsState(d.world, d.guestOs, uuid);
    case 'query-script':
      return d.scriptQuery.run(d.resources.script, { params, implicit: byUuid });
    case 'query-record':
      return d.scriptQuery.run(d.resources.record, { params, implicit: byUuid });
    case 'query-detail':
      return d.scriptQuery.run(d.resources.detail, { params });
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

function absent(d: ServerDeps, kind: RouteKind): boolean {
  if (kind === 'query-guest') return d.features.guestToolsStateField === null;
  if (kind === 'update-guest-state') return !d.features.updateGuestToolsState;
  return SCRIPT_KINDS.has(kind) && !d.features.scriptLibrary;
}

/**
 * An async call: the REST layer's checks (credentials, X-Job-UUID), then 202 with the job location.
 * The session itself is checked by the interceptor, after the 202: an expired one fails the job with
 * ID.1001 and nothing runs. `start` does the rest inside the job.
 */
function accept(
  d: ServerDeps, ctx: Ctx, vmUuid: string | undefined, start: (job: Job) => void,
  more: { rejected?: (job: Job) => void; typeProblem?: () => string | null } = {},
): SimReply {
  const auth = authorize(d, ctx);
  if (!auth.ok) {
    ctx.resetAfter = false;
    return auth.reply;
  }
  // RestServer: the credentials, then the parameters' types (TypeVerifier), then X-Job-UUID.
  const problem = more.typeProblem?.() ?? null;
  if (problem !== null) {
    ctx.resetAfter = false;
    return text(400, problem);
  }
  const header = ctx.req.headers['x-job-uuid'];
  const jobId = d.jobs.checkHeader(Array.isArray(header) ? header[0] : header);
  if (!jobId.ok) {
    ctx.resetAfter = false;
    return jobId.reply;
  }
  const job = d.jobs.create(jobId.uuid, ctx.api, vmUuid);
  ctx.record.jobUuid = job.uuid;
  if (ctx.api === 'AttachGuestToolsIsoToVm' && d.faults.expireSessionsUnderAttach()) d.sessions.clear();
  if (auth.session !== null && !d.sessions.use(auth.session)) {
    d.jobs.fail(job, sessionError());
    more.rejected?.(job);
  } else start(job);
  return json(202, { location: `http://${d.locationHost()}/zstack/v1/api-jobs/${job.uuid}`, apiTimeout: 1800000 });
}

/** PUT .../actions: header checks, then 202 with the job location; the job does the rest. */
function action(d: ServerDeps, ctx: Ctx): SimReply {
  const vmUuid = ctx.route.uuid ?? '';
  const body = isPlainObject(ctx.body) ? ctx.body : {};
  const actionKey = ctx.api === 'AttachGuestToolsIsoToVm' ? 'attachGuestToolsIsoToVm' : 'detachGuestToolsIsoFromVm';
  const inner = body[actionKey];
  // Top-level systemTags (the documented form) and inside the action object (what zssdk.py sends).
  const systemTags = [...stringList(body.systemTags), ...(isPlainObject(inner) ? stringList(inner.systemTags) : [])];
  const vm = d.world.getVm(vmUuid);
  if (vm?.hostUuid) ctx.record.hostUuid = vm.hostUuid;
  return accept(d, ctx, vmUuid, (job) => {
    if (ctx.api === 'AttachGuestToolsIsoToVm') d.guestTools.startAttach(job, vmUuid, systemTags);
    else d.guestTools.startDetach(job, vmUuid);
  });
}

/** The API's parameters: the body's object under `key` (a missing one is an API with every field null). */
function paramsOf(body: unknown, key: string): Record<string, unknown> {
  const inner = isPlainObject(body) ? body[key] : undefined;
  return isPlainObject(inner) ? inner : {};
}

/** POST /v1/scripts {"params": {...}}: the REST layer's type check (400), then 202; validation runs in the job. */
function createScript(d: ServerDeps, ctx: Ctx): SimReply {
  const params = paramsOf(ctx.body, 'params');
  const typeCheck = (): string | null => typeProblem(createSpecs(d.features.scriptEncodingType), params);
  return accept(d, ctx, undefined, (job) => d.scripts.startCreate(job, params), { typeProblem: typeCheck });
}

/** PUT /v1/scripts/{uuid}/actions {"executeGuestVmScript": {...}}. */
function executeScript(d: ServerDeps, ctx: Ctx): SimReply {
  const params = paramsOf(ctx.body, 'executeGuestVmScript');
  const scriptUuid = ctx.route.uuid ?? '';
  return accept(d, ctx, undefined, (job) => d.scripts.startExecute(job, scriptUuid, params), {
    rejected: (job) => d.scripts.rejectedUnrun(job, scriptUuid, params),
    typeProblem: () => typeProblem(EXECUTE_SPECS, params),
  });
}
