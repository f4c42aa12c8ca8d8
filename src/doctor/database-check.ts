// Checks "database" and "lease": the database folder is writable, the file passes SQLite's
// integrity_check and its migrations match the code; who holds (or last held) the run lease.
// Never writes, migrates or takes the lease.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Statements } from '../ledger/db.js';
import { Lease } from '../ledger/lease.js';
import { DEFAULT_MIGRATIONS_DIR, defaultIsAlive, pendingMigrations, type LeaseHolder } from '../ledger/index.js';
import { GtrError, messageOf } from '../errors.js';
import { fail, pass, skip, warn, type CheckResult } from './check.js';
import { withDatabaseView } from './database-view.js';

const MAX_INTEGRITY_LINES = 3;

export function checkDatabase(file: string, now: number): CheckResult[] {
  const folder = path.dirname(file);
  if (!fs.existsSync(folder)) return [missingFolder(folder), skip('lease', 'no database yet')];
  const problem = folderProblem(folder);
  if (problem) return [problem, skip('lease', 'no database')];
  if (!fs.existsSync(file)) {
    return [pass('database', `${file} does not exist yet; the first run creates it (folder ${folder} is writable)`), skip('lease', 'no database yet')];
  }
  try {
    fs.accessSync(file, fs.constants.R_OK | fs.constants.W_OK);
  } catch (error) {
    return [fail('database', `${file} cannot be read and written (${codeOf(error)})`, `make ${file} (and its -wal/-shm files) owned by the user gtr runs as`), skip('lease', 'database unreadable')];
  }
  try {
    return withDatabaseView(file, ({ db, how }) => {
      const problems = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
      const lines = problems.map((r) => r.integrity_check).filter((l) => l !== 'ok');
      if (lines.length > 0) return [damaged(file, lines.slice(0, MAX_INTEGRITY_LINES).join('; ')), skip('lease', 'database damaged')];
      const pending = pendingMigrations(db, DEFAULT_MIGRATIONS_DIR, file);
      const migrations = pending.length === 0 ? 'migrations up to date' : `${pending.length} migrations pending (the next run applies them)`;
      const hasLease = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lease'").get() !== undefined;
      const checked = pass('database', `${file}: integrity ok, ${migrations} (checked ${how})`);
      // The lease's columns are those of the newest schema: an older one is read after the next run migrates it.
      if (hasLease && pending.length > 0) return [checked, skip('lease', 'read after the pending migrations are applied')];
      const holder = hasLease ? new Lease(new Statements(db)).lastHolder() : null;
      return [checked, leaseCheck(holder, now)];
    });
  } catch (error) {
    if (error instanceof GtrError && error.code === 'GTR_MIGRATION_DRIFT') {
      return [fail('database', messageOf(error), 'run the gtr version that wrote this database, or move the file aside to start a new one'), skip('lease', 'database unusable')];
    }
    const code = codeOf(error);
    if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) return [damaged(file, messageOf(error)), skip('lease', 'database damaged')];
    return [fail('database', `${file}: ${messageOf(error)} (${code})`, 'check the path, its permissions and free space'), skip('lease', 'database unusable')];
  }
}

/** A missing folder is created (0750, with its parents) by the first run: fine when it can be. */
function missingFolder(folder: string): CheckResult {
  let existing = path.dirname(folder);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const mkdir = `mkdir -p -m 0750 ${folder}, owned by the user gtr runs as, or point "database" elsewhere`;
  try {
    if (!fs.statSync(existing).isDirectory()) return fail('database', `folder ${folder} cannot be created: ${existing} is not a folder`, mkdir);
    fs.accessSync(existing, fs.constants.W_OK | fs.constants.X_OK);
  } catch (error) {
    return fail('database', `folder ${folder} does not exist, and ${existing} cannot be written to create it (${codeOf(error)})`, mkdir);
  }
  return pass('database', `folder ${folder} does not exist yet; the first run creates it (0750) in ${existing}, which is writable`);
}

function folderProblem(folder: string): CheckResult | null {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(folder);
  } catch (error) {
    return fail('database', `folder ${folder} cannot be read (${codeOf(error)})`, `make ${folder} readable by the user gtr runs as, or point "database" elsewhere`);
  }
  if (!stat.isDirectory()) return fail('database', `${folder} is not a folder`, 'point "database" at a file inside a folder');
  try {
    fs.accessSync(folder, fs.constants.W_OK);
  } catch (error) {
    return fail('database', `folder ${folder} is not writable (${codeOf(error)})`, `make ${folder} writable by the user gtr runs as (SQLite writes its -wal and -shm files there)`);
  }
  return null;
}

function damaged(file: string, what: string): CheckResult {
  return fail('database', `${file} is not a SQLite database or is damaged: ${what}`,
    `stop the daemon, move ${file} aside (keep it for inspection) and restore a backup, or let the next run start a new one (history is lost)`);
}

function leaseCheck(holder: LeaseHolder | null, now: number): CheckResult {
  if (holder === null) return pass('lease', 'free');
  const who = `${holder.purpose} (pid ${holder.pid} on ${holder.host})`;
  if (holder.expiresAt > now) return pass('lease', `held by ${who} until ${new Date(holder.expiresAt).toISOString()}`);
  const expired = `last held by ${who}, expired at ${new Date(holder.expiresAt).toISOString()}`;
  if (holder.host === os.hostname() && defaultIsAlive(holder)) {
    return warn('lease', `${expired}, but that process still runs and stopped renewing it`,
      `look at process ${holder.pid} (stuck?): no run takes the lease over while it runs; stop it to free the lease`);
  }
  return pass('lease', `${expired}; the next run takes it over`);
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'error';
}
