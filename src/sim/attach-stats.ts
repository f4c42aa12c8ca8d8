// What the tests and the benchmark ask about attaches: which were started, and how many ran at once
// overall and per host.
import type { AttachStarted } from './types.js';

export class AttachStats {
  readonly started: AttachStarted[] = [];
  inFlight = 0;
  maxInFlight = 0;
  maxPerHost = 0;
  private readonly perHost = new Map<string, number>();

  begin(hostUuid: string | null): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (!hostUuid) return;
    const n = (this.perHost.get(hostUuid) ?? 0) + 1;
    this.perHost.set(hostUuid, n);
    this.maxPerHost = Math.max(this.maxPerHost, n);
  }

  end(hostUuid: string | null): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (!hostUuid) return;
    const n = (this.perHost.get(hostUuid) ?? 1) - 1;
    if (n <= 0) this.perHost.delete(hostUuid);
    else this.perHost.set(hostUuid, n);
  }

  /** MN restart: running jobs are gone. The maxima stay (they describe the past). */
  dropRunning(): void {
    this.inFlight = 0;
    this.perHost.clear();
  }
}
