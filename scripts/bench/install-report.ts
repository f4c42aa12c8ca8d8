// The install scenario's figures and printed lines (`npm run bench -- --install`, issue 23 step 8):
// requests per VM and per installed VM, the wall time of both runs against its bound, and peak RSS.
import { formatTable } from '../../src/text/table.js';
import { REFRESH_PARALLEL } from '../../src/reconcile/install-evidence.js';

export interface InstallRun {
  status: string;
  wallMs: number;
  peakRssMb: number;
  requests: Record<string, number>;
}

export interface InstallBound {
  boundMs: number;
  /** Run 1: reads, attach rounds, and one round per execute batch (and the script's create). */
  run1Ms: number;
  /** Run 2: reads, UpdateGuestToolsState in groups of REFRESH_PARALLEL, detach rounds. */
  run2Ms: number;
  reads: number;
  attachRounds: number;
  batchRounds: number;
  refreshRounds: number;
  detachRounds: number;
  roundMs: number;
}

export interface InstallFigures {
  vms: number;
  latencyMs: number;
  jobMs: number;
  pollMs: number;
  concurrency: number;
  /** install.maxConcurrency: VMs per ExecuteGuestVmScript. */
  batch: number;
  settleMs: number;
  /** From the end of run 1 to the start of run 2 (the installers' end, then install.settle). */
  gapMs: number;
  attaches: number;
  installs: number;
  batches: number;
  verified: number;
  installFailed: number;
  noEvidence: number;
  detached: number;
  runs: [InstallRun, InstallRun];
  bound: InstallBound;
}

const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
/** The requests of installing and cleaning up: one per batch, per record, or per VM (the refresh and the detach). */
const INSTALL_APIS = ['CreateGuestVmScript', 'QueryGuestVmScript', 'ExecuteGuestVmScript', 'QueryGuestVmScriptExecutedRecord',
  'QueryGuestVmScriptExecutedRecordDetail', 'UpdateGuestToolsState', 'DetachGuestToolsIsoFromVm'];

/**
 * The lower bound: every read one after another at the API's latency; attach, execute and detach each
 * a round of (PUT + job + the one poll that sees it done), attaches and detaches policy.maxConcurrency
 * at a time and execute batches one at a time; UpdateGuestToolsState REFRESH_PARALLEL at a time; and
 * install.settle between the runs.
 */
export function installBound(f: Omit<InstallFigures, 'bound'>): InstallBound {
  const [r1, r2] = f.runs.map((r) => r.requests);
  const n = (r: Record<string, number>, api: string) => r[api] ?? 0;
  const reads1 = total(r1) - n(r1, 'AttachGuestToolsIsoToVm') - n(r1, 'QueryJob') - n(r1, 'ExecuteGuestVmScript') - n(r1, 'CreateGuestVmScript');
  const reads2 = total(r2) - n(r2, 'QueryJob') - n(r2, 'DetachGuestToolsIsoFromVm') - n(r2, 'UpdateGuestToolsState');
  const roundMs = f.latencyMs + f.jobMs + f.latencyMs;
  const attachRounds = Math.ceil(f.attaches / f.concurrency);
  const batchRounds = f.batches + n(r1, 'CreateGuestVmScript');
  const refreshRounds = Math.ceil(n(r2, 'UpdateGuestToolsState') / REFRESH_PARALLEL);
  const detachRounds = Math.ceil(f.detached / f.concurrency);
  const run1Ms = reads1 * f.latencyMs + (attachRounds + batchRounds) * roundMs;
  const run2Ms = reads2 * f.latencyMs + refreshRounds * f.latencyMs + detachRounds * roundMs;
  return { boundMs: run1Ms + f.settleMs + run2Ms, run1Ms, run2Ms, reads: reads1 + reads2, attachRounds, batchRounds, refreshRounds, detachRounds, roundMs };
}

export function formatInstall(f: InstallFigures): string {
  const [r1, r2] = f.runs;
  const apis = [...new Set([...Object.keys(r1.requests), ...Object.keys(r2.requests)])].filter((api) => (r1.requests[api] ?? 0) + (r2.requests[api] ?? 0) > 0).sort();
  const perInstalled = (count: number) => (f.installs === 0 ? '-' : (count / f.installs).toFixed(3));
  const rows = apis.map((api) => [api, r1.requests[api] ?? 0, r2.requests[api] ?? 0, perInstalled((r1.requests[api] ?? 0) + (r2.requests[api] ?? 0))]);
  const all = total(r1.requests) + total(r2.requests);
  const installRequests = INSTALL_APIS.reduce((sum, api) => sum + (r1.requests[api] ?? 0) + (r2.requests[api] ?? 0), 0);
  const wallMs = r1.wallMs + f.gapMs + r2.wallMs;
  const b = f.bound;
  return [
    `GuestTools install benchmark (cold simulator): ${f.vms} VMs, every Linux guest agent running, latency ${f.latencyMs} ms/request, job ${f.jobMs} ms, `
      + `concurrency ${f.concurrency}, install.maxConcurrency ${f.batch}, install.settle ${f.settleMs} ms`,
    `attaches ${f.attaches}; installs started ${f.installs} in ${f.batches} batches; run 2: verified ${f.verified}, install-failed ${f.installFailed}, `
      + `no-evidence ${f.noEvidence}, detached ${f.detached}; runs ${r1.status}, ${r2.status}`,
    '',
    formatTable(['API', 'run 1', 'run 2', 'per installed VM'], rows),
    '',
    `requests per VM (both runs): ${(all / f.vms).toFixed(3)} (${all} requests / ${f.vms} VMs)`,
    `install and clean-up requests per installed VM: ${perInstalled(installRequests)} (${installRequests} requests / ${f.installs} installs; `
      + `ExecuteGuestVmScript ${perInstalled((r1.requests.ExecuteGuestVmScript ?? 0))} = one per batch of ${f.batch}, records and details per batch, `
      + 'one UpdateGuestToolsState and one detach per VM: the same at any fleet size)',
    `wall time: ${s(wallMs)} = run 1 ${s(r1.wallMs)} + ${s(f.gapMs)} between (the installers, install.settle) + run 2 ${s(r2.wallMs)}`,
    `lower bound: ${s(b.boundMs)} = run 1 ${s(b.run1Ms)} (${b.attachRounds} attach rounds + ${b.batchRounds} batch rounds x ${b.roundMs} ms, reads) `
      + `+ install.settle ${s(f.settleMs)} + run 2 ${s(b.run2Ms)} (${b.refreshRounds} refresh rounds x ${f.latencyMs} ms + ${b.detachRounds} detach rounds x ${b.roundMs} ms, reads); `
      + `${b.reads} reads x ${f.latencyMs} ms in all`,
    `wall / bound: ${(wallMs / b.boundMs).toFixed(2)}`,
    `peak RSS (reconciler): run 1 ${r1.peakRssMb.toFixed(0)} MB, run 2 ${r2.peakRssMb.toFixed(0)} MB`,
    '',
  ].join('\n');
}
