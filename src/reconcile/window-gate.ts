// Maintenance windows bound every attach start, not only the start of a run (DESIGN.md 2): a gate that
// refuses once the open window has closed. When it closes is computed once, at the start of the run, so
// the check per attach is one comparison. It stops the run: the attaches not started yet become
// `defer/outside-window`, those in flight finish, and the run ends normally.
import type { MaintenanceWindow } from '../config/types.js';
import type { DeferReason } from '../plan/reasons.js';
import { windowClosesAt } from '../plan/window.js';
import type { AttachGate } from './gates.js';

export class WindowGate implements AttachGate {
  readonly name = 'window';
  readonly stopsRun = true;
  /** Epoch ms the open window closes; Infinity without windows. */
  readonly closesAt: number;

  constructor(windows: readonly MaintenanceWindow[], timeZone: string, now: number) {
    this.closesAt = windowClosesAt(windows, timeZone, now);
  }

  check(_subject: unknown, now: number): DeferReason | null {
    return now < this.closesAt ? null : 'outside-window';
  }
}
