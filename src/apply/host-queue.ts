// Hands out attaches so that at most `maxPerHost` run on one KVM host at a time, in O(1) per pick:
// a queue per host and an insertion-ordered set of hosts that have work and spare capacity.
import { appendTo } from '../multimap.js';

export class HostQueue<T> {
  private readonly queues = new Map<string, T[]>();
  private readonly inFlight = new Map<string, number>();
  private readonly ready = new Set<string>();
  private queued = 0;

  constructor(
    items: readonly T[],
    private readonly hostOf: (item: T) => string,
    private readonly maxPerHost: number,
  ) {
    for (const item of items) {
      const host = hostOf(item);
      appendTo(this.queues, host, item);
      this.ready.add(host);
      this.queued++;
    }
  }

  get pending(): number {
    return this.queued;
  }

  /** The next item whose host has capacity, or null when every host with work is full. */
  take(): T | null {
    const host = this.ready.values().next().value;
    if (host === undefined) return null;
    const queue = this.queues.get(host) as T[];
    const item = queue.shift() as T;
    this.queued--;
    const running = (this.inFlight.get(host) ?? 0) + 1;
    this.inFlight.set(host, running);
    this.ready.delete(host);
    // Re-append at the end so hosts take turns.
    if (queue.length > 0 && running < this.maxPerHost) this.ready.add(host);
    return item;
  }

  done(item: T): void {
    const host = this.hostOf(item);
    const running = (this.inFlight.get(host) ?? 1) - 1;
    this.inFlight.set(host, running);
    if ((this.queues.get(host)?.length ?? 0) > 0 && running < this.maxPerHost) this.ready.add(host);
  }

  /** Everything not handed out yet (used when the run halts). */
  drain(): T[] {
    const rest: T[] = [];
    for (const queue of this.queues.values()) rest.push(...queue.splice(0));
    this.ready.clear();
    this.queued = 0;
    return rest;
  }
}
