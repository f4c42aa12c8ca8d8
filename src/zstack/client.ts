// The ZStack REST client the reconciler uses: one object that owns the HTTP agent and the credentials
// (a session, or an AccessKey that signs every request) and exposes the few APIs the pipeline needs.
// The mechanics live in the neighbouring modules.
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { GtrError } from '../errors.js';
import { randomUUID } from 'node:crypto';
import { newJobUuid, runAction, runStart, type ActionContext, type ActionOptions, type ActionResult } from './actions.js';
import { createAgent, normalizeEndpoint } from './dispatcher.js';
import { HttpCore, type RequestObserver } from './http.js';
import { checkJob, followJob, type JobCheck } from './jobs.js';
import { GuestToolsStateProbe, type GuestToolsStateSupport } from './guest-tools-state.js';
import { count, getObject, getReply, idempotentReply, queryPages, queryString, type QueryContext } from './query.js';
import { absenceOf, errorForReply, okObject } from './reply.js';
import {
  createScriptCall, executeScriptCall, guestToolsStateOf, guestVmScriptOf, inventoryOf, scriptDetailOf, scriptRecordOf,
  type DetachSupport, type GuestToolsState, type GuestVmScript, type ScriptDetail, type ScriptLibrarySupport, type ScriptRecord, type ScriptSpec,
} from './scripts.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { AccessKeySigner, type AccessKeyCredentials } from './access-key.js';
import { hashPassword, Session, type Authenticator } from './session.js';
import { guestToolsInventoryOf, inventoriesOf, QUERY_RESOURCES, type GuestToolsInventory, type QueryResource } from './types.js';

export { newJobUuid, type ActionApi, type ActionOptions, type ActionResult, type StartApi, type StartOutcome } from './actions.js';
export { executeSubject, StartPermit } from './start-permit.js';
export { absentApi, type ApiAbsence } from './reply.js';
export {
  isScriptStatusRunning, scriptDetailSucceeded,
  type DetachSupport, type GuestToolsState, type GuestVmScript, type ScriptDetail, type ScriptLibrarySupport, type ScriptRecord, type ScriptSpec,
} from './scripts.js';
export { hashPassword } from './session.js';
export type { AccessKeyCredentials } from './access-key.js';
export { GUEST_TOOLS_STATE_ABSENT, type GuestToolsStateSupport } from './guest-tools-state.js';
export type { ApiName, GuestToolsInventory, QueryResource } from './types.js';
export type { JobCheck } from './jobs.js';

/** The read side of the client that the inventory stage uses (paged queries, the guest report's field). */
export interface QueryPort {
  queryPages(resource: QueryResource, conditions: string[], opts?: { fields?: string[] }): AsyncIterable<Record<string, unknown>[]>;
  guestToolsStateSupport(): Promise<GuestToolsStateSupport>;
}

export interface ZStackClientOptions {
  /** e.g. 'http://127.0.0.1:8080'; '/zstack/v1' is appended. */
  endpoint: string;
  accountName: string;
  /** Plaintext; hashed with SHA-512 for login, never logged. Exactly one of password and accessKey. */
  password?: string;
  /** Sign every request with this AccessKey instead of logging in; the secret is never logged. */
  accessKey?: AccessKeyCredentials;
  requestTimeoutMs: number;
  pageSize: number;
  jobPollIntervalMs: number;
  jobTimeoutMs: number;
  tls?: { caFile: string | null; rejectUnauthorized: boolean };
  /** Injectable undici Dispatcher; default: an Agent built from the tls options, closed by close(). */
  dispatcher?: Dispatcher;
  logger?: Logger;
  /** GET retries (after the first attempt), default 3 / 200 ms / 2000 ms, with jitter. */
  retry?: RetryPolicy;
  /** Aborts everything (shutdown). */
  signal?: AbortSignal;
  /** Told each request's API, duration and failure (the daemon's metrics; RequestCounts counts them). */
  observer?: RequestObserver;
}

/** Session ids seen during the client's life that are still scrubbed from error text. */
const MAX_REMEMBERED_SECRETS = 32;

