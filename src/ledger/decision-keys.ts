// Which decisions of a run get a row, given each VM's last stored one. The caller says what a
// decision's key is and which decisions are stored whatever happened before (src/reconcile/
// stored-decisions.ts); here a keyed decision is stored only when its key differs from the VM's last
// stored key, and the keys to write back are worked out. Pure: the ledger runs it inside the
// transaction that inserts the rows, so the stored rows and the keys never disagree.
import type { DecisionRow } from './types.js';

export interface DecisionTrim {
  /** The decision's change key; null when it has none (an attach, a counted-only skip). */
  keyOf(row: DecisionRow): string | null;
  /** Stored whatever the VM's last key (attaches, regressions). */
  always(row: DecisionRow): boolean;
}

export interface KeyUpdate {
  vmUuid: string;
  key: string | null;
  /** The run holding the row of `key`; null with a null key. */
  runId: number | null;
}

export function trimDecisions<T extends DecisionRow>(
  rows: readonly T[],
  lastKeys: ReadonlyMap<string, string>,
  trim: DecisionTrim,
  runId: number,
): { stored: T[]; keyUpdates: KeyUpdate[] } {
  const stored: T[] = [];
  const keyUpdates: KeyUpdate[] = [];
  for (const row of rows) {
    const key = trim.keyOf(row);
    const before = lastKeys.get(row.vmUuid) ?? null;
    const store = trim.always(row) || (key !== null && key !== before);
    if (store) stored.push(row);
    // A stored keyed row moves the key to this run (retention may delete the older one); a keyless
    // decision clears the key, so the VM's next keyed decision is stored whatever it is.
    if (key !== before || (store && key !== null)) keyUpdates.push({ vmUuid: row.vmUuid, key, runId: key === null ? null : runId });
  }
  return { stored, keyUpdates };
}
