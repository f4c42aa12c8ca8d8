// Holding chosen requests on their way in, as a slow MN, a proxy holding a login, or a busy database
// would: a test says "the Nth request of this API" and gets told when it arrives, does what it needs
// meanwhile (expire every session, delete rows, pause a rollout) and releases it. The request is then
// handled as any other, on the world as it is at that moment. Nothing is held unless a test asks.
import type { ApiName, CallRecord, HeldRequest, RequestHoldSpec } from './types.js';

interface Pending {
  api: ApiName;
  /** Matching requests still to let through before the held one. */
  skip: number;
  match?: (call: CallRecord) => boolean;
  arrived: (call: CallRecord) => void;
  released: Promise<void>;
}

export class RequestHolds {
  private pending: Pending[] = [];

  /** Holds the (skip + 1)-th request of `api` (counted from now) that `match` accepts, until released. */
  hold(spec: RequestHoldSpec): HeldRequest {
    let arrived: (call: CallRecord) => void = () => {};
    let release: () => void = () => {};
    const reached = new Promise<CallRecord>((resolve) => {
      arrived = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.pending.push({ api: spec.api, skip: spec.skip ?? 0, match: spec.match, arrived, released });
    return { reached, release };
  }

  /** Resolves at once for a request nobody holds, else when the test releases it. */
  wait(api: ApiName, call: CallRecord): Promise<void> | null {
    for (const p of this.pending) {
      if (p.api !== api || (p.match && !p.match(call))) continue;
      if (p.skip > 0) {
        p.skip--;
        continue;
      }
      this.pending = this.pending.filter((q) => q !== p);
      p.arrived(call);
      return p.released;
    }
    return null;
  }
}