export class ZStackClient {
  private readonly http: HttpCore;
  private readonly auth: Authenticator;
  private readonly ownDispatcher: Dispatcher | null;
  private readonly queryCtx: QueryContext;
  private readonly actionCtx: ActionContext;
  private readonly guestTools: GuestToolsStateProbe;
  private readonly secrets: string[] = [];
  private closed = false;
  private scriptLibrary: Promise<ScriptLibrarySupport> | null = null;
  private detach: Promise<DetachSupport> | null = null;

  constructor(opts: ZStackClientOptions) {
    const endpoint = normalizeEndpoint(opts.endpoint);
    const retry = opts.retry ?? DEFAULT_RETRY;
    if ((opts.password === undefined) === (opts.accessKey === undefined)) {
      // A programming error: the configuration already refused both and neither.
      throw new RangeError('ZStackClient needs exactly one of password and accessKey');
    }
    const passwordHash = opts.password === undefined ? null : hashPassword(opts.password);
    this.remember(passwordHash ?? (opts.accessKey as AccessKeyCredentials).secret);
    this.ownDispatcher = opts.dispatcher ? null : createAgent(endpoint, opts.tls, opts.requestTimeoutMs);
    this.http = new HttpCore({
      endpoint,
      dispatcher: opts.dispatcher ?? (this.ownDispatcher as Dispatcher),
      requestTimeoutMs: opts.requestTimeoutMs,
      signal: opts.signal,
      logger: opts.logger,
      observer: opts.observer,
      scrub: (text) => this.scrub(text),
    });
    this.auth = passwordHash === null
      ? new AccessKeySigner(opts.accessKey as AccessKeyCredentials)
      : new Session({ http: this.http, accountName: opts.accountName, passwordHash, retry, onSecret: (s) => this.remember(s) });
    this.queryCtx = { http: this.http, auth: this.auth, retry, pageSize: opts.pageSize };
    this.actionCtx = {
      http: this.http,
      auth: this.auth,
      retry,
      jobPollIntervalMs: opts.jobPollIntervalMs,
      jobTimeoutMs: opts.jobTimeoutMs,
    };
    this.guestTools = new GuestToolsStateProbe({
      get: (path) => getReply(this.queryCtx, 'QueryGuestToolsState', path),
      scrub: (text) => this.scrub(text),
      logger: opts.logger,
    });
  }

  /** Whether the MN has QueryGuestToolsState and the name of its state field (found out once). */
  async guestToolsStateSupport(): Promise<GuestToolsStateSupport> {
    this.assertOpen('QueryGuestToolsState');
    return this.guestTools.support();
  }

  /** The last answer of guestToolsStateSupport(), without asking the MN; null before the first. */
  guestToolsStateSeen(): GuestToolsStateSupport | null {
    return this.guestTools.seen();
  }

  /** Logs in unless a session is already open (every call also logs in lazily); nothing with an AccessKey. */
  async login(): Promise<void> {
    this.assertOpen('LogInByAccount');
    await this.auth.current();
  }

  /** Logout (best effort), then close the HTTP agent if the client created it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.auth.close();
    await this.ownDispatcher?.close();
  }

  /** Paged query: one page of raw inventories per request, sorted by a unique key; stops on a short page. */
  async *queryPages(resource: QueryResource, conditions: string[], opts?: { fields?: string[] }): AsyncIterable<Record<string, unknown>[]> {
    this.assertOpen(QUERY_RESOURCES[resource].api);
    yield* queryPages(this.queryCtx, resource, conditions, opts);
  }

  async count(resource: QueryResource, conditions: string[]): Promise<number> {
    this.assertOpen(QUERY_RESOURCES[resource].api);
    return count(this.queryCtx, resource, conditions);
  }

  /** 'done' when the job finished OK, 'refused' when no permit came; throws ZStackApiError on a failed job. */
  async attachGuestToolsIso(vmUuid: string, opts: ActionOptions): Promise<ActionResult> {
    this.assertOpen('AttachGuestToolsIsoToVm');
    return runAction(this.actionCtx, 'AttachGuestToolsIsoToVm', vmUuid, opts);
  }

