// Checks a status-server request against http.auth.*: `Authorization: Bearer TOKEN` or
// `Authorization: Basic ...` of an htpasswd user. Comparisons are constant-time; bcrypt runs off the
// event loop's hot path (async) and a verified credential is remembered for this server's lifetime,
// so a browser's repeated requests cost one hash.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import bcrypt from 'bcryptjs';
import type { HttpCredentials } from '../config/secrets.js';

export interface Authenticator {
  allows(req: IncomingMessage): Promise<boolean>;
  /** The WWW-Authenticate header of a 401: Basic lets a browser ask for a password. */
  challenge: string;
  /** The error text of a 401 (default: names http.auth.*). */
  refusal?: string;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
const sameText = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** A constant-time check of a presented token against `token` (the status page's, or the peers' ha token). */
export function tokenMatcher(token: string): (presented: string) => boolean {
  const expected = digest(token);
  return (presented) => timingSafeEqual(digest(presented), expected);
}

export function createAuthenticator(credentials: HttpCredentials): Authenticator {
  const tokenAllows = credentials.token === null ? null : tokenMatcher(credentials.token);
  // Digests of user:password pairs already verified (never the pairs themselves).
  const verified = new Set<string>();

  async function basicAllows(encoded: string): Promise<boolean> {
    const pair = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = pair.indexOf(':');
    if (colon < 1) return false;
    const key = digest(pair).toString('hex');
    if (verified.has(key)) return true;
    const hash = credentials.users.get(pair.slice(0, colon));
    if (hash === undefined) return false;
    const password = pair.slice(colon + 1);
    const ok = hash.startsWith('{SHA}')
      ? sameText(`{SHA}${createHash('sha1').update(password).digest('base64')}`, hash)
      : await bcrypt.compare(password, hash);
    if (ok) verified.add(key);
    return ok;
  }

  return {
    challenge: credentials.users.size > 0 ? 'Basic realm="guesttools-reconciler", charset="UTF-8"' : 'Bearer realm="guesttools-reconciler"',
    async allows(req) {
      const header = req.headers.authorization ?? '';
      const space = header.indexOf(' ');
      const scheme = header.slice(0, space).toLowerCase();
      const value = header.slice(space + 1).trim();
      if (scheme === 'bearer' && tokenAllows !== null) return tokenAllows(value);
      if (scheme === 'basic' && credentials.users.size > 0) return basicAllows(value);
      return false;
    },
  };
}
