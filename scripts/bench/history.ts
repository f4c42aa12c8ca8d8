// A long simulated history through the Ledger API: the benchmark's real first run (its database is
// copied), then `runs` - 1 more half-hourly runs over the same fleet in steady state (the attached VMs
// are now up to date; a few VMs fall behind and are attached each run), each recorded the way the
// reconciler records it (rows only for attaches and changed decisions, full counts) with retention applied after every run.
import { copyFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { Ledger } from '../../src/ledger/index.js';
import type { DecisionRow } from '../../src/ledger/index.js';
import { countDecisions } from '../../src/plan/plan.js';
import { applyRetention, type RetentionPolicy } from '../../src/reconcile/retention.js';
import { decisionTrim } from '../../src/reconcile/stored-decisions.js';

export interface HistoryAction {
  vmUuid: string;
  vmName: string;
  current: string | null;
  target: string | null;
  action: 'attach' | 'skip' | 'defer';
  reason: string;
}

export interface HistoryOptions {
  /** The benchmark run's database: copied, never changed. */
  fromDatabase: string;
  file: string;
  firstRunAt: number;
  actions: readonly HistoryAction[];
  runs: number;
  retention: RetentionPolicy;
  /** VMs attached per simulated run after the first. */
  churn: number;
  intervalMs?: number;
}

export interface HistoryResult {
  runs: number;
  runsKept: number;
  decisionRows: number;
  /** Rows one row per VM per run would have stored. */
  untrimmedRows: number;
  databaseBytes: number;
  freeBytes: number;
  wallMs: number;
}

const QUARANTINE = { afterFailures: 3, baseMs: 3_600_000, maxMs: 7 * 86_400_000 };

export function simulateHistory(o: HistoryOptions): HistoryResult {
  const started = performance.now();
  for (const suffix of ['', '-wal']) {
    try {
      copyFileSync(`${o.fromDatabase}${suffix}`, `${o.file}${suffix}`);
    } catch {
      // no WAL file: the database was checkpointed at close
    }
  }
  const interval = o.intervalMs ?? 1_800_000;
  const steady: HistoryAction[] = o.actions.map((a) =>
    a.action === 'attach' ? { ...a, action: 'skip', reason: 'up-to-date', current: a.target } : a);
  const upToDate = steady.map((a, i) => (a.action === 'skip' && a.reason === 'up-to-date' ? i : -1)).filter((i) => i >= 0);
  const ledger = Ledger.open(o.file);
  let untrimmed = o.actions.length;
  try {
    let job = 0;
    for (let run = 1; run < o.runs; run++) {
      const now = o.firstRunAt + run * interval;
      const decisions = steady.slice();
      const attached: string[] = [];
      for (let k = 0; k < o.churn && upToDate.length > 0; k++) {
        const i = upToDate[(run * o.churn + k) % upToDate.length];
        decisions[i] = { ...steady[i], action: 'attach', reason: 'outdated', current: '1.1.3' };
        attached.push(steady[i].vmUuid);
      }
      const rows: DecisionRow[] = decisions.map((d) => ({ ...d, agentType: null, architecture: null, hostUuid: null }));
      const runId = ledger.startRun({ trigger: 'schedule', dryRun: false, now });
      ledger.setRunPlan(runId, { planHash: `sha256:${run}`, targets: [] });
      ledger.recordDecisions(runId, rows, decisionTrim());
      for (const vmUuid of attached) {
        ledger.beginAttach(runId, vmUuid, (job++).toString(16).padStart(32, '0'), '1.2.0', now);
        ledger.finishAttach(runId, vmUuid, { outcome: 'attached', error: null, now: now + 30, quarantine: QUARANTINE });
      }
      ledger.markVerified(runId, attached);
      const counts = { ...countDecisions(decisions as Parameters<typeof countDecisions>[0]), succeeded: attached.length, failed: 0, verified: attached.length };
      ledger.finishRun(runId, { status: attached.length > 0 ? 'succeeded' : 'noop', counts, now: now + 60_000 });
      applyRetention(ledger, o.retention, now + 60_000);
      untrimmed += decisions.length;
    }
  } finally {
    ledger.close();
  }
  // Counted with a plain connection: the Ledger has no "count everything" API, nor should it.
  const db = new Database(o.file, { readonly: true });
  try {
    const count = (sql: string) => Number((db.prepare(sql).get() as { n: number }).n);
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    return {
      runs: o.runs,
      runsKept: count('SELECT count(*) AS n FROM runs'),
      decisionRows: count('SELECT count(*) AS n FROM decisions'),
      untrimmedRows: untrimmed,
      databaseBytes: Number(db.pragma('page_count', { simple: true })) * pageSize,
      freeBytes: Number(db.pragma('freelist_count', { simple: true })) * pageSize,
      wallMs: performance.now() - started,
    };
  } finally {
    db.close();
  }
}
