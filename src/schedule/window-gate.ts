// Maintenance windows bound every attach start, not only the start of a run (docs/design.md 2): a gate that
// refuses once the open window has closed. It stops the run: the attaches not started yet become
// `defer/outside-window`, those in flight finish, and the run ends normally.
//
// The close is the instant the local clock reaches the window's end (a wall time),
// computed at the start of the run and again when the zone's offset changes before it (a DST change
// during the run), so the check per attach stays one or two comparisons.
import type { MaintenanceWindow } from '../config/schema.js';
import type { DeferReason } from '../plan/reasons.js';
import { windowClosesAt } from './window.js';
import { nextOffsetChange } from './zone-time.js';
import type { AttachGate } from '../plan/gates.js';

export class WindowGate implements AttachGate {
  readonly name = 'window';
  readonly stopsRun = true;
  private closes: number;
  /** When the zone's offset changes before the close: recompute then. Infinity when it does not. */
  private recheckAt: number;
  private closed = false;

  constructor(
    private readonly windows: readonly MaintenanceWindow[],
    private readonly timeZone: string,
    now: number,
  ) {
    this.closes = windowClosesAt(windows, timeZone, now);
    this.recheckAt = this.offsetChangeBefore(now, this.closes);
  }

  /** Epoch ms the open window closes; Infinity without windows. */
  get closesAt(): number {
    return this.closes;
  }

  check(_subject: unknown, now: number): DeferReason | null {
    if (!this.closed && now >= this.recheckAt) {
      // Never later than the close computed before.
      this.closes = Math.min(this.closes, windowClosesAt(this.windows, this.timeZone, now));
      this.recheckAt = this.offsetChangeBefore(now, this.closes);
    }
    // Once closed, closed for the run: also when the clock falls back into the window or steps back.
    if (now >= this.closes) this.closed = true;
    return this.closed ? 'outside-window' : null;
  }

  private offsetChangeBefore(now: number, closes: number): number {
    if (!Number.isFinite(closes) || closes <= now) return Infinity;
    return nextOffsetChange(now, closes, this.timeZone) ?? Infinity;
  }
}
