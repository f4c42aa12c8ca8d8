// "Needs attention": the VMs a person has to look at, with what is wrong and the command or step that
// fixes it. Shown by `gtr status --json` (first page) and the status page (every page).
import { iso } from '../time-format.js';
import type { AttentionRow, Ledger } from '../ledger/index.js';

/** Skip and defer reasons that do not clear by themselves (DESIGN.md section 5). */
export const ATTENTION_REASONS = [
  'unparseable-tag',
  'no-cdrom',
  'catalog-mismatch',
  'not-converging',
  'unknown-architecture',
  'quarantined',
  'cdrom-busy',
  'catalog-unverified',
] as const;

export const ATTENTION_PAGE_SIZE = 50;

const RETRY = (vm: string) => `gtr retry --vm ${vm}`;
const FIXES: Record<string, (vm: string) => string> = {
  failed: RETRY,
  quarantined: RETRY,
  'not-converging': RETRY,
  regression: () => 'check the guest: its GuestTools version went backwards',
  'unparseable-tag': () => 'set a GuestTools::X.Y.Z tag the guest really runs, or remove the bad one',
  'no-cdrom': () => 'add a CD-ROM to the VM',
  'catalog-mismatch': () => 'restart the management node so it loads the ISO of the ISO folder',
  'catalog-unverified': () => 'check the management node: the catalog probe failed (see the error)',
  'unknown-architecture': () => 'set the VM architecture in ZStack',
  'cdrom-busy': () => "eject the user's ISO from CD-ROM 0, or set policy.ejectUserIso",
};

/** The one problem shown first: a quarantine, then failures, then a regression, then the decision's reason. */
function problemOf(r: AttentionRow): string {
  if (r.quarantineUntil !== null) return 'quarantined';
  if (r.failures > 0) return 'failed';
  if (r.reason !== null && (ATTENTION_REASONS as readonly string[]).includes(r.reason)) return r.reason;
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
