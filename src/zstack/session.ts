// One ZStack session shared by every call. Login is lazy; a re-login after ID.1001 is a single shared
// promise, so many callers that hit an expired session at once cause exactly one LogInByAccount.
import { createHash } from 'node:crypto';
import { GtrError, ZStackApiError } from '../errors.js';
import type { HttpCore, Reply } from './http.js';
import { AUTHENTICATION_FAILED, errorForReply, okObject } from './reply.js';
import { sendIdempotent, type RetryPolicy } from './retry.js';
import { sessionUuidOf, type ApiName } from './types.js';

/** SHA-512 lowercase hex, as LogInByAccount expects. */
export function hashPassword(plain: string): string {
  return createHash('sha512').update(plain, 'utf8').digest('hex');
}

/** How requests are authenticated: a session (password login) or an AccessKey (every request signed). */
export interface Authenticator {
  /** The token for the next request: a session id (logging in first if there is none), or the AccessKey id. */
  current(): Promise<string>;
  /** A fresh token after `stale` was refused with ID.1001 (shared with concurrent callers). */
  renew(stale: string): Promise<string>;
  /** The headers of one request made with `token`; `path` as sent (from `/zstack`, with any query). */
  headers(token: string, method: string, path: string): Record<string, string>;
  /** The error a refusal of the credentials stands for, when the reply is one (AccessKey); else null. */
  refusal?(api: ApiName, reply: Reply, endpoint: string): GtrError | null;
  /** Logout (best effort) for a session; nothing for an AccessKey. */
  close(): Promise<void>;
}

interface SessionOptions {
  http: HttpCore;
  accountName: string;
  passwordHash: string;
  retry: RetryPolicy;
  /** Called with every new session id so it can be scrubbed from any error text. */
  onSecret: (secret: string) => void;
}

export class Session implements Authenticator {
  private uuid: string | null = null;
  private pending: Promise<string> | null = null;
  private readonly opts: SessionOptions;

  constructor(opts: SessionOptions) {
    this.opts = opts;
  }

  /** The current session id, logging in first if there is none. */
  current(): Promise<string> {
    return this.uuid !== null ? Promise.resolve(this.uuid) : this.login();
  }

  /** Logs in (or joins a login already under way). */
  login(): Promise<string> {
    this.pending ??= this.doLogin().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  /**
   * A fresh session after `stale` was rejected with ID.1001. Callers that saw the same stale id share one
   * login; a caller whose stale id was already replaced just gets the new one.
   */
  renew(stale: string): Promise<string> {
    if (this.pending) return this.pending;
    if (this.uuid !== null && this.uuid !== stale) return Promise.resolve(this.uuid);
    this.uuid = null;
    return this.login();
  }

  headers(token: string): Record<string, string> {
    return { authorization: `OAuth ${token}` };
  }

  close(): Promise<void> {
    return this.logout();
  }

  /** Best effort: the session would expire on its own anyway. */
  async logout(): Promise<void> {
    if (this.pending) await this.pending.catch(() => undefined);
    const uuid = this.uuid;
    this.uuid = null;
    if (uuid === null) return;
    try {
      // LogOut needs no Authorization; the id is in the path only.
      await this.opts.http.send({ api: 'LogOut', method: 'DELETE', path: `/zstack/v1/accounts/sessions/${encodeURIComponent(uuid)}` });
    } catch {
      // Ignored on purpose: closing must not fail because the MN is already gone.
    }
  }

  private async doLogin(): Promise<string> {
    const { http, accountName, passwordHash, retry } = this.opts;
    // Login only creates a session, so repeating it after a transport error is harmless.
    const reply = await sendIdempotent(
      http,
      {
        api: 'LogInByAccount',
        method: 'PUT',
        path: '/zstack/v1/accounts/login',
        json: { logInByAccount: { accountName, password: passwordHash } },
      },
      retry,
    );
    if (reply.status !== 200) {
      const err = errorForReply('LogInByAccount', reply, http.scrub);
      if (err instanceof ZStackApiError) {
        const why = err.zstack.code === AUTHENTICATION_FAILED ? 'wrong account name or password' : err.zstack.details || err.zstack.description;
        throw new GtrError('GTR_ZSTACK_LOGIN_REFUSED', `login refused for account "${accountName}": ${why} (${err.zstack.code})`, {
          cause: err,
          details: { api: 'LogInByAccount', accountName, zstackCode: err.zstack.code, endpoint: http.endpoint },
        });
      }
      throw err;
    }
    const uuid = sessionUuidOf(okObject('LogInByAccount', reply, http.scrub));
    this.opts.onSecret(uuid);
    this.uuid = uuid;
    http.logger?.debug({ api: 'LogInByAccount', accountName }, 'zstack session opened');
    return uuid;
  }
}
