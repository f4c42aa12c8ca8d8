// A start permit: what the ZStack client needs to send a request that changes ZStack (an attach, its
// re-send after ID.1001, a detach, creating a script, executing one in guests). It proves that the one
// start transaction (src/apply/start-path.ts) just asked every gate, checked that the lease still names
// this run (the fence) and recorded this job uuid, all in one SQLite write transaction. Why a type and
// not a convention: every past double start came from a path that sent on a decision taken before an
// await (a re-login, a poll), or that skipped a gate nobody remembered to ask. With permits, such a path
// does not compile. A permit allows one request, for its API and subject, and is spent by it.
//
// The subject names what the request starts: the VM uuid for an attach or a detach, the script's
// caller-chosen resourceUuid for CreateGuestVmScript, and executeSubject(script, VMs) for an
// ExecuteGuestVmScript (so a permit for one batch cannot send another).
//
// Only the start path issues permits: `StartPermit.issue` is banned elsewhere by eslint.config.js.
/** VM actions: `PUT /vm-instances/{uuid}/actions`. */
export type ActionApi = 'AttachGuestToolsIsoToVm' | 'DetachGuestToolsIsoFromVm';

/** Every call that needs a start permit. */
export type StartApi = ActionApi | 'CreateGuestVmScript' | 'ExecuteGuestVmScript';

export class StartPermit {
  #spent = false;

  private constructor(
    readonly api: StartApi,
    readonly subject: string,
    /** Recorded in the ledger before the permit was issued. */
    readonly jobUuid: string,
  ) {}

  /** Only for src/apply/start-path.ts, inside the start transaction (see above). */
  static issue(api: StartApi, subject: string, jobUuid: string): StartPermit {
    return new StartPermit(api, subject, jobUuid);
  }

  /** The VM of an attach or detach permit (its subject). */
  get vmUuid(): string {
    return this.subject;
  }

  /** The job uuid to send; throws on a second use or for another call: a programming error, never sent. */
  spend(api: StartApi, subject: string): string {
    if (this.#spent) throw new RangeError(`start permit for ${this.api} ${short(this.subject)} was already used`);
    if (api !== this.api || subject !== this.subject) {
      throw new RangeError(`start permit for ${this.api} ${short(this.subject)} cannot start ${api} ${short(subject)}`);
    }
    this.#spent = true;
    return this.jobUuid;
  }
}

/** The subject of an ExecuteGuestVmScript permit: the script and the VMs of the batch, in any order. */
export function executeSubject(scriptUuid: string, vmUuids: readonly string[]): string {
  return `${scriptUuid}:${[...vmUuids].sort().join(',')}`;
}

function short(subject: string): string {
  return subject.length > 80 ? `${subject.slice(0, 77)}...` : subject;
}
