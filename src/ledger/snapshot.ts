// Whole-ledger copies between the two management nodes (ha.*, docs/design.md 7): the leader takes
// a consistent snapshot with SQLite's online backup API; the standby checks a downloaded one and puts
// it in place of its own ledger. Putting it in place is itself a backup (snapshot -> live database),
// which SQLite applies as one write transaction on the live file: other connections (a `gtr status`
// reading, the daemon's own) see the old ledger or the new one, never a mix, and a failure at any
// step leaves the old ledger as it was. No file is renamed under an open connection (WAL files are
// named after the database path, so a rename could pair a database with another's log).
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { GtrError, messageOf } from '../errors.js';
import type { Db } from './db.js';
import { readMigrations } from './migrate.js';

/** Pages copied per backup step: large steps finish a snapshot in few event-loop turns. */
const PAGES_PER_STEP = 4096;

/** Writes a consistent copy of `db` to `file` (which must not exist). */
export async function backupDatabase(db: Db, file: string): Promise<void> {
  await db.backup(file, { progress: () => PAGES_PER_STEP });
}

export interface SnapshotFacts {
  /** Applied migrations in order, e.g. ['0001_init', ..., '0008_run_warnings']. */
  migrations: string[];
}

/**
 * Refuses a file that is not an intact ledger of exactly this program's schema: not SQLite, damaged
 * (`PRAGMA quick_check`), or another migration history (a peer running another version).
 */
export function verifySnapshot(file: string, migrationsDir: string, peer: string): SnapshotFacts {
  const ours = readMigrations(migrationsDir);
  let db: Db | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw refused(peer, `it is damaged (quick_check: ${String(check).slice(0, 200)})`);
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    const applied = hasTable ? db.prepare<[], { name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations ORDER BY id').all() : [];
    const same = applied.length === ours.length && applied.every((row, i) => row.name === ours[i].name && row.checksum === ours[i].checksum);
    if (!same) {
      throw refused(peer, `its schema is ${schemaName(applied.map((r) => r.name))} and ours is ${schemaName(ours.map((m) => m.name))} ` +
        '(the two nodes run different versions of gtr, or a migration file differs): upgrade both nodes to the same version');
    }
    return { migrations: applied.map((r) => r.name) };
  } catch (error) {
    if (error instanceof GtrError) throw error;
    throw refused(peer, `it is not a readable SQLite database (${messageOf(error)})`);
  } finally {
    db?.close();
  }
}

/** The newest applied migration, the schema's name in logs and headers. */
export function schemaName(migrations: readonly string[]): string {
  return migrations.length === 0 ? 'empty (no migrations)' : `${migrations[migrations.length - 1]} (${migrations.length} migrations)`;
}

/** Every column of the lease (migrations 0001 and 0009), named: a new column must be added here too. */
const LEASE_COLUMNS = 'id, holder, host, pid, boot_id, start_time, purpose, acquired_at, expires_at';
const LEASE_VALUES = '@id, @holder, @host, @pid, @boot_id, @start_time, @purpose, @acquired_at, @expires_at';

/**
 * Replaces the ledger at `livePath` with the verified snapshot `file`, in one transaction. The lease is
 * this node's own (it coordinates this node's processes), so the live lease row is carried over into
 * the snapshot first: the peer's lease means nothing here.
 */
export async function installSnapshot(live: Db, livePath: string, file: string): Promise<void> {
  const snapshot = new Database(file, { fileMustExist: true });
  try {
    // Every column (the holder's boot id and start time too: they tell a live holder from a dead one).
    // Both files have the same schema (verifySnapshot checked the migrations).
    const lease = live.prepare(`SELECT ${LEASE_COLUMNS} FROM lease`).all() as Record<string, unknown>[];
    snapshot.transaction(() => {
      snapshot.exec('DELETE FROM lease');
      for (const row of lease) snapshot.prepare(`INSERT INTO lease (${LEASE_COLUMNS}) VALUES (${LEASE_VALUES})`).run(row);
    })();
    // The first step opens the write transaction on the live file; the second copies every page and commits.
    await snapshot.backup(livePath, { progress: () => 0x7fffffff });
  } finally {
    snapshot.close();
  }
}

/** Deletes a snapshot file and the -wal/-shm files SQLite may have made next to it. */
export function removeSnapshotFile(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
}

function refused(peer: string, why: string): GtrError {
  return new GtrError('GTR_HA_SNAPSHOT_REFUSED', `the ledger snapshot from ${peer} was not used, ours is kept: ${why}`, { details: { peer } });
}
