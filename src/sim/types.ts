// Public types of the ZStack management-node simulator (re-exported by index.ts).
import type { SimAccessKey } from './access-keys.js';

export type ApiName =
  | 'LogInByAccount'
  | 'LogOut'
  | 'QueryVmInstance'
  | 'QueryVmCdRom'
  | 'QuerySystemTag'
  | 'QueryTag'
  | 'QueryUserTag'
  | 'QueryGuestToolsState'
  | 'AttachGuestToolsIsoToVm'
  | 'DetachGuestToolsIsoFromVm'
  | 'GetLatestGuestToolsForVm'
  | 'GetVmGuestToolsInfo'
  | 'UpdateGuestToolsState'
  | 'CreateGuestVmScript'
  | 'QueryGuestVmScript'
  | 'ExecuteGuestVmScript'
  | 'QueryGuestVmScriptExecutedRecord'
  | 'QueryGuestVmScriptExecutedRecordDetail'
  | 'QueryJob'
  | 'ValidateSession';

export type QgaState = 'NotInstalled' | 'Running' | 'NotRunning' | 'NotUpgraded';

interface SimGuest {
  qgaState: QgaState;
  version: string | null;
}

/**
 * A UI tag on a VM (zstack-api.md 10.1): a tag pattern by name (created when missing: simple, value =
 * name; `tag` is the text with tokens filled in, default the pattern's value), or a legacy user tag
 * without a pattern. `owner` is the account that owns it (default the simulator's account).
 */
export type SimUserTag = { pattern: string; tag?: string; owner?: string } | { legacy: string; owner?: string };

export interface SimVm {
  uuid: string;
  name: string;
  state: string;
  platform: string;
  /** null: the MN has no architecture for the VM (older VMs). */
  architecture: string | null;
  hypervisorType: string;
  type: string;
  zoneUuid: string;
  clusterUuid: string;
  /** null when the VM is not on a host (Stopped). */
  hostUuid: string | null;
  cdRoms: number;
  /** isoUuid of an image-store ISO in CD-ROM 0 (a user's install ISO); the attach ejects it (zstack-api.md 5.4). */
  cdRomIsoUuid?: string | null;
  /** System tags on the VM, e.g. 'GuestTools::1.0.0'. */
  tags: string[];
  /** The guest's GuestToolsState row, or null when there is none. */
  guest: SimGuest | null;
  /** UI tags (tag patterns, legacy user tags); a plain string is a pattern name. */
  userTags?: (string | SimUserTag)[];
  /**
   * true: the guest installs attached tools (reports the ISO's version) guests.installDelayMs after the
   * attach. Default: decided by guests.installShare (0: no guest installs unless a test says so).
   */
  installs?: boolean;
  /**
   * Whether the guest's QEMU guest agent runs (what the script library needs). Default: the guest-tools
   * state row says `qgaState: Running`. false with a Running row: a stale row (the agent died since the
   * last 30 s scan), so scripts fail on this VM while the row still says Running.
   */
  qga?: boolean;
  /**
   * What the GuestTools installer from the ISO does in this guest when a script runs it
   * (src/sim/guest-os.ts): `succeeds` (default: restarts the agent, writes the version file, reports the
   * version), `fails` (reports `InstallFailed`), `hangs` (never finishes, never reports: a prompt).
   */
  installer?: 'succeeds' | 'fails' | 'hangs';
  /** Text every script prints on stderr in this guest (a noisy login profile, a warning): the agent then marks the run failed. */
  scriptStderr?: string;
}

/** The guest as a person at its console would see it (Simulator.guestView). */
export interface SimGuestView {
  /** The QEMU guest agent answers (configured to run and not restarting). */
  agentRunning: boolean;
  /** The installer is restarting the agent right now. */
  agentRestarting: boolean;
  /** The tools version installed in the guest (`/usr/local/zstack/guesttools`), null when none. */
  installedVersion: string | null;
  /** What CD-ROM 0 holds: nothing, a user's image-store ISO, or the GuestTools ISO (occupant GuestTools). */
  cdRom0: 'empty' | 'user-iso' | 'GuestTools' | 'none';
  /** The version of the GuestTools ISO in CD-ROM 0, when it holds one. */
  guestToolsIsoVersion: string | null;
  /** The 1 GiB virtio temp disk `vdz` that attach hot-plugs on Windows VMs without virtio. */
  tempDisk: boolean;
}

