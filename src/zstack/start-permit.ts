// A start permit: what the ZStack client needs to send a request that changes ZStack (an attach, its
// re-send after ID.1001, a detach; later the install). It proves that the one start transaction
// (src/apply/start-path.ts) just asked every gate, checked that the lease still names this run (the
// fence) and recorded this job uuid, all in one SQLite write transaction. Why a type and not a
// convention: every past double start came from a path that sent on a decision taken before an await
// (a re-login, a poll), or that skipped a gate nobody remembered to ask. With permits, such a path does
// not compile. A permit allows one PUT, for its API and VM, and is spent by it.
//
// Only the start path issues permits: `StartPermit.issue` is banned elsewhere by eslint.config.js.
import type { ActionApi } from './actions.js';

export class StartPermit {
  #spent = false;

  private constructor(
    readonly api: ActionApi,
    readonly vmUuid: string,
    /** Recorded in the ledger before the permit was issued. */
    readonly jobUuid: string,
  ) {}

  /** Only for src/apply/start-path.ts, inside the start transaction (see above). */
  static issue(api: ActionApi, vmUuid: string, jobUuid: string): StartPermit {
    return new StartPermit(api, vmUuid, jobUuid);
  }

  /** The job uuid to send; throws on a second use or for another call: a programming error, never sent. */
  spend(api: ActionApi, vmUuid: string): string {
    if (this.#spent) throw new RangeError(`start permit for ${this.api} ${this.vmUuid} was already used`);
    if (api !== this.api || vmUuid !== this.vmUuid) {
      throw new RangeError(`start permit for ${this.api} ${this.vmUuid} cannot start ${api} ${vmUuid}`);
    }
    this.#spent = true;
    return this.jobUuid;
  }
}
