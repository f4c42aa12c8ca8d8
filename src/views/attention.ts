// "Needs attention": the VMs a person has to look at, with what is wrong and the command or step that
// fixes it. Shown by `gtr status --json` (first page) and the status page (every page).
import { iso } from '../time-format.js';
import type { AttentionRow, Ledger } from '../ledger/index.js';
import { REASONS, reasonsWhere } from '../plan/reasons.js';

const ATTENTION_KEYS = reasonsWhere((r) => r.attention !== undefined);

/** Skip and defer reasons that do not clear by themselves (REASONS' `attention`). */
export const ATTENTION_REASONS: readonly string[] = ATTENTION_KEYS.map((key) => key.slice(key.indexOf('/') + 1));

const ATTENTION_PAGE_SIZE = 50;

const RETRY = (vm: string) => `gtr retry --vm ${vm}`;
/** The step that fixes each problem: a failure, a regression, or a reason's own (REASONS' `attention`). */
const FIXES: Record<string, (vm: string) => string> = {
  failed: RETRY,
  regression: () => 'check the guest: its GuestTools version went backwards',
  ...Object.fromEntries(ATTENTION_KEYS.map((key) => [key.slice(key.indexOf('/') + 1), REASONS[key].attention as (vm: string) => string])),
};

/** The one problem shown first: a quarantine, then failures, then a regression, then the decision's reason. */
function problemOf(r: AttentionRow): string {
  if (r.quarantineUntil !== null) return 'quarantined';
  if (r.failures > 0) return 'failed';
  if (r.reason !== null && ATTENTION_REASONS.includes(r.reason)) return r.reason;
  if (r.regression !== null) return 'regression';
  return r.reason ?? 'failed';
}

export function needsAttentionJson(ledger: Ledger, now: number, page = 1) {
  const { total, rows } = ledger.needsAttention(now, ATTENTION_REASONS, ATTENTION_PAGE_SIZE, (page - 1) * ATTENTION_PAGE_SIZE);
  return {
    total,
    page,
    pageSize: ATTENTION_PAGE_SIZE,
    vms: rows.map((r) => {
      const problem = problemOf(r);
      return {
        vmUuid: r.vmUuid,
        vmName: r.vmName,
        problem,
        decision: r.action === null ? null : `${r.action}/${r.reason}`,
        current: r.current,
        target: r.target,
        failures: r.failures,
        quarantinedUntil: r.quarantineUntil === null ? null : iso(r.quarantineUntil),
        regression: r.regression,
        error: r.error,
        runId: r.runId,
        fix: (FIXES[problem] ?? RETRY)(r.vmUuid),
      };
    }),
  };
}
