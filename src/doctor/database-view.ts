// A read-only look at the ledger that changes nothing on disk. A database in use has its -wal and -shm
// files: it is opened read-only in place (reads see the live state under SQLite's own locking). Without
// them, opening in place would create them (root-owned when doctor runs as root, which would lock the
// service user out), so a private copy in a temp folder is opened instead; nobody has it open, so the
// copy is consistent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BUSY_TIMEOUT_MS, type Db } from '../ledger/db.js';

interface DatabaseView {
  db: Db;
  /** 'in place' or 'a copy'. */
  how: string;
}

export function withDatabaseView<T>(file: string, fn: (view: DatabaseView) => T): T {
  const live = fs.existsSync(`${file}-wal`) && fs.existsSync(`${file}-shm`);
  if (live) return withOpen(file, true, (db) => fn({ db, how: 'in place' }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-doctor-'));
  try {
    const copy = path.join(dir, 'copy.db');
    fs.copyFileSync(file, copy);
    // A -wal left by a process that died holds committed transactions: check it with the file.
    if (fs.existsSync(`${file}-wal`)) fs.copyFileSync(`${file}-wal`, `${copy}-wal`);
    return withOpen(copy, false, (db) => fn({ db, how: 'a copy' }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function withOpen<T>(file: string, readonly: boolean, fn: (db: Db) => T): T {
  const db = new Database(file, { readonly, fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return fn(db);
  } finally {
    db.close();
  }
}
