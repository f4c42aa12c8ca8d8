// Which decisions of a run get a row of their own in the ledger. A 100k-VM fleet reconciled every half
// hour would otherwise store 100k rows per run, nearly all "skip/up-to-date". Steady-state skips are
// kept as counts only (the run's counts hold every `action/reason`); everything that changed or needs
// attention keeps its per-VM row: attaches (with their outcome, job uuid and error), defers, skips an
// operator can act on (untagged, unparseable-tag, no-cdrom, catalog-mismatch) and regressions.
// The JSON of the current run (`reconcile --json`) still lists every decision; only history is trimmed.

/** `action/reason` pairs stored as counts only: the VM is where policy wants it, or out of scope for good. */
export const COUNTED_ONLY: ReadonlySet<string> = new Set([
  'skip/up-to-date',
  'skip/ahead',
  'skip/excluded',
  'skip/not-user-vm',
  'skip/unsupported-hypervisor',
  'skip/no-iso',
]);

export function isCountedOnly(d: { action: string; reason: string }): boolean {
  return COUNTED_ONLY.has(`${d.action}/${d.reason}`);
}

/** The decisions that get a ledger row; `keep` names VMs stored whatever their decision (regressions). */
export function decisionsToStore<T extends { vmUuid: string; action: string; reason: string }>(
  decisions: readonly T[],
  keep: ReadonlySet<string> = new Set(),
): T[] {
  return decisions.filter((d) => !isCountedOnly(d) || keep.has(d.vmUuid));
}

/** Per `action/reason`: how many decisions of a run are in its counts but have no row (for `runs show`). */
export function countedOnly(counts: Readonly<Record<string, number>>, stored: readonly { action: string; reason: string }[]): Record<string, number> {
  const rows = new Map<string, number>();
  for (const d of stored) {
    const key = `${d.action}/${d.reason}`;
    rows.set(key, (rows.get(key) ?? 0) + 1);
  }
  const out: Record<string, number> = {};
  for (const key of COUNTED_ONLY) {
    const missing = (counts[key] ?? 0) - (rows.get(key) ?? 0);
    if (missing > 0) out[key] = missing;
  }
  return out;
}
