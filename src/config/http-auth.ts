// The status server's credentials (http.auth.tokenFile, http.auth.basicFile): read and checked here,
// for config validation and for the daemon. Problems name the key, the path and the line, never the
// content: the token and the hashes are secrets.
import { readSecretFile } from './secrets.js';

type Report = (key: string, value: unknown, expected: string) => void;

export interface HttpCredentials {
  /** The bearer token, or null when only basic auth is configured. */
  token: string | null;
  /** user -> password hash (bcrypt `$2a$/$2b$/$2y$`, or `{SHA}` base64 SHA-1 as `htpasswd -s` writes). */
  users: ReadonlyMap<string, string>;
}

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;

/** 127.0.0.0/8, ::1 and localhost: the only listen hosts that need no credentials. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

function hostOf(listen: string): string {
  return listen.slice(0, listen.lastIndexOf(':'));
}

function parseUsers(file: string, text: string, report: Report): Map<string, string> | null {
  const users = new Map<string, string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = colon > 0 ? line.slice(0, colon) : '';
    const hash = line.slice(colon + 1);
    if (user === '') problems.push(`line ${i + 1}: expected user:hash`);
    else if (!BCRYPT.test(hash) && !SHA1.test(hash)) problems.push(`line ${i + 1} (user ${JSON.stringify(user)}): unsupported hash`);
    else if (users.has(user)) problems.push(`line ${i + 1}: user ${JSON.stringify(user)} appears twice`);
    else users.set(user, hash);
  });
  if (problems.length === 0 && users.size === 0) problems.push('no users');
  if (problems.length === 0) return users;
  report('http.auth.basicFile', file, `an htpasswd file of user:hash lines with bcrypt hashes (htpasswd -B) or {SHA} hashes (${problems.join('; ')})`);
  return null;
}

/** A bearer token file (http.auth.tokenFile, ha.tokenFile): one token of 16+ printable characters; null after reporting a problem. */
export function readTokenFile(key: string, file: string, report: Report, warnings: string[]): string | null {
  const text = readSecretFile(key, file, 'the bearer token', report, warnings);
  const token = text === null ? null : text.replace(/[\r\n]+$/, '');
  if (token !== null && !/^[\x21-\x7e]{16,}$/.test(token)) {
    report(key, file, 'a file holding one token of at least 16 printable characters without spaces');
    return null;
  }
  return token;
}

/**
 * The credentials the status server requires (null: none configured). Reports a missing one when
 * `listen` is not a loopback address, and unreadable or malformed files.
 */
export function readHttpCredentials(
  http: { listen: string; auth: { tokenFile: string | null; basicFile: string | null } },
  report: Report,
  warnings: string[],
): HttpCredentials | null {
  const { tokenFile, basicFile } = http.auth;
  if (tokenFile === null && basicFile === null) {
    if (!isLoopbackHost(hostOf(http.listen))) {
      report('http.listen', http.listen, 'a loopback address (127.0.0.1, ::1, localhost), or set http.auth.tokenFile or http.auth.basicFile to require credentials');
    }
    return null;
  }
  const token = tokenFile === null ? null : readTokenFile('http.auth.tokenFile', tokenFile, report, warnings);
  let users: Map<string, string> | null = new Map();
  if (basicFile !== null) {
    const text = readSecretFile('http.auth.basicFile', basicFile, 'user:hash lines', report, warnings);
    users = text === null ? null : parseUsers(basicFile, text, report);
  }
  return { token, users: users ?? new Map() };
}