  async detachGuestToolsIso(vmUuid: string, opts: ActionOptions): Promise<ActionResult> {
    this.assertOpen('DetachGuestToolsIsoFromVm');
    return runAction(this.actionCtx, 'DetachGuestToolsIsoFromVm', vmUuid, opts);
  }

  /**
   * CreateGuestVmScript under a start permit for `spec.resourceUuid`: the script, or null when refused.
   * Throws ZStackApiError (a failed job), GTR_JOB_LOST (find the script by its resourceUuid then), and a
   * ZStackHttpError whose absentApi() is 'no-api-mapping' on an MN without the script library.
   */
  async createGuestVmScript(spec: ScriptSpec, opts: Pick<ActionOptions, 'permit'>): Promise<GuestVmScript | null> {
    const api = 'CreateGuestVmScript';
    this.assertOpen(api);
    const out = await runStart(this.actionCtx, createScriptCall(spec), opts.permit);
    return out.result === 'refused' ? null : guestVmScriptOf(api, inventoryOf(api, out.body));
  }

  /**
   * ExecuteGuestVmScript on one batch under a permit for executeSubject(scriptUuid, vmUuids): the record
   * the job returns (usually still Running), or null when refused. Poll it with scriptRecord() and read
   * the outcome per VM with scriptDetails().
   */
  async executeGuestVmScript(scriptUuid: string, vmUuids: readonly string[], opts: Pick<ActionOptions, 'permit'> & { scriptTimeout?: number }): Promise<ScriptRecord | null> {
    const api = 'ExecuteGuestVmScript';
    this.assertOpen(api);
    const out = await runStart(this.actionCtx, executeScriptCall(scriptUuid, vmUuids, opts.scriptTimeout), opts.permit);
    return out.result === 'refused' ? null : scriptRecordOf(api, inventoryOf(api, out.body));
  }

  /** Scripts matching the conditions (e.g. `name=gtr-install-linux-<hash>`), every page. */
  async queryGuestVmScripts(conditions: string[]): Promise<GuestVmScript[]> {
    const out: GuestVmScript[] = [];
    for await (const page of this.queryPages('scripts', conditions)) for (const row of page) out.push(guestVmScriptOf('QueryGuestVmScript', row));
    return out;
  }

  /** Records matching the conditions (e.g. `uuid?=a,b` for a batch's records, `scriptUuid=S`), every page. */
  async queryScriptRecords(conditions: string[]): Promise<ScriptRecord[]> {
    const out: ScriptRecord[] = [];
    for await (const page of this.queryPages('scripts/records', conditions)) for (const row of page) out.push(scriptRecordOf('QueryGuestVmScriptExecutedRecord', row));
    return out;
  }

  /** One record, or null when the MN has none with that uuid. */
  async scriptRecord(recordUuid: string): Promise<ScriptRecord | null> {
    return (await this.queryScriptRecords([`uuid=${recordUuid}`]))[0] ?? null;
  }

  /** Every detail of a record (one per VM), read in pages of `pageSize`, never one request per VM. */
  async scriptDetails(recordUuid: string, extra: string[] = []): Promise<ScriptDetail[]> {
    const out: ScriptDetail[] = [];
    for await (const page of this.queryPages('scripts/records/details', [`recordUuid=${recordUuid}`, ...extra])) {
      for (const row of page) out.push(scriptDetailOf('QueryGuestVmScriptExecutedRecordDetail', row));
    }
    return out;
  }

  /**
   * UpdateGuestToolsState (sync, 4.6.21+): the MN re-reads the guest now and returns its state row. It
   * changes nothing in the guest or the VM, so it needs no permit and is retried like a query.
   */
  async updateGuestToolsState(vmUuid: string): Promise<GuestToolsState> {
    const api = 'UpdateGuestToolsState';
    this.assertOpen(api);
    const path = `/zstack/v1/vm-instances/${encodeURIComponent(vmUuid)}/guesttools-state`;
    const reply = await idempotentReply(this.queryCtx, api, 'PUT', path, { updateGuestToolsState: {}, systemTags: [], userTags: [] });
    return guestToolsStateOf(api, inventoryOf(api, okObject(api, reply, this.http.scrub)));
  }