/** One run of the GuestTools installer inside a guest (Simulator.installerRuns). */
export interface InstallerRun {
  vmUuid: string;
  /** The ISO's version, what a successful run installs. */
  version: string;
  /** The script execution that launched it; null when a person ran it at the console (Simulator.installByHand). */
  recordUuid: string | null;
  startedAt: number;
  /** Set when the run ended (never for `hangs`): what it reported. */
  outcome?: 'succeeded' | 'failed';
}

/** One ExecuteGuestVmScript the MN accepted and ran (Simulator.scriptExecutions). */
export interface ScriptExecution {
  jobUuid: string;
  scriptUuid: string;
  vmUuids: string[];
  at: number;
  /** The record's uuid once the job created it; absent when the job failed (the call was refused). */
  recordUuid?: string;
  failedWith?: string;
}

/** Status words of records and details: the MN code is not public, so each reading is a knob (zstack-install-api.md 1.8). */
export interface ScriptStatusSpelling {
  record: { running: string; succeeded: string; failed: string; /** some details failed, some succeeded */ partial: string };
  detail: { running: string; succeeded: string; failed: string; timeout: string };
}

export type ScriptStatusPreset = 'Succeed' | 'Succeeded' | 'Completed';

interface ScriptLibraryOptions {
  /** Status spellings: a preset or your own (default `Succeed`: Running -> Succeed / Failed / Timeout). */
  statuses?: ScriptStatusPreset | ScriptStatusSpelling;
  /**
   * A listed VM that is not Running, whose agent does not run, or whose platform is not the script's:
   * `detail` (default) gives it a failed detail while the call returns a record; `refuse` fails the whole
   * call (the job answers SYS.1007) and nothing runs anywhere.
   */
  unreachableVms?: 'detail' | 'refuse';
  /** Any stderr output marks a detail failed (default true, the 2024 kvmagent); false: exitCode decides. */
  stderrFails?: boolean;
  /** How long a script runs in a guest before its detail ends, default the job duration. */
  scriptMs?: number;
}

export interface SimIso {
  agentType: 'WindowsOnKvm' | 'LinuxOnKvm';
  /** An architecture, or 'general'. */
  architecture: string;
  version: string;
  /** Default 'KVM'. */
  hypervisorType?: string;
}

export interface FleetOptions {
  vms: number;
  seed?: number;
  /** Current ISO version, default '1.2.0'. */
  isoVersion?: string;
  /** Share of VMs (so also of running KVM user VMs with a CD-ROM) whose tag is older, default 0.2. */
  outdatedShare?: number;
  /** UI tag (pattern) name -> share of VMs (0..1) carrying it, e.g. `{ canary: 0.01 }`. */
  uiTags?: Record<string, number>;
}

export interface FaultOptions {
  /** Added to every request. */
  latencyMs?: number;
  /** 0..1 chance per request of a ZStack error body (503 SYS.1000). Nothing is done. Never on QueryJob (there a 503 body is the job's own result). */
  errorRates?: Partial<Record<ApiName, number>>;
  /** 0..1 chance of a plain-text 502/503 from a proxy (no JSON). Nothing is done. */
  proxyErrorRates?: Partial<Record<ApiName, number>>;
  /** 0..1 chance to destroy the socket without answering. An attach is accepted (job created) first. */
  resetRates?: Partial<Record<ApiName, number>>;
  /** 0..1 chance the request is carried out but never answered (the client times out). */
  timeoutRates?: Partial<Record<ApiName, number>>;
  /** 0..1 chance per request of a latency spike of spikeMs (default 1000) before it is handled. */
  spikeRate?: number;
  spikeMs?: number;
  /** 0..1 chance per request that every session expires just before it is handled. */
  sessionExpireRate?: number;
  /**
   * 0..1 chance per attach PUT that every session expires between the 202 and the interceptor's check,
   * so the attach's job answers ID.1001 (rejected unrun): the client's re-send path.
   */
  attachSessionExpireRate?: number;
  /** 0..1 chance an attach job never finishes. */
  stuckJobRate?: number;
  /** Every session expires after N authorised calls. */
  sessionExpireAfterCalls?: number;
  /**
   * The first `count` requests of `api` (from when the faults are set) get fault `kind`, whatever the
   * rates: a fault a test can count on instead of hoping a rate hits (an error body is never put on QueryJob).
   */
  firstRequests?: { api: ApiName; kind: 'error' | 'proxy' | 'reset' | 'timeout'; count: number }[];
  /** Scripts on these VMs run past their timeout: the detail ends in the timeout status (the guest process goes on). */
  scriptTimeoutVmUuids?: string[];
  /** These VMs' detach jobs fail with SYS.1006 (the agent could not unplug the devices). */
  detachFailVmUuids?: string[];
  /** 0..1: the attach job fails with SYS.1006. */
  attachFailRate?: number;
  /** These VMs' attach jobs always fail with SYS.1006. */
  failVmUuids?: string[];
  /**
   * These VMs' attach jobs end with the MN's operation timeout SYS.1001 while the host still carries the
   * attach out (the ISO is mounted, the tags written): the MN's "timeout" is no proof the attach did not run.
   */
  timeoutVmUuids?: string[];
  seed?: number;
}

