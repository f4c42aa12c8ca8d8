// Reading the secret and certificate files the config names, the status server's credentials
// (http.auth.tokenFile, http.auth.basicFile) among them. Problems name the key, the path and the line,
// never the content: passwords, tokens and hashes are secrets.
import fs from 'node:fs';
import type { Reporter } from './schema.js';

const errno = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? 'error';

/** A secret file's text; null after reporting it unreadable. A file readable by group or others draws a warning. */
function readSecretFile(key: string, file: string, what: string, report: Reporter, warnings: string[]): string | null {
  try {
    const mode = fs.statSync(file).mode;
    const text = fs.readFileSync(file, 'utf8');
    if ((mode & 0o077) !== 0) warnings.push(groupReadableWarning(key, file, mode, what));
    return text;
  } catch (error) {
    report(key, file, `a readable file holding ${what} (${errno(error)})`);
    return null;
  }
}

/** A one-line secret (password, AccessKey secret, signing secret, token) without trailing newlines that passes `ok`; null after reporting a problem. */
export function readSecretLine(key: string, file: string, what: string, report: Reporter, warnings: string[],
  expected = `a file holding ${what} (this one is empty)`, ok = (secret: string) => secret !== ''): string | null {
  const secret = readSecretFile(key, file, what, report, warnings)?.replace(/[\r\n]+$/, '') ?? null;
  if (secret === null || ok(secret)) return secret;
  report(key, file, expected);
  return null;
}

export function groupReadableWarning(where: string, file: string, mode: number, what = 'a password'): string {
  const octal = (mode & 0o777).toString(8).padStart(3, '0');
  return `${where} ${file} holds ${what} and is readable by group or others (mode ${octal}); run: chmod 600 ${file}`;
}

export function checkReadableFile(key: string, file: string, expected: string, report: Reporter): void {
  try {
    if (!fs.statSync(file).isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOTFILE' });
    fs.accessSync(file, fs.constants.R_OK);
  } catch (error) {
    report(key, file, `${expected} (${errno(error)})`);
  }
}

/** A bearer token file (http.auth.tokenFile, ha.tokenFile): one token of 16+ printable characters; null after reporting a problem. */
export const readTokenFile = (key: string, file: string, report: Reporter, warnings: string[]): string | null =>
  readSecretLine(key, file, 'the bearer token', report, warnings, 'a file holding one token of at least 16 printable characters without spaces', (token) => /^[\x21-\x7e]{16,}$/.test(token));

export interface HttpCredentials {
  /** The bearer token, or null when only basic auth is configured. */
  token: string | null;
  /** user -> password hash (bcrypt `$2a$/$2b$/$2y$`, or `{SHA}` base64 SHA-1 as `htpasswd -s` writes). */
  users: ReadonlyMap<string, string>;
}

const HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$|^\{SHA\}[A-Za-z0-9+/]{27}=$/;

function parseUsers(file: string, text: string, report: Reporter): Map<string, string> {
  const users = new Map<string, string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = colon > 0 ? line.slice(0, colon) : '';
    if (user === '') problems.push(`line ${i + 1}: expected user:hash`);
    else if (!HASH.test(line.slice(colon + 1))) problems.push(`line ${i + 1} (user ${JSON.stringify(user)}): unsupported hash`);
    else if (users.has(user)) problems.push(`line ${i + 1}: user ${JSON.stringify(user)} appears twice`);
    else users.set(user, line.slice(colon + 1));
  });
  if (problems.length === 0 && users.size === 0) problems.push('no users');
  if (problems.length === 0) return users;
  report('http.auth.basicFile', file, `an htpasswd file of user:hash lines with bcrypt hashes (htpasswd -B) or {SHA} hashes (${problems.join('; ')})`);
  return new Map();
}

/**
 * The credentials the status server requires (null: none configured). Reports a missing one when
 * `listen` is not a loopback address (127.0.0.0/8, ::1, localhost), and unreadable or malformed files.
 */
export function readHttpCredentials(http: { listen: string; auth: { tokenFile: string | null; basicFile: string | null } }, report: Reporter, warnings: string[]): HttpCredentials | null {
  const { tokenFile, basicFile } = http.auth;
  if (tokenFile === null && basicFile === null) {
    const host = http.listen.slice(0, http.listen.lastIndexOf(':')).replace(/^\[|\]$/g, '').toLowerCase();
    if (host !== 'localhost' && host !== '::1' && !/^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
      report('http.listen', http.listen, 'a loopback address (127.0.0.1, ::1, localhost), or set http.auth.tokenFile or http.auth.basicFile to require credentials');
    }
    return null;
  }
  const token = tokenFile === null ? null : readTokenFile('http.auth.tokenFile', tokenFile, report, warnings);
  const text = basicFile === null ? null : readSecretFile('http.auth.basicFile', basicFile, 'user:hash lines', report, warnings);
  return { token, users: text === null ? new Map() : parseUsers(basicFile!, text, report) };
}
