// Sessions: login by sha512 hex, sliding expiry, logout, validate, the Authorization header rules.
// An unknown and an expired session are the same error (ID.1001), as on a real MN.
import { createHash } from 'node:crypto';
import { derivedUuid, randomHexUuid } from './rng.js';
import { errorReply, json, text, zsDate, zsError, type SimReply } from './wire.js';
import { isPlainObject } from '../plain-object.js';

interface Session {
  uuid: string;
  expiresAt: number;
  calls: number;
}

const MAX_SESSIONS = 500;

type AuthCheck = { ok: true; session: string } | { ok: false; reply: SimReply };

export class Sessions {
  private readonly sessions = new Map<string, Session>();
  private readonly passwordHash: string;
  private readonly accountUuid: string;
  expireAfterCalls: number | undefined;
  /** Every session id ever issued, for tests that look for leaked secrets. */
  readonly issued: string[] = [];

  constructor(
    private readonly accountName: string,
    password: string,
    private readonly timeoutMs: number,
  ) {
    this.passwordHash = createHash('sha512').update(password, 'utf8').digest('hex');
    this.accountUuid = derivedUuid(`account:${accountName}`);
  }

  login(body: unknown): SimReply {
    const params = isPlainObject(body) ? body.logInByAccount : undefined;
    if (!isPlainObject(params)) return text(400, "the body doesn't contain action mapping to the URL[/v1/accounts/login]");
    if (params.accountName !== this.accountName || params.password !== this.passwordHash) {
      return errorReply(zsError('ID.1000', 'wrong account name or password'));
    }
    const now = Date.now();
    let live = 0;
    for (const [uuid, s] of this.sessions) {
      if (s.expiresAt > now) live++;
      else this.sessions.delete(uuid); // the MN sweeps expired sessions too
    }
    if (live >= MAX_SESSIONS) return errorReply(zsError('ID.1006', `the maximum number[${MAX_SESSIONS}] of concurrent sessions is reached`));
    const session: Session = { uuid: randomHexUuid(), expiresAt: now + this.timeoutMs, calls: 0 };
    this.sessions.set(session.uuid, session);
    this.issued.push(session.uuid);
    return json(200, {
      inventory: {
        uuid: session.uuid, accountUuid: this.accountUuid, userUuid: this.accountUuid,
        expiredDate: zsDate(session.expiresAt), createDate: zsDate(now),
      },
    });
  }

  logout(uuid: string): void {
    this.sessions.delete(uuid);
  }

  valid(uuid: string): boolean {
    const s = this.sessions.get(uuid);
    return s !== undefined && s.expiresAt > Date.now();
  }

  /** The REST layer's header check: 400 text when missing or not OAuth. */
  header(value: string | undefined): AuthCheck {
    if (value === undefined || value.trim() === '') return { ok: false, reply: text(400, "missing header 'Authorization'") };
    const v = value.trim();
    if (!v.startsWith('OAuth')) return { ok: false, reply: text(400, "Authorization type must be 'OAuth'") };
    return { ok: true, session: v.slice('OAuth'.length).trim() };
  }

  /** The interceptor's check: renews (sliding) on success; counts calls for the expire-after fault. */
  use(uuid: string): boolean {
    const s = this.sessions.get(uuid);
    const now = Date.now();
    if (!s || s.expiresAt <= now) {
      if (s) this.sessions.delete(uuid);
      return false;
    }
    s.expiresAt = now + this.timeoutMs;
    s.calls++;
    if (this.expireAfterCalls !== undefined && s.calls >= this.expireAfterCalls) s.expiresAt = 0;
    return true;
  }

  clear(): void {
    this.sessions.clear();
  }
}
