// The run's error budget (policy.maxErrors) as a gate of the start path.
import type { DeferReason } from '../plan/reasons.js';
import type { AttachGate, AttachObserver, GateSubject } from '../plan/gates.js';

/**
 * The run's error budget (policy.maxErrors): a gate and an observer. Failures beyond `maxErrors` halt
 * the run: attaches not started yet become `defer/budget-halted`; those in flight finish.
 */
export class ErrorBudgetGate implements AttachGate, AttachObserver {
  readonly name = 'error-budget';
  readonly stopsRun = true;
  private failures = 0;

  constructor(private readonly maxErrors: number) {}

  get failed(): number {
    return this.failures;
  }

  get exceeded(): boolean {
    return this.failures > this.maxErrors;
  }

  check(): DeferReason | null {
    return this.exceeded ? 'budget-halted' : null;
  }

  onOutcome(_subject: GateSubject, outcome: { failed: boolean }): void {
    if (outcome.failed) this.failures++;
  }
}
