// SQL migrations `NNNN_name.sql`, applied in order, each in its own IMMEDIATE transaction and recorded
// with a sha256 checksum. Drift (an applied migration missing, edited or reordered, or a database newer
// than the code) is refused: running on a schema the code does not know corrupts history silently.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GtrError, messageOf } from '../errors.js';
import type { Db } from './db.js';

/** Both src/ledger/migrate.ts (tsx) and dist/ledger/migrate.js sit two levels below the package root. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

const FILE_NAME = /^(\d{4})_([a-z0-9][a-z0-9_-]*)\.sql$/;

export interface MigrationFile {
  id: number;
  /** File name without `.sql`, e.g. `0001_init`. */
  name: string;
  sql: string;
  checksum: string;
}

interface AppliedRow {
  id: number;
  name: string;
  checksum: string;
}

/** Reads and orders the migration files; a `.sql` file with a bad name or a duplicate number is refused. */
export function readMigrations(dir: string): MigrationFile[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (cause) {
    throw new GtrError('GTR_LEDGER_UNUSABLE', `cannot read the migrations folder ${dir}; reinstall the package or pass the right folder`, {
      cause,
      details: { migrationsDir: dir },
    });
  }
  const files: MigrationFile[] = [];
  for (const entry of entries) {
    if (!entry.endsWith('.sql')) continue;
    const match = FILE_NAME.exec(entry);
    if (!match) {
      throw drift(`migration file ${path.join(dir, entry)} is not named NNNN_name.sql (four digits, lower-case name); rename it`);
    }
    // Normalised line endings: a CRLF checkout must not look like an edit.
    const sql = fs.readFileSync(path.join(dir, entry), 'utf8').replace(/\r\n/g, '\n');
    files.push({ id: Number(match[1]), name: entry.slice(0, -4), sql, checksum: sha256(sql) });
  }
  files.sort((a, b) => a.id - b.id);
  for (let i = 1; i < files.length; i++) {
    if (files[i].id === files[i - 1].id) {
      throw drift(`migrations ${files[i - 1].name} and ${files[i].name} in ${dir} share the number ${files[i].id}; renumber the newer one`);
    }
  }
  return files;
}

/** Names of migrations not yet applied; throws GTR_MIGRATION_DRIFT when history and files disagree. */
export function pendingMigrations(db: Db, dir: string, label: string): string[] {
  const files = readMigrations(dir);
  const applied = readApplied(db);
  checkDrift(applied, files, dir, label);
  return files.slice(applied.length).map((f) => f.name);
}

/** Applies pending migrations in order; returns the names applied by this call. */
export function migrate(db: Db, dir: string, label: string): string[] {
  const files = readMigrations(dir);
  const done: string[] = [];
  // IMMEDIATE: two processes starting at once serialise here, and the second re-reads the history
  // inside its transaction, so it never applies the same migration twice.
  const step = db.transaction((): string | null => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    const applied = readApplied(db);
    checkDrift(applied, files, dir, label);
    const next = files[applied.length];
    if (!next) return null;
    try {
      db.exec(next.sql);
    } catch (cause) {
      throw new GtrError('GTR_LEDGER_UNUSABLE', `migration ${next.name} (${dir}) failed on database ${label}, which is left ` +
        `as it was before it: ${messageOf(cause)}`, { cause, details: { path: label } });
    }
    db.prepare('INSERT INTO schema_migrations (id, name, checksum, applied_at) VALUES (?, ?, ?, ?)')
      .run(next.id, next.name, next.checksum, new Date().toISOString());
    return next.name;
  });
  for (;;) {
    const name = step.immediate();
    if (name === null) return done;
    done.push(name);
  }
}

function readApplied(db: Db): AppliedRow[] {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!exists) return [];
  return db.prepare<[], AppliedRow>('SELECT id, name, checksum FROM schema_migrations ORDER BY id').all();
}

function checkDrift(applied: AppliedRow[], files: MigrationFile[], dir: string, label: string): void {
  const byName = new Map(files.map((f) => [f.name, f]));
  const lastId = files.length ? files[files.length - 1].id : 0;
  for (const row of applied) {
    const file = byName.get(row.name);
    if (!file && row.id > lastId) {
      throw drift(`database ${label} has migration ${row.name} applied, which this version of the program does not have ` +
        `(its newest is ${files.length ? files[files.length - 1].name : 'none'} in ${dir}): the database is newer than the code; ` +
        'run the newer program, or restore a backup taken with this version');
    }
    if (!file) {
      throw drift(`migration ${row.name} is applied to database ${label} but its file ${row.name}.sql is missing from ${dir}; ` +
        'restore the file (or reinstall the package); never delete or rename applied migrations');
    }
    if (file.checksum !== row.checksum) {
      throw drift(`migration ${row.name} in ${dir} was edited after it was applied to database ${label} ` +
        `(recorded sha256 ${row.checksum.slice(0, 12)}..., file ${file.checksum.slice(0, 12)}...); ` +
        'restore the original file and put schema changes in a new migration');
    }
  }
  applied.forEach((row, i) => {
    if (files[i].name !== row.name) {
      throw drift(`migration ${files[i].name} in ${dir} sorts before ${row.name}, which database ${label} already applied; ` +
        `applied migrations must stay a prefix of the folder's list: renumber ${files[i].name} after ${applied[applied.length - 1].name}`);
    }
  });
}

function drift(message: string): GtrError {
  return new GtrError('GTR_MIGRATION_DRIFT', message);
}

function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}
