// The exit code of a pass, in one place (docs/reference/exit-codes.md). When several apply, the first
// of EXIT_PRECEDENCE wins:
// - 130 / 143: the one-shot `gtr reconcile` was stopped by SIGINT / SIGTERM (passExitCode);
// - 5 and 3 when the pass threw: the GtrError's own exit code (ERROR_CODES in src/errors.ts: the lease
//   held by another run, not the leader, ZStack or the ISO folder unusable), mapped by src/cli/main.ts;
// - for a pass that ended (exitCodeFor): 5 when it lost its lease or its leadership mid-way, then 4
//   halted by the error budget, 1 some attaches failed, 0 otherwise.
import { EXIT } from '../errors.js';
import type { RunReport } from './report.js';
import { SHUTDOWN_GRACE_MS } from './shutdown.js';

/** 128 + the signal's number. */
export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

/** What the signal exits mean. */
export const SIGNAL_EXIT_ABOUT = [
  '`reconcile` stopped by SIGINT / SIGTERM: no new attach starts, attaches in flight get a bounded wait',
  `(${SHUTDOWN_GRACE_MS / 1000} s, \`GTR_SHUTDOWN_GRACE_MS\` to change it), then their calls are abandoned (outcome \`interrupted\`,`,
  "job uuid kept, settled by the next run's replay, never attached twice); the run is recorded `interrupted`; a second signal exits at once",
].join(' ');

/** The signal exits in a few words, for the "Exit codes:" line of a command's --help. */
export const SIGNAL_EXIT_SHORT = 'stopped by SIGINT / SIGTERM';

/** When several exit codes apply to a pass, the first of these wins ('signal': 130 / 143). */
export const EXIT_PRECEDENCE = ['signal', EXIT.leaseHeld, EXIT.unreachable, EXIT.budgetHalted, EXIT.someFailed, EXIT.ok] as const;

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
