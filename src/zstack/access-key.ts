// AccessKey authentication (zstack-api.md 1.4, 10.3): every request signed, no session. The MN
// refuses with plain-text 400/403 bodies; those become GTR_ZSTACK_ACCESS_KEY_REFUSED with a message
// that says what to fix. The secret is only ever an HMAC key: never in a header, log or error.
import { createHmac } from 'node:crypto';
import { GtrError } from '../errors.js';
import type { Reply } from './http.js';
import type { Authenticator } from './session.js';
import type { ApiName } from './types.js';

export interface AccessKeyCredentials {
  id: string;
  secret: string;
}

/** The path an MN signs: after the `/zstack` context, without the query string. */
function signedPath(path: string): string {
  const q = path.indexOf('?');
  const bare = q < 0 ? path : path.slice(0, q);
  return bare.startsWith('/zstack/') ? bare.slice('/zstack'.length) : bare;
}

export class AccessKeySigner implements Authenticator {
  constructor(
    private readonly key: AccessKeyCredentials,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The "token" is the key id: there is no session to open, renew or close. */
  current(): Promise<string> {
    return Promise.resolve(this.key.id);
  }

  renew(): Promise<string> {
    return Promise.resolve(this.key.id);
  }

  headers(_token: string, method: string, path: string): Record<string, string> {
    // RFC 1123 in GMT: the MN parses the zone it is given, and `CST` would read as US Central.
    const date = new Date(this.clock()).toUTCString();
    const signature = createHmac('sha1', this.key.secret).update(`${method}\n${date}\n${signedPath(path)}`, 'utf8').digest('base64');
    return { authorization: `ZStack ${this.key.id}:${signature}`, date };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The MN's refusal of a signed request, as an error that says what is wrong; null for any other reply. */
  refusal(api: ApiName, reply: Reply, endpoint: string): GtrError | null {
    if ((reply.status !== 400 && reply.status !== 403) || reply.body.kind !== 'text') return null;
    const text = reply.body.text.trim();
    const id = this.key.id;
    const refused = (reason: string, message: string, extra: Record<string, unknown> = {}) =>
      new GtrError('GTR_ZSTACK_ACCESS_KEY_REFUSED', `${api}: AccessKey ${id} refused by the management node at ${endpoint}: ${message}`, {
        details: { api, status: reply.status, reason, accessKeyId: id, endpoint, ...extra },
      });
    if (reply.status === 403 && text.includes('does not existed or disabled')) {
      return refused('unknown-or-disabled', 'the key does not exist or is disabled (check zstack.accessKeyId, and that the key is Enabled in the UI\'s AccessKey Management)');
    }
    if (reply.status === 403 && text.includes('wrong accessKey signature')) {
      return refused('wrong-signature', 'wrong signature: zstack.accessKeySecret is not this key\'s secret');
    }
    if (reply.status === 403 && text.includes('requestTimeTooSkewed')) {
      const local = new Date(this.clock()).toISOString();
      const mn = reply.date ?? '(no Date header)';
      const mnMs = reply.date ? Date.parse(reply.date) : Number.NaN;
      const off = Number.isNaN(mnMs) ? '' : `, ${describeOffset(mnMs - this.clock())}`;
      return refused(
        'clock-skew',
        `this host's clock and the management node's differ by more than 15 minutes (local time ${local}, management node Date ${mn}${off}); set both clocks right (NTP)`,
        { localTime: local, mnDate: reply.date ?? null },
      );
    }
    if (reply.status === 400 && text.includes('RestAuthenticationBackend')) {
      return refused('module-absent', 'this management node has no AccessKey module (it needs an enterprise licence); use zstack.password instead');
    }
    if (reply.status === 400 && /authKey format|accessKey format|header 'Date'/i.test(text)) {
      return refused('malformed', `the request was refused as malformed (${JSON.stringify(text.slice(0, 120))})`);
    }
    return null;
  }
}

function describeOffset(ms: number): string {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  return `the management node is ${minutes} min ${ms >= 0 ? 'ahead' : 'behind'}`;
}