  /** Whether the MN has the script library: one query (`/scripts?limit=1`) per client, asked again after an error. */
  scriptLibrarySupport(): Promise<ScriptLibrarySupport> {
    const api = 'QueryGuestVmScript';
    this.assertOpen(api);
    this.scriptLibrary ??= getReply(this.queryCtx, api, `/zstack/v1/scripts?${queryString([['limit', '1']])}`).then((reply) => {
      if (absenceOf(reply) === 'no-api-mapping') {
        // Asked once per client (per process): the one warning.
        this.http.logger?.warn({ api }, 'the management node has no script library (ZStack 5.2.0+): installs in the guest are unavailable, attach goes on');
        return 'absent' as const;
      }
      inventoriesOf(api, okObject(api, reply, this.http.scrub));
      return 'present' as const;
    });
    this.scriptLibrary.catch(() => {
      this.scriptLibrary = null;
    });
    return this.scriptLibrary;
  }

  /**
   * Whether the MN has DetachGuestToolsIsoFromVm, asked once per client by a detach of a VM uuid that
   * does not exist (a fresh random one): an MN with the API accepts it (202; its job fails SYS.1003 and
   * nothing is detached anywhere), one without answers 400 `no action mapping`. Nothing can start, so
   * this probe needs no permit.
   */
  detachSupport(): Promise<DetachSupport> {
    const api = 'DetachGuestToolsIsoFromVm';
    this.assertOpen(api);
    this.detach ??= (async () => {
      const token = await this.auth.current();
      const path = `/zstack/v1/vm-instances/${randomUUID().replaceAll('-', '')}/actions`;
      const reply = await this.http.send({
        api, method: 'PUT', path, headers: { ...this.auth.headers(token, 'PUT', path), 'x-job-uuid': newJobUuid() },
        json: { detachGuestToolsIsoFromVm: {}, systemTags: [], userTags: [] },
      });
      if (absenceOf(reply) === 'no-action-mapping') {
        this.http.logger?.warn({ api }, 'the management node has no DetachGuestToolsIsoFromVm: clean-up after verify is unavailable, attach goes on');
        return 'absent' as const;
      }
      if (reply.status === 202 || reply.status === 200) return 'present' as const;
      throw errorForReply(api, reply, this.http.scrub);
    })();
    this.detach.catch(() => {
      this.detach = null;
    });
    return this.detach;
  }

  /** Polls an already-sent job once. */
  async checkJob(jobUuid: string): Promise<JobCheck> {
    this.assertOpen('QueryJob');
    return checkJob(this.actionCtx, jobUuid, await this.auth.current());
  }

  /** Crash recovery: follows an already-sent job until it ends, bounded (see followJob); `running` when it did not. */
  async followJob(jobUuid: string): Promise<JobCheck> {
    this.assertOpen('QueryJob');
    return followJob(this.actionCtx, jobUuid, await this.auth.current());
  }

  /** The ISO the MN would attach, or null when the reply has no inventory (no upgrade offered). */
  async getLatestGuestTools(vmUuid: string): Promise<GuestToolsInventory | null> {
    const api = 'GetLatestGuestToolsForVm';
    this.assertOpen(api);
    const body = await getObject(this.queryCtx, api, `/zstack/v1/vm-instances/${encodeURIComponent(vmUuid)}/latest-guest-tools`);
    return guestToolsInventoryOf(api, body);
  }

  private assertOpen(api: string): void {
    if (this.closed) throw new GtrError('GTR_ABORTED', `${api}: the ZStack client is closed`, { details: { api } });
  }

  private remember(secret: string): void {
    if (secret.length < 8 || this.secrets.includes(secret)) return;
    this.secrets.push(secret);
    // Keep the hash (first) and the most recent session ids.
    if (this.secrets.length > MAX_REMEMBERED_SECRETS) this.secrets.splice(1, 1);
  }

  private scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.replaceAll(s, '***');
    return out;
  }
}
