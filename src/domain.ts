// Shared vocabulary of the pipeline: what the catalog, the inventory, the plan and the ledger talk about.

export const AGENT_TYPES = ['WindowsOnKvm', 'LinuxOnKvm'] as const;
export type AgentType = (typeof AGENT_TYPES)[number];

export const ARCHITECTURES = ['x86_64', 'aarch64', 'mips64el', 'loongarch64'] as const;
type Architecture = (typeof ARCHITECTURES)[number];
/** An ISO's architecture: a real one, or `general` (serves every architecture). */
export type IsoArchitecture = Architecture | 'general';

/** Windows and WindowsVirtio take the Windows tools; every other platform the Linux tools, as the MN does. */
export function agentTypeForPlatform(platform: string | null | undefined): AgentType {
  return platform === 'Windows' || platform === 'WindowsVirtio' ? 'WindowsOnKvm' : 'LinuxOnKvm';
}

/** One VM as the inventory sees it: facts from QueryVmInstance, tags, and the guest's own report. */
export interface VmFacts {
  uuid: string;
  name: string;
  state: string;
  platform: string;
  /** null when the MN has none for the VM: never guessed (skip/unknown-architecture). */
  architecture: string | null;
  hypervisorType: string;
  type: string;
  zoneUuid: string | null;
  clusterUuid: string | null;
  hostUuid: string | null;
  hasCdRom: boolean;
  /** isoUuid of the image-store ISO in CD-ROM 0 (a user's ISO the attach would eject), else null. */
  cdRomIsoUuid: string | null;
  /** Values of every `GuestTools::` tag on the VM (normally at most one). */
  tagVersions: string[];
  /** The version the guest reports (QueryGuestToolsState, qgaState other than NotInstalled), else null. */
  reportedVersion: string | null;
  /** The guest agent runs (QueryGuestToolsState `qgaState` Running), whether or not it reported a version yet. */
  agentRunning: boolean;
  /** Other tags on the VM that include/exclude selectors may name. */
  tags: string[];
  /**
   * When the MN wrote the VM's `guestToolsHasAttached` tag (after an attach succeeded, by whichever node
   * or database), else null. A recent one means "recently attached" even when this ledger has no attach.
   */
  attachedAt: number | null;
  /** When the guest's installer last reported `GuestTools::InstallFailed` (the tag's createDate), else null. */
  installFailedAt: number | null;
}

/** One ISO-catalog target: the highest version per (agent type, ISO architecture). */
export interface CatalogTarget {
  agentType: AgentType;
  architecture: IsoArchitecture;
  version: string;
  iso: string;
}

/** VMs by current GuestTools version, platform and architecture, as one run observed them. */
export interface FleetRow {
  version: string | null;
  /**
   * Where the version comes from: the guest's own report (QueryGuestToolsState), a GuestTools:: tag this
   * reconciler did not send (the guest's installer or the MN wrote it), or only the tag this reconciler
   * sent with its last attach (zstack.recordVersionTag: no evidence). Absent in older runs.
   */
  source?: 'guest' | 'tag' | 'sent-tag' | null;
  platform: string;
  architecture: string;
  count: number;
}

/** How a finished run ended; the ledger also stores `running` for one in progress. */
export type RunStatus = 'succeeded' | 'partial' | 'failed' | 'halted' | 'noop' | 'dry-run' | 'interrupted';

/**
 * What became of an attach (and of the install in the guest that followed it in the same run, or of an
 * install/attached decision): `installing` (the installer was started; the evidence comes in a later
 * run), `install-failed` (the MN refused the script). The ledger also stores `pending` while a job is in doubt.
 */
export type Outcome = 'verified' | 'attached' | 'failed' | 'in-doubt' | 'not-started' | 'interrupted' | 'installing' | 'install-failed';
