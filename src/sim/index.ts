// The ZStack management-node simulator used by tests, the demo and the benchmark.
export { startSimulator } from './simulator.js';
export { generateFleet } from './fleet.js';
export { writeIsoDir } from './iso-dir.js';
export { runSimCommand } from './cli.js';
export type { ApiName, AttachStarted, CallRecord, FaultOptions, SimIso, SimOptions, SimVm, Simulator } from './types.js';
