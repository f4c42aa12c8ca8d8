// Tests hold attach jobs "running" for as long as they need (as a slow MN would), instead of guessing a
// job duration that outlasts what they do meanwhile. Held jobs finish, in order, when released.
export class JobHold {
  private held: Array<() => void> | null = null;

  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const finish = this.held ?? [];
    this.held = null;
    for (const fn of finish) fn();
  }

  /** Runs `finish` now, or at release while held. */
  finishWhenReleased(finish: () => void): void {
    if (this.held) this.held.push(finish);
    else finish();
  }

  /** MN restart: the held jobs are gone with the MN's other jobs. */
  drop(): void {
    if (this.held) this.held = [];
  }
}