interface GuestOptions {
  /**
   * Delay between a successful attach and the install report of a guest that installs, default 0: the
   * report is in before the attach job ends (a guest that installs right away).
   */
  installDelayMs?: number;
  /** 0..1 share of VMs (without `installs`) whose guest installs after an attach, default 0 (stable per VM uuid). */
  installShare?: number;
  seed?: number;
  /** From a script launching the installer to the installer restarting the guest agent, default 20 ms (ZStack's own launcher waits 60 s). */
  installMs?: number;
  /** How long the agent restart takes before the installer reports, default 10 ms. */
  agentRestartMs?: number;
  /**
   * When the state row follows the installer's report: 0 (default) at once, as the report rewrites the
   * tag; N ms: after the next host ping (the report writes only the tag); null: only UpdateGuestToolsState
   * refreshes it.
   */
  rowLagMs?: number | null;
  /** The installer's file name on the simulated Windows ISO (the real one is not published), default `GuestToolsSetup.exe`. */
  windowsInstaller?: string;
}

export interface SimOptions {
  host?: string;
  /** Serve https with this key and certificate (PEM) instead of http. */
  tls?: { key: string; cert: string };
  port?: number;
  accountName?: string;
  /** Plaintext; the server compares its sha512 hex (lowercase). */
  password?: string;
  fleet?: FleetOptions | SimVm[];
  isos?: SimIso[];
  jobDurationMs?: number;
  /**
   * true: the attach records the `GuestTools::` tag sent in its systemTags (what the API reference
   * suggests); false (default): it ignores it, as the open sources do (zstack-api.md 4.1, 5.3).
   */
  recordVersionTag?: boolean;
  /**
   * Whether an attach to a VM that already has `guestToolsHasAttached` recreates it (a new createDate)
   * or keeps the first one (default). The sources do not say which (zstack-api.md 4.1); tests run both.
   */
  recreateAttachedTag?: boolean;
  /**
   * Keep the serialised reply of every successful query until the world changes, and answer the same
   * query again from it (the benchmark's "warm" variant: the simulator's own CPU out of the way).
   */
  cacheReplies?: boolean;
  guests?: GuestOptions;
  /** host:port put into async `location`; default the real listening address. */
  locationHost?: string;
  sessionTimeoutMs?: number;
  faults?: FaultOptions;
  /** AccessKeys the MN accepts (signed requests), besides password login. */
  accessKeys?: SimAccessKey[];
  /** false: no AccessKey module (a signed request gets 400 `unable to find RestAuthenticationBackend`). Default true. */
  accessKeyModule?: boolean;
  /** The MN's clock minus the real one, in ms: checks AccessKey Dates and is sent in every Date reply header. */
  clockSkewMs?: number;
  /** Behave as this release (X.Y.Z), e.g. '4.6.10' (no QueryGuestToolsState), '4.6.20' (field `state`). Default newest. */
  mnVersion?: string;
  /** false: no script library (every /v1/scripts path answers 404 `no api mapping`). Default: from 5.2.0 on. */
  scriptLibrary?: boolean;
  /** false: no DetachGuestToolsIsoFromVm (400 `the body doesn't contain action mapping to the URL[...]`). Default true. */
  detachApi?: boolean;
  scripts?: ScriptLibraryOptions;
}

export interface CallRecord {
  at: number;
  method: string;
  /** Path without the query string. */
  path: string;
  /** The raw query string (without '?'), when there was one. */
  query?: string;
  api: ApiName | 'Unknown';
  /** HTTP status; 0 when the socket was reset without an answer. */
  status: number;
  vmUuid?: string;
  jobUuid?: string;
  hostUuid?: string;
}

