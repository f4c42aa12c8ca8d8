// A real ledger (SQLite file) in a temp folder of its own, for tests that drive the ledger or apply
// in-process; removed with its folder by cleanup().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/index.js';

export interface TempLedger {
  dir: string;
  /** The database file. */
  file: string;
  ledger: Ledger;
  /** Closes the ledger and removes the folder. */
  cleanup(): void;
}

export function tempLedger(prefix = 'gtr-ledger-', opts: Parameters<typeof Ledger.open>[1] = {}): TempLedger {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, 'state.db');
  const ledger = Ledger.open(file, opts);
  return {
    dir,
    file,
    ledger,
    cleanup: () => {
      ledger.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
