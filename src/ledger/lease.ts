// The single lease shared by daemon ticks, `reconcile` and rollout steps (docs/design.md 4).
// acquire() must run inside a BEGIN IMMEDIATE transaction (the Ledger does it): the write lock is taken
// before the row is read, so two processes can never both see the lease free.
//
// Fencing: the row names the holder and when it was acquired (its acquisition stamp). Every start of a
// change in ZStack checks, in its own write transaction, that the row still names the run's holder and
// stamp (holds()); a takeover rewrites the row, so the old holder's next start is refused at once,
// whatever its clock or its renew timer believe.
import type { Statements } from './db.js';
import { sameProcess, type IsAlive, type ProcessIdentity } from './process-alive.js';
import type { LeaseHolder } from './types.js';

interface LeaseRow {
  holder: string;
  host: string;
  pid: number;
  boot_id: string | null;
  start_time: string | null;
  purpose: string;
  acquired_at: number;
  expires_at: number;
}

interface AcquireRequest {
  holder: string;
  purpose: string;
  ttlMs: number;
  now: number;
  self: ProcessIdentity;
  isAlive: IsAlive;
}

/** `stamp`: the acquisition stamp the holder keeps and every start checks (with the holder). */
export type AcquireResult = { ok: true; stamp: number } | { ok: false; holder: LeaseHolder };

export class Lease {
  constructor(private readonly sql: Statements) {}

  /**
   * Free when nobody holds it, when the same holder asks again (it keeps its stamp), or when its holder
   * is provably gone on this host. An expired lease is taken over only when its holder is not provably
   * alive: a holder alive on this host keeps it, whatever the clocks say (a second process whose clock
   * is ahead sees every lease as expired).
   */
  acquire(r: AcquireRequest): AcquireResult {
    const current = this.row();
    if (current && current.holder === r.holder) {
      this.sql.get<[number, string]>('UPDATE lease SET expires_at = ? WHERE id = 1 AND holder = ?').run(r.now + r.ttlMs, r.holder);
      return { ok: true, stamp: current.acquired_at };
    }
    if (current && !this.takeable(current, r)) return { ok: false, holder: toHolder(current) };
    this.sql
      .get<[string, string, number, string | null, string | null, string, number, number]>(
        `INSERT INTO lease (id, holder, host, pid, boot_id, start_time, purpose, acquired_at, expires_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid,
           boot_id = excluded.boot_id, start_time = excluded.start_time,
           purpose = excluded.purpose, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
      )
      .run(r.holder, r.self.host, r.self.pid, r.self.bootId, r.self.startTime, r.purpose, r.now, r.now + r.ttlMs);
    return { ok: true, stamp: r.now };
  }

  private takeable(current: LeaseRow, r: AcquireRequest): boolean {
    const who = identityOf(current);
    const onThisHost = who.host === r.self.host;
    // This very process holds it under another holder id (a run that did not release): not a dead process.
    if (onThisHost && sameProcess(who, r.self)) return current.expires_at <= r.now;
    if (onThisHost) return !r.isAlive(who);
    // Another host's process cannot be seen: its lease ends at expiry.
    return current.expires_at <= r.now;
  }

  /** The fence: does the row still name `holder` with the stamp it acquired? One indexed read. */
  holds(holder: string, stamp: number): boolean {
    return this.sql.get<[string, number], { one: number }>('SELECT 1 AS one FROM lease WHERE id = 1 AND holder = ? AND acquired_at = ?')
      .get(holder, stamp) !== undefined;
  }

  /** Extends the lease if `holder` with `stamp` still has it (even past expiry, as long as nobody took it over). */
  renew(holder: string, ttlMs: number, now: number, stamp: number): boolean {
    return this.sql.get<[number, string, number]>('UPDATE lease SET expires_at = ? WHERE id = 1 AND holder = ? AND acquired_at = ?')
      .run(now + ttlMs, holder, stamp).changes === 1;
  }

  release(holder: string): void {
    this.sql.get<[string]>('DELETE FROM lease WHERE id = 1 AND holder = ?').run(holder);
  }

  /** The current holder, or null when the lease is free or expired. */
  holder(now: number): LeaseHolder | null {
    const row = this.row();
    return row && row.expires_at > now ? toHolder(row) : null;
  }

  /** The last holder recorded, expired or not (gtr doctor); null when nobody ever took it or it was released. */
  lastHolder(): LeaseHolder | null {
    const row = this.row();
    return row ? toHolder(row) : null;
  }

  private row(): LeaseRow | undefined {
    return this.sql
      .get<[], LeaseRow>('SELECT holder, host, pid, boot_id, start_time, purpose, acquired_at, expires_at FROM lease WHERE id = 1')
      .get();
  }
}

function identityOf(row: LeaseRow): ProcessIdentity {
  return { host: row.host, pid: row.pid, bootId: row.boot_id, startTime: row.start_time };
}

function toHolder(row: LeaseRow): LeaseHolder {
  return {
    holder: row.holder,
    host: row.host,
    pid: row.pid,
    acquiredAt: row.acquired_at,
    expiresAt: row.expires_at,
    purpose: row.purpose,
    bootId: row.boot_id,
    startTime: row.start_time,
  };
}
