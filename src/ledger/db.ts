// Opening the SQLite file with the ledger's pragmas, turning every failure into GTR_LEDGER_UNUSABLE
// with the path and what to do, and caching prepared statements so each SQL text is prepared once.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GtrError, messageOf } from '../errors.js';
import { mustActAsOwner, switchUser } from './owner.js';

export type Db = Database.Database;
type Stmt<P extends unknown[], R> = Database.Statement<P, R>;

export const BUSY_TIMEOUT_MS = 5000;

interface OpenDbOptions {
  readonly: boolean;
}

/**
 * Opens (creating when writable) the database file. A missing folder is created (0750) unless read-only;
 * run as root, the process first becomes the folder's owner when that is another user (see owner.ts).
 */
export function openDatabase(file: string, opts: OpenDbOptions): Db {
  const folder = path.dirname(file);
  // Read-only opens (gtr status, doctor) never create anything, not even the folder.
  if (opts.readonly && !fs.existsSync(file)) {
    throw unusable(file, 'the file does not exist yet (nothing has run with this database)', 'run `gtr plan`, `gtr reconcile` or `gtr migrate` once to create it, or check "database" / GTR_DATABASE', undefined);
  }
  let folderStat: fs.Stats;
  try {
    if (!opts.readonly) fs.mkdirSync(folder, { recursive: true, mode: 0o750 });
    folderStat = fs.statSync(folder);
  } catch (cause) {
    throw unusable(file, `its folder ${folder} cannot be created or read`,
      `create it (mkdir -p ${folder}) with write access for this user, or point "database" / GTR_DATABASE elsewhere`, cause);
  }
  if (!folderStat.isDirectory()) {
    throw unusable(file, `${folder} is not a folder`, 'point "database" / GTR_DATABASE to a file inside a folder', undefined);
  }
  if (mustActAsOwner(folderStat.uid)) {
    try {
      switchUser(folderStat.uid, folderStat.gid);
    } catch (cause) {
      throw unusable(file, `running as root, and switching to the folder's owner (uid ${folderStat.uid}) failed (${messageOf(cause)}); ` +
        'root would leave files there that the service cannot write', 'run gtr as that user instead: sudo -u gtr gtr ...', cause);
    }
  }
  let db: Db | null = null;
  try {
    db = new Database(file, { readonly: opts.readonly, fileMustExist: opts.readonly });
    // busy_timeout first, so that switching to WAL waits for another process instead of failing.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!opts.readonly) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // Reads the header: a file that is not a database fails here rather than at the first query.
    db.pragma('schema_version', { simple: true });
    return db;
  } catch (cause) {
    db?.close();
    throw describeOpenError(file, cause);
  }
}

/** Maps a SQLite (or file system) error met while opening or migrating to a GtrError. */
export function describeOpenError(file: string, cause: unknown): GtrError {
  if (cause instanceof GtrError) return cause;
  const code = errorCode(cause);
  const text = messageOf(cause);
  switch (code) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return unusable(file, `it is not a SQLite database or is damaged (${text})`,
        'move the file aside (keep it for inspection) so a new one is created, or point "database" / GTR_DATABASE elsewhere', cause);
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return unusable(file, `it stayed locked by another process for over ${BUSY_TIMEOUT_MS} ms (${text})`,
        'check for a stuck gtr process or a sqlite3 shell holding a transaction open, then retry', cause);
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return unusable(file, `it cannot be opened or written (${text})`,
        'make the file, its folder and its -wal/-shm files writable by this user', cause);
    case 'SQLITE_FULL':
    case 'SQLITE_IOERR':
      return unusable(file, `the disk refused a read or write (${text})`, 'check free space and the file system', cause);
    default:
      return unusable(file, text, 'check the path, its permissions and free space', cause);
  }
}

const STORAGE_FAILURES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN',
  'SQLITE_READONLY', 'SQLITE_PERM', 'SQLITE_FULL', 'SQLITE_IOERR']);

/** A failure of the file or disk (as opposed to a bug such as a constraint violation) becomes GTR_LEDGER_UNUSABLE. */
export function storageError(file: string, cause: unknown): unknown {
  const code = errorCode(cause);
  return code !== null && STORAGE_FAILURES.has(code) ? describeOpenError(file, cause) : cause;
}

function unusable(file: string, what: string, todo: string, cause: unknown): GtrError {
  return new GtrError('GTR_LEDGER_UNUSABLE', `cannot use the database ${file}: ${what}; ${todo}`, {
    cause,
    details: { path: file },
  });
}

function errorCode(e: unknown): string | null {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') {
    // Extended codes such as SQLITE_IOERR_WRITE or SQLITE_CANTOPEN_ISDIR fold into their base code.
    const base = /^SQLITE_[A-Z]+/.exec(e.code);
    return base ? base[0] : e.code;
  }
  return null;
}

/** Prepares each SQL text once per connection; statements are prepared on first use. */
export class Statements {
  private readonly cache = new Map<string, Database.Statement>();
  constructor(readonly db: Db) {}

  get<P extends unknown[] = unknown[], R = unknown>(sql: string): Stmt<P, R> {
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.cache.set(sql, stmt);
    }
    return stmt as unknown as Stmt<P, R>;
  }
}