export interface AttachStarted {
  vmUuid: string;
  jobUuid: string;
  systemTags: string[];
  at: number;
  /** Set when the job failed (the MN said so: a ZStack error code); such an attach did not happen. */
  failedWith?: string;
  /** The GuestTools version of the ISO the MN mounted (its newest for the VM at that moment). */
  isoVersion?: string;
}

/** Which request to hold (Simulator.holdRequest). */
export interface RequestHoldSpec {
  api: ApiName;
  /** Matching requests to let through first (default 0: the next one is held). */
  skip?: number;
  /** Only requests this accepts count (e.g. one VM's attach). */
  match?: (call: CallRecord) => boolean;
}

export interface HeldRequest {
  /** Resolves when the request arrived and is being held (before it is handled). */
  reached: Promise<CallRecord>;
  /** Lets it go on: it is then handled on the world as it is at that moment. */
  release(): void;
}

export interface Simulator {
  readonly endpoint: string;
  readonly accountName: string;
  readonly password: string;
  readonly calls: CallRecord[];
  requestsByApi(): Record<string, number>;
  attachesStarted(): AttachStarted[];
  readonly attachInFlight: number;
  readonly maxAttachInFlight: number;
  maxAttachInFlightPerHost(): number;
  vm(uuid: string): SimVm | undefined;
  vms(): SimVm[];
  addVm(vm: SimVm): void;
  updateVm(uuid: string, patch: Partial<SimVm>): void;
  /** Deletes the VM with its CD-ROMs, tags and guest-tools row (a VM destroyed and expunged). */
  removeVm(uuid: string): void;
  setIsos(isos: SimIso[]): void;
  guestReport(vmUuid: string, version: string): void;
  setFaults(f: FaultOptions): void;
  /** Faults injected so far by kind (error, proxy, reset, timeout, spike, session-expired, stuck-job, attach-failed, restart). */
  faultsInjected(): Record<string, number>;
  /** Every session id the simulator issued (tests look for them where secrets must not appear). */
  sessionsIssued(): string[];
  restart(): void;
  expireSessions(): void;
  /** Moves every system tag's createDate back by `ms`: the MN as it would be that much later (tests let policy.reattachAfter pass). */
  ageTags(ms: number): void;
  /** Attach jobs finishing from now on stay running until releaseAttachJobs() (tests that need an attach in flight). */
  holdAttachJobs(): void;
  releaseAttachJobs(): void;
  /**
   * Holds one chosen request on arrival (a login a proxy sits on, the second page of a query) until the
   * test releases it, so the test can change the world in between; see src/sim/request-holds.ts.
   */
  holdRequest(spec: RequestHoldSpec): HeldRequest;
  /** What the guest shows (agent, installed version, CD-ROM 0, temp disk); undefined for an unknown VM. */
  guestView(uuid: string): SimGuestView | undefined;
  /** Every run of the GuestTools installer in a guest, in start order. */
  installerRuns(): InstallerRun[];
  /**
   * A person at the VM's console runs the installer from the GuestTools ISO in its CD-ROM (what ZStack's
   * UI tells them to do after an attach); throws when the VM is not Running or has no GuestTools ISO mounted.
   */
  installByHand(vmUuid: string): void;
  /** Every ExecuteGuestVmScript the MN accepted (a job was created; an ID.1001 refusal included, with failedWith), in order. */
  scriptExecutions(): ScriptExecution[];
  /** VMs on which a script started while another was still running there (the agent's per-VM script file was overwritten). */
  scriptOverlaps(): string[];
  /** Script runs ending from now on keep their details Running until releaseScripts() (an MN restart drops them). */
  holdScripts(): void;
  releaseScripts(): void;
  /** Installers reaching their end from now on wait (agent down, nothing reported) until releaseInstalls(). */
  holdInstalls(): void;
  releaseInstalls(): void;
  /** The release the simulator behaves as. */
  readonly mnVersion: string;
  setClockSkew(ms: number): void;
  setAccessKeyState(id: string, state: 'Enabled' | 'Disabled'): void;
  /** Every AccessKey signature received (the first 10,000), for tests that look for leaked secrets. */
  signaturesSeen(): string[];
  close(): Promise<void>;
}
