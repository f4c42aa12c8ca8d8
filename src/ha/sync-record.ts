// How current this node's ledger is, kept next to the database in `<database>.ha-sync.json`. Not in a
// table: the sync replaces the whole database with the peer's, which would overwrite the record of
// that very sync (and carry the peer's record over instead). Written atomically (temp file + rename).
import fs from 'node:fs';
import path from 'node:path';

export interface SyncRecord {
  /** The time of the last snapshot installed from the peer (the peer's clock), epoch ms; null: never. */
  syncedAt: number | null;
  /** The peer it came from and the role the peer said it had. */
  peer: string | null;
  peerRole: string | null;
  /** Until when this node was the leader and wrote its own ledger (refreshed while leading), epoch ms. */
  leaderUntil: number | null;
}

const EMPTY: SyncRecord = { syncedAt: null, peer: null, peerRole: null, leaderUntil: null };

function syncRecordPath(database: string): string {
  return `${database}.ha-sync.json`;
}

/** The record, or an empty one when there is none or it is unreadable (then the ledger counts as stale). */
export function readSyncRecord(database: string): SyncRecord {
  try {
    const parsed = JSON.parse(fs.readFileSync(syncRecordPath(database), 'utf8')) as Record<string, unknown>;
    const time = (v: unknown) => (typeof v === 'string' && Number.isFinite(Date.parse(v)) ? Date.parse(v) : null);
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    return { syncedAt: time(parsed.syncedAt), peer: text(parsed.peer), peerRole: text(parsed.peerRole), leaderUntil: time(parsed.leaderUntil) };
  } catch {
    return { ...EMPTY };
  }
}

export function writeSyncRecord(database: string, record: SyncRecord): void {
  const file = syncRecordPath(database);
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  const body = `${JSON.stringify({ syncedAt: iso(record.syncedAt), peer: record.peer, peerRole: record.peerRole, leaderUntil: iso(record.leaderUntil) }, null, 2)}\n`;
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(temp, 'w', 0o640);
  try {
    fs.writeSync(fd, body);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
}
