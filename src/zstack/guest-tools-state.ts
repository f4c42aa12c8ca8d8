// Which QueryGuestToolsState the management node has (zstack-api.md 10.2): none before 4.6.11 (404
// `no api mapping`), its state field named `state` in 4.6.11-4.6.20 and `qgaState` from 4.6.21. A
// query naming a field the MN lacks is refused, so the field is found out once from one row, and the
// caller filters on the client. An MN without the API gets one warning per client (per process).
import type { Logger } from 'pino';
import type { Reply } from './http.js';
import { okObject } from './reply.js';
import { inventoriesOf } from './types.js';

/** `absent`: no such API (versions come from tags alone); `empty`: no rows yet, so nothing to learn. */
export type GuestToolsStateSupport = 'qgaState' | 'state' | 'absent' | 'empty';

export const GUEST_TOOLS_STATE_ABSENT =
  'the management node has no QueryGuestToolsState (it is older than 4.6.11): GuestTools versions come from GuestTools:: tags alone';

const API = 'QueryGuestToolsState';
const PROBE_PATH = '/zstack/v1/guesttools?limit=1';

interface ProbeDeps {
  /** A signed or session GET of `PROBE_PATH`, returning the reply whatever its status. */
  get(path: string): Promise<Reply>;
  scrub: (text: string) => string;
  logger?: Logger;
}

export class GuestToolsStateProbe {
  private known: Promise<GuestToolsStateSupport> | null = null;
  private lastSeen: GuestToolsStateSupport | null = null;

  constructor(private readonly deps: ProbeDeps) {}

  /** What the MN offers; asked once, except while it has no rows (then each call looks again). */
  support(): Promise<GuestToolsStateSupport> {
    this.known ??= this.probe().then(
      (found) => {
        if (found === 'empty') this.known = null;
        this.lastSeen = found;
        return found;
      },
      (error: unknown) => {
        this.known = null;
        throw error;
      },
    );
    return this.known;
  }

  /** The last answer, without asking (null before the first): for recording runs and diagnostics. */
  seen(): GuestToolsStateSupport | null {
    return this.lastSeen;
  }

  private async probe(): Promise<GuestToolsStateSupport> {
    const reply = await this.deps.get(PROBE_PATH);
    if (reply.status === 404 && reply.body.kind === 'text' && reply.body.text.includes('no api mapping')) {
      this.deps.logger?.warn({ api: API, support: 'absent' }, GUEST_TOOLS_STATE_ABSENT);
      return 'absent';
    }
    const row = inventoriesOf(API, okObject(API, reply, this.deps.scrub))[0];
    if (row === undefined) return 'empty';
    return 'state' in row && !('qgaState' in row) ? 'state' : 'qgaState';
  }
}
