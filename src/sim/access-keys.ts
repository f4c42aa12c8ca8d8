// AccessKey authentication as the MN's RestServer and its (closed) AccessKey backend do it
// (zstack-api.md 1.4, 10.3): `Authorization: ZStack <id>:<base64 HMAC-SHA1>` over
// METHOD\nDate\n/v1/path, the Date within 15 minutes of the MN's clock, REST-layer errors as plain text.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { text, type SimReply } from './wire.js';

export interface SimAccessKey {
  id: string;
  secret: string;
  /** Default 'Enabled'. A disabled key is refused like an unknown one. */
  state?: 'Enabled' | 'Disabled';
}

/** REQUEST_DURATION_MINUTES of RestConstants. */
const MAX_DATE_SKEW_MS = 15 * 60_000;

/** The string a client signs: method, the Date header as sent, and the path after `/zstack` without the query. */
function stringToSign(method: string, date: string, uri: string): string {
  return `${method}\n${date}\n${uri}`;
}

function signature(secret: string, method: string, date: string, uri: string): string {
  return createHmac('sha1', secret).update(stringToSign(method, date, uri), 'utf8').digest('base64');
}

type AccessKeyCheck = { ok: true } | { ok: false; reply: SimReply };

interface AccessKeyRequest {
  method: string;
  /** The raw path after the `/zstack` context, e.g. `/v1/vm-instances`. */
  uri: string;
  /** The part of the Authorization header after `ZStack `. */
  credential: string;
  date: string | undefined;
}

export class AccessKeys {
  private readonly keys = new Map<string, SimAccessKey>();
  /** false: the MN has no AccessKey module (no licence, or a build without it). */
  moduleInstalled: boolean;
  /** Added to the real clock: a management node whose clock is off. */
  clockSkewMs: number;
  /** Signatures received (the first 10,000), for tests that look for leaked secrets. */
  readonly signatures: string[] = [];

  constructor(keys: readonly SimAccessKey[], opts: { moduleInstalled?: boolean; clockSkewMs?: number } = {}) {
    for (const k of keys) this.keys.set(k.id, { ...k });
    this.moduleInstalled = opts.moduleInstalled ?? true;
    this.clockSkewMs = opts.clockSkewMs ?? 0;
  }

  /** The MN's own clock (also sent back in every reply's Date header). */
  now(): number {
    return Date.now() + this.clockSkewMs;
  }

  setState(id: string, state: 'Enabled' | 'Disabled'): void {
    const key = this.keys.get(id);
    if (key) key.state = state;
  }

  check(req: AccessKeyRequest): AccessKeyCheck {
    const colon = req.credential.indexOf(':');
    if (colon < 0) return refuse(400, 'Invalid authKey format');
    const id = req.credential.slice(0, colon).trim();
    const sent = req.credential.slice(colon + 1).trim();
    if (sent !== '' && this.signatures.length < 10_000) this.signatures.push(sent);
    if (id === '' || sent === '') return refuse(400, "accessKey format is 'ZStack AccessKeyId:Signature'");
    if (req.date === undefined || req.date.trim() === '') return refuse(400, "missing header 'Date'");
    const at = Date.parse(req.date);
    if (Number.isNaN(at)) return refuse(400, `invalid header 'Date' [${req.date}], it must be like 'EEE, dd MMM yyyy HH:mm:ss z'`);
    if (Math.abs(this.now() - at) > MAX_DATE_SKEW_MS) return refuse(403, 'requestTimeTooSkewed');
    if (!this.moduleInstalled) return refuse(400, 'unable to find RestAuthenticationBackend[provider type: ZStack]');
    const key = this.keys.get(id);
    if (!key || key.state === 'Disabled') return refuse(403, `access key id: ${id} does not existed or disabled`);
    const want = Buffer.from(signature(key.secret, req.method, req.date, req.uri));
    const got = Buffer.from(sent);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return refuse(403, 'wrong accessKey signature');
    return { ok: true };
  }
}

function refuse(status: number, message: string): AccessKeyCheck {
  return { ok: false, reply: text(status, message) };
}
