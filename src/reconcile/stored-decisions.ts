// Which decisions of a run get a row of their own in the ledger. A 100k-VM fleet reconciled every half
// hour would otherwise store 100k rows per run, nearly all the same as in the run before. The run's
// counts keep every `action/reason`; a per-VM row is stored for:
// - every attach (with its outcome, job uuid and error) and every VM whose version went backwards;
// - a defer or an actionable skip (untagged, unparseable-tag, no-cdrom, catalog-mismatch, ...) only
//   when the VM's (action, reason, current, target) differs from its last stored decision (the key is
//   kept in vm_state, migrations/0004_decision_keys.sql; retention deleting that row clears it);
// - never for steady-state skips (COUNTED_ONLY): the VM is where policy wants it, or out of scope.
// The JSON of the current run (`reconcile --json`) still lists every decision; only history is trimmed.
import type { DecisionTrim } from '../ledger/index.js';
import { reasonsWhere } from '../plan/reasons.js';

/** `action/reason` pairs stored as counts only (REASONS' `stored: 'count'`): the VM is where policy wants it, or out of scope for good. */
const COUNTED_ONLY: ReadonlySet<string> = new Set(reasonsWhere((r) => r.stored === 'count'));

interface Keyed {
  vmUuid: string;
  action: string;
  reason: string;
  current: string | null;
  target: string | null;
}

function isCountedOnly(d: { action: string; reason: string }): boolean {
  return COUNTED_ONLY.has(`${d.action}/${d.reason}`);
}

/** What makes a defer or skip worth a new row when it changes; null for attaches and counted-only skips. */
function decisionKey(d: Keyed): string | null {
  if (d.action === 'attach' || isCountedOnly(d)) return null;
  return JSON.stringify([d.action, d.reason, d.current, d.target]);
}

/** The trim of a run's decisions; `keep` names VMs stored whatever their decision (regressions). */
export function decisionTrim(keep: ReadonlySet<string> = new Set()): DecisionTrim {
  return {
    keyOf: decisionKey,
    always: (d) => d.action === 'attach' || keep.has(d.vmUuid),
  };
}

interface Unlisted {
  /** Steady-state decisions: stored as counts only. */
  countedOnly: Record<string, number>;
  /** Decisions the same as the VM's last stored one (listed in an earlier run). */
  unchanged: Record<string, number>;
}

/** Per `action/reason`: how many decisions of a run are in its counts but have no row (for `runs show`); `n` tallies several rows. */
export function unlistedDecisions(counts: Readonly<Record<string, number>>, stored: readonly { action: string; reason: string; n?: number }[]): Unlisted {
  const rows = new Map<string, number>();
  for (const d of stored) {
    const key = `${d.action}/${d.reason}`;
    rows.set(key, (rows.get(key) ?? 0) + (d.n ?? 1));
  }
  const out: Unlisted = { countedOnly: {}, unchanged: {} };
  for (const [key, n] of Object.entries(counts)) {
    if (!key.includes('/')) continue;
    const missing = n - (rows.get(key) ?? 0);
    if (missing > 0) (COUNTED_ONLY.has(key) ? out.countedOnly : out.unchanged)[key] = missing;
  }
  return out;
}
