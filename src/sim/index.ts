// The ZStack management-node simulator used by tests, the demo and the benchmark.
export { startSimulator } from './simulator.js';
export { generateFleet } from './fleet.js';
export { writeIsoDir } from './iso-dir.js';
export { runSimCommand } from './cli.js';
export type {
  ApiName, AttachStarted, CallRecord, FaultOptions, FleetOptions, GuestOptions, QgaState, SimGuest, SimIso,
  SimAccessKey, SimOptions, RequestHoldSpec, HeldRequest, SimUserTag, SimVm, Simulator,
  InstallerRun, ScriptExecution, ScriptLibraryOptions, ScriptStatusPreset, ScriptStatusSpelling, SimGuestView,
} from './types.js';
export { SCRIPT_STATUS_PRESETS } from './script-store.js';
export { LINUX_INSTALLER } from './guest-os.js';
