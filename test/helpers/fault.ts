// Shared by the fault suite, the crash soak and the security tests: a test fleet, the invariants of
// issue 7 checked against the simulator's record and the ledger, and the documented exit codes.
import Database from 'better-sqlite3';
import type { AttachStarted, SimVm } from '../../src/sim/index.js';
import type { CliResult } from './cli.js';
import { testFleet } from './fleet.js';

export { HEX } from './fleet.js';

/** Out-of-date VMs over `hosts` hosts; VMs whose number is a multiple of 3 run Windows. */
export function outdatedFleet(count: number, hosts: number, opts: { first?: number; version?: string } = {}): SimVm[] {
  const first = opts.first ?? 1;
  return testFleet(count, {
    hosts,
    first,
    patch: (i) => ({ platform: (first + i) % 3 === 0 ? 'Windows' : 'Linux', tags: [`GuestTools::${opts.version ?? '1.0.0'}`] }),
  });
}

/** The version an attach mounted (the MN's record), else the one it carried in its systemTags, or '?'. */
export function attachTarget(a: AttachStarted): string {
  if (a.isoVersion) return a.isoVersion;
  const tag = a.systemTags.find((t) => t.startsWith('GuestTools::'));
  return tag ? tag.slice('GuestTools::'.length) : '?';
}

/**
 * VM+target pairs attached more than once (all within one reattachAfter window in these tests). An
 * attach whose job the MN failed (failedWith) did not happen, so retrying it is no duplicate.
 */
export function duplicateAttaches(attaches: readonly AttachStarted[]): string[] {
  const seen = new Map<string, number>();
  for (const a of attaches) {
    if (a.failedWith) continue;
    const key = `${a.vmUuid}@${attachTarget(a)}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} x${n}`);
}

export interface LedgerFacts {
  runs: { id: number; status: string; dryRun: boolean }[];
  /** Every job uuid recorded for an attach decision. */
  jobUuids: Set<string>;
  /** Attach decisions still in doubt: 'pending', or 'interrupted' with no resolution yet. */
  pending: number;
  /** VMs with at least one attach that failed or is in doubt (it may have run: the VM waits for reattachAfter). */
  failedVms: Set<string>;
}

/** Read straight from the SQLite file, read-only, so a bug in the Ledger class cannot hide one. */
export function ledgerFacts(database: string): LedgerFacts {
  const db = new Database(database, { readonly: true, fileMustExist: true });
  try {
    const runs = db.prepare<[], { id: number; status: string; dry_run: number }>('SELECT id, status, dry_run FROM runs ORDER BY id').all();
    const jobs = db.prepare<[], { job_uuid: string }>('SELECT job_uuid FROM decisions WHERE job_uuid IS NOT NULL').all();
    const pending = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM decisions WHERE outcome = 'pending' OR (outcome = 'interrupted' AND finished_at IS NULL)").get()?.n ?? 0;
    const failed = db.prepare<[], { vm_uuid: string }>("SELECT DISTINCT vm_uuid FROM decisions WHERE outcome IN ('failed', 'in-doubt')").all();
    return {
      runs: runs.map((r) => ({ id: r.id, status: r.status, dryRun: r.dry_run === 1 })),
      jobUuids: new Set(jobs.map((j) => j.job_uuid)),
      pending,
      failedVms: new Set(failed.map((f) => f.vm_uuid)),
    };
  } finally {
    db.close();
  }
}

export const TERMINAL = new Set(['succeeded', 'partial', 'failed', 'halted', 'noop', 'dry-run', 'interrupted']);

export interface InvariantReport {
  duplicates: string[];
  nonTerminalRuns: number[];
  /** Attaches the simulator ran whose job uuid the ledger never recorded (a lost decision). */
  unrecorded: string[];
  pending: number;
}

/** The issue 7 invariants, after the last run has finished. */
export function checkInvariants(attaches: readonly AttachStarted[], database: string): InvariantReport {
  const facts = ledgerFacts(database);
  return {
    duplicates: duplicateAttaches(attaches),
    nonTerminalRuns: facts.runs.filter((r) => !TERMINAL.has(r.status)).map((r) => r.id),
    unrecorded: attaches.filter((a) => !facts.jobUuids.has(a.jobUuid)).map((a) => `${a.vmUuid}/${a.jobUuid}`),
    pending: facts.pending,
  };
}

const STATUS_EXIT: Record<string, number> = { succeeded: 0, noop: 0, 'dry-run': 0, interrupted: 0, partial: 1, failed: 1, halted: 4 };
/** A run that lost its lease (or leadership) mid-way exits 5 whatever its status (docs/reference/exit-codes.md). */
const LEASE_LOST_EXIT = 5;

/**
 * The exit code is one `reconcile` documents, stderr has no stack trace, and with --json the
 * printed status agrees with the code. Returns the report's status, or null when none was printed.
 */
export function checkExit(r: CliResult, allowed: readonly number[] = [0, 1, 3, 4]): string | null {
  if (r.code === null || !allowed.includes(r.code)) throw new Error(`exit code ${r.code} not in ${allowed.join(',')}; stderr:\n${r.stderr}`);
  if (/\n\s+at .+:\d+:\d+/.test(r.stderr)) throw new Error(`stack trace on stderr:\n${r.stderr}`);
  if (/^gtr [a-z]+: internal error/m.test(r.stderr)) throw new Error(`internal error:\n${r.stderr}`);
  if (r.stdout.trim().startsWith('{')) {
    const { status, counts } = JSON.parse(r.stdout) as { status: string; counts: Record<string, number> };
    const lost = (counts['defer/lease-lost'] ?? 0) + (counts['defer/not-leader'] ?? 0) > 0;
    const expected = lost ? LEASE_LOST_EXIT : STATUS_EXIT[status];
    if (expected !== r.code) throw new Error(`status ${status}${lost ? ' (lease lost)' : ''} printed with exit code ${r.code}`);
    return status;
  }
  if (r.code !== 3 && r.code !== 2 && r.code !== 5) throw new Error(`exit ${r.code} without a report; stderr:\n${r.stderr}`);
  return null;
}
