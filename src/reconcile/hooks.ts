// Pass hooks: how a feature takes part in the one reconcile pass without wrapping it. Rollouts are
// the one hook today (src/reconcile/rollout-hook.ts): before the run they take due wave steps, during it they
// are a gate and an observer of attach outcomes, after it they fold what the run saw into members.
import type { StartPath } from '../apply/start-path.js';
import type { Plan } from '../plan/plan.js';
import type { AttachGate, AttachObserver } from '../plan/gates.js';
import type { RunReport } from './report.js';

export interface RunSeen {
  plan: Plan;
  report: RunReport;
  /** The run saw the whole fleet (no --vm): a member it did not see is gone. */
  fullFleet: boolean;
  startedAt: number;
}

export interface PassHook {
  readonly name: string;
  /** Before the run observes anything (real runs only, under the run's lease); whatever it starts in ZStack goes through `start`. */
  beforeRun?(now: number, start: StartPath): Promise<void>;
  /** What this hook plugs into the run starting at `now`: gates (plan and apply) and observers (apply). */
  plugIn(now: number): { gates: AttachGate[]; observers: AttachObserver[]; installFor?: (vmUuid: string) => boolean };
  /** After the run is recorded (real runs only). */
  afterRun?(seen: RunSeen): void;
}
