// The single lease shared by daemon ticks, `reconcile` and rollout steps (DESIGN.md section 7).
// acquire() must run inside a BEGIN IMMEDIATE transaction (the Ledger does it): the write lock is taken
// before the row is read, so two processes can never both see the lease free.
import type { Statements } from './db.js';
import type { IsAlive, LeaseHolder } from './types.js';

interface LeaseRow {
  holder: string;
  host: string;
  pid: number;
  purpose: string;
  acquired_at: number;
  expires_at: number;
}

export interface AcquireRequest {
  holder: string;
  purpose: string;
  ttlMs: number;
  now: number;
  host: string;
  pid: number;
  isAlive: IsAlive;
}

export type AcquireResult = { ok: true } | { ok: false; holder: LeaseHolder };

export class Lease {
  constructor(private readonly sql: Statements) {}

  acquire(r: AcquireRequest): AcquireResult {
    const current = this.row();
    const free = !current
      || current.holder === r.holder // re-entrant: the same holder renews
      || current.expires_at <= r.now
      || (current.host === r.host && !r.isAlive(current.pid, current.host));
    if (!free) return { ok: false, holder: toHolder(current) };
    this.sql
      .get<[string, string, number, string, number, number]>(
        `INSERT INTO lease (id, holder, host, pid, purpose, acquired_at, expires_at) VALUES (1, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid,
           purpose = excluded.purpose, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
      )
      .run(r.holder, r.host, r.pid, r.purpose, r.now, r.now + r.ttlMs);
    return { ok: true };
  }

  /** Extends the lease if `holder` still has it (even past expiry, as long as nobody took it over). */
  renew(holder: string, ttlMs: number, now: number): boolean {
    return this.sql.get<[number, string]>('UPDATE lease SET expires_at = ? WHERE id = 1 AND holder = ?')
      .run(now + ttlMs, holder).changes === 1;
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
      .get<[], LeaseRow>('SELECT holder, host, pid, purpose, acquired_at, expires_at FROM lease WHERE id = 1')
      .get();
  }
}

function toHolder(row: LeaseRow): LeaseHolder {
  return {
    holder: row.holder,
    host: row.host,
    pid: row.pid,
    acquiredAt: row.acquired_at,
    expiresAt: row.expires_at,
    purpose: row.purpose,
  };
}
