// The exit code of a pass (README "Exit codes"), in one place. When several apply, the first of
// 130/143, 5, 3, 4, 1, 0 wins:
// - 130 / 143: the one-shot `gtr reconcile` was stopped by SIGINT / SIGTERM (passExitCode);
// - 5 and 3 when the pass threw: the GtrError's own exit code (ERROR_CODES in src/errors.ts: the lease
//   held by another run, not the leader, ZStack or the ISO folder unusable), mapped by src/cli/main.ts;
// - for a pass that ended (exitCodeFor): 5 when it lost its lease or its leadership mid-way, then 4
//   halted by the error budget, 1 some attaches failed, 0 otherwise.
import { EXIT } from '../errors.js';
import type { RunReport } from './report.js';

/** 128 + the signal's number. */
export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

/** The exit code of a pass that ended, from its report. */
export function exitCodeFor(report: Pick<RunReport, 'status' | 'counts'>): number {
  if ((report.counts['defer/lease-lost'] ?? 0) > 0 || (report.counts['defer/not-leader'] ?? 0) > 0) return EXIT.leaseHeld;
  switch (report.status) {
    case 'partial':
    case 'failed':
      return EXIT.someFailed;
    case 'halted':
      return EXIT.budgetHalted;
    default:
      return EXIT.ok;
  }
}

/** A signal (`signalExit`, 130 / 143, or null when none came) wins over the pass's own code. */
export function passExitCode(signalExit: number | null, code: number): number {
  return signalExit ?? code;
}
