// The benchmark's printed output: one table (reconciler next to the naive baseline), the ledger
// history line, and in --scale mode how time and memory grow with the fleet.
import { formatTable } from '../../src/text/table.js';

/** A report of figures: no cell is ever cut (the terminal tables cut names at 40 columns). */
const WHOLE = { wide: true };
import type { HistoryResult } from './history.js';
import type { NaiveResult } from './naive.js';

export interface RunFigures {
  vms: number;
  /** `cold`: the simulator builds every reply; `warm`: it answers from replies kept serialised (scripts/bench.ts). */
  variant: 'cold' | 'warm';
  /** node's own flags for the reconciler ('' for none). */
  nodeFlags: string;
  latencyMs: number;
  jobMs: number;
  pollMs: number;
  concurrency: number;
  status: string;
  attaches: number;
  attachesSeenBySimulator: number;
  succeeded: number;
  failed: number;
  /** Spawn to exit of `gtr reconcile`, including Node's start. */
  wallMs: number;
  /** Inside the reconciler, module load to exit. */
  runWallMs: number;
  requests: Record<string, number>;
  peakRssMb: number;
  planMs: number;
  sqliteMs: number;
  sqliteCalls: number;
  /** Disk syncs the start batches waited for (Ledger.synced), and their total wait from commit to on disk. */
  startSyncs: number;
  startSyncWaitMs: number;
  phasesMs: { inventory: number; recheck: number; apply: number; verify: number };
  /** The reads before apply, as the simulator saw them. */
  reads: ReadFigures;
  cpuMs: number;
  /** The reconciler's CPU during the apply phase. */
  applyCpuMs: number;
  /** The simulator's CPU while it answered the measured run. */
  simCpuMs: number;
  databaseBytes: number;
  /** Everything the reconciler measured (GTR_PROFILE_FILE), including time per ledger method. */
  profile: Record<string, number>;
  boundMs: number;
  readRequests: number;
  rounds: number;
  roundMs: number;
  baseline: NaiveResult | null;
  history: (HistoryResult & { retention: { retainDays: number; retainRuns: number }; churn: number }) | null;
}

export interface ReadFigures {
  /** Fleet-wide query requests (every page of every inventory query) and the VM pages among them. */
  inventoryRequests: number;
  inventoryPages: number;
  /** Requests of the re-read of the attach set, and its batches (`?=` uuid lists). */
  rereadRequests: number;
  rereadBatches: number;
}

const API_ORDER = ['LogInByAccount', 'QueryVmInstance', 'QueryVmCdRom', 'QuerySystemTag', 'QueryGuestToolsState',
  'GetLatestGuestToolsForVm', 'AttachGuestToolsIsoToVm', 'QueryJob', 'LogOut'];

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

/** CPU per 1,000 units, e.g. `812 ms`. */
function perThousand(cpuMs: number, units: number): string {
  return units === 0 ? '-' : `${Math.round((1000 * cpuMs) / units)} ms`;
}

function perUnit(requests: number, units: number, what: string): string {
  return units === 0 ? `- (${requests} requests, no ${what})` : `${(requests / units).toFixed(2)} (${requests} requests / ${units} ${what})`;
}

export function formatReport(f: RunFigures): string {
  const b = f.baseline;
  const apis = [...new Set([...API_ORDER, ...Object.keys(f.requests), ...Object.keys(b?.requests ?? {})])]
    .filter((api) => (f.requests[api] ?? 0) > 0 || (b?.requests[api] ?? 0) > 0);
  const baseLabel = b ? (b.extrapolated ? `naive loop (${b.sampled} of ${b.vms} VMs measured, extrapolated)` : 'naive loop (measured)') : 'naive loop';
  const na = '-';
  const rows: string[][] = [
    ['VMs', String(f.vms), b ? String(b.vms) : na],
    ['attaches', `${f.attaches} (simulator saw ${f.attachesSeenBySimulator}; ${f.succeeded} ok, ${f.failed} failed)`, b ? String(b.attaches) : na],
    ['wall time', `${s(f.wallMs)} (in process ${s(f.runWallMs)})`, b ? s(b.wallMs) : na],
    ['  inventory / re-read / apply / verify', `${s(f.phasesMs.inventory)} / ${s(f.phasesMs.recheck)} / ${s(f.phasesMs.apply)} / ${s(f.phasesMs.verify)}`, na],
    ['API requests', String(total(f.requests)), b ? String(total(b.requests)) : na],
    ...apis.map((api) => [`  ${api}`, String(f.requests[api] ?? 0), b ? String(b.requests[api] ?? 0) : na]),
    ['requests per inventory page', perUnit(f.reads.inventoryRequests, f.reads.inventoryPages, 'VM pages'), na],
    ['requests per re-read batch', perUnit(f.reads.rereadRequests, f.reads.rereadBatches, 'batches'), na],
    ['requests per VM', (total(f.requests) / f.vms).toFixed(3), b ? (total(b.requests) / b.vms).toFixed(3) : na],
    ['peak RSS (reconciler)', `${f.peakRssMb.toFixed(0)} MB`, na],
    ['CPU (reconciler / simulator)', `${s(f.cpuMs)} / ${s(f.simCpuMs)}`, na],
    ['reconciler CPU per 1,000 VMs', perThousand(f.cpuMs, f.vms), na],
    ['reconciler CPU per 1,000 attaches', `${perThousand(f.cpuMs, f.attaches)} (apply phase alone ${perThousand(f.applyCpuMs, f.attaches)})`, na],
    ['time in plan', `${f.planMs.toFixed(0)} ms`, na],
    ['time in SQLite', `${f.sqliteMs.toFixed(0)} ms (${f.sqliteCalls} ledger calls, ${(100 * f.sqliteMs / f.wallMs).toFixed(1)}% of wall)`, na],
    ['start batches on disk', `${f.startSyncs} disk syncs, ${f.startSyncs > 0 ? (f.startSyncWaitMs / f.startSyncs).toFixed(2) : '-'} ms from commit to on disk on average`, na],
    ['lower bound', `${s(f.boundMs)} = ${f.readRequests} reads x ${f.latencyMs} ms + ${f.rounds} rounds x ${f.roundMs} ms`, na],
    ['wall / bound', (f.wallMs / f.boundMs).toFixed(2), b ? (b.wallMs / f.boundMs).toFixed(1) : na],
    ['speed-up vs naive', b ? `${(b.wallMs / f.wallMs).toFixed(1)}x` : na, na],
  ];
  const head = `GuestTools reconcile benchmark (${f.variant} simulator): ${f.vms} VMs, latency ${f.latencyMs} ms/request, job ${f.jobMs} ms, ` +
    `concurrency ${f.concurrency}, job poll interval ${f.pollMs} ms, status ${f.status}\n` +
    `reconciler started as \`${['node', f.nodeFlags, 'bin/gtr.js reconcile --json'].filter(Boolean).join(' ')}\`\n\n`;
  let out = head + formatTable(['', 'gtr reconcile', baseLabel], rows, WHOLE) + '\n';
  const h = f.history;
  if (h) {
    out += `\nLedger after ${h.runs} half-hourly runs over the fleet (${h.churn} attaches per run after the first; ` +
      `retainDays ${h.retention.retainDays}, retainRuns ${h.retention.retainRuns}): ${h.runsKept} runs, ${h.decisionRows} decision rows ` +
      `(one row per VM per run would be ${h.untrimmedRows}), database ${mb(h.databaseBytes)} (${mb(h.freeBytes)} free pages), ` +
      `simulated in ${s(h.wallMs)}\n`;
  }
  return out;
}

/** One line per measured run: the cold and warm variants side by side. */
export function formatVariants(results: readonly RunFigures[]): string {
  const rows = results.map((r) => [
    r.vms, r.variant, Number((r.wallMs / 1000).toFixed(2)), Number((r.boundMs / 1000).toFixed(2)), Number((r.wallMs / r.boundMs).toFixed(2)),
    Number((r.cpuMs / 1000).toFixed(2)), Number((r.simCpuMs / 1000).toFixed(2)), perThousand(r.cpuMs, r.vms), perThousand(r.cpuMs, r.attaches),
    Math.round(r.peakRssMb), Math.round(r.sqliteMs),
  ]);
  return `\nBy simulator variant (warm: the simulator answers from replies kept serialised, so wall/bound reflects the reconciler):\n` +
    formatTable(['VMs', 'simulator', 'wall s', 'bound s', 'wall/bound', 'gtr CPU s', 'sim CPU s', 'gtr CPU / 1k VMs', 'gtr CPU / 1k attaches', 'peak RSS MB', 'SQLite ms'], rows, WHOLE) + '\n';
}

export function formatScale(results: readonly RunFigures[]): string {
  const first = results[0];
  const rows = results.map((r) => {
    // Growth against the smallest fleet measured with the same simulator variant.
    const base = results.find((x) => x.variant === r.variant) ?? first;
    return [
    r.vms, r.variant, r.attaches, Number((r.wallMs / 1000).toFixed(2)), Number((r.boundMs / 1000).toFixed(2)), Number((r.wallMs / r.boundMs).toFixed(2)),
    Math.round(r.peakRssMb), Math.round(r.planMs), Math.round(r.sqliteMs), total(r.requests),
    Number(((r.wallMs / base.wallMs) / (r.vms / base.vms)).toFixed(2)),
    ];
  });
  return `\nScale (growth relative to ${first.vms} VMs; 1.00 = linear):\n` +
    formatTable(['VMs', 'simulator', 'attaches', 'wall s', 'bound s', 'wall/bound', 'peak RSS MB', 'plan ms', 'SQLite ms', 'requests', 'wall growth / VM growth'], rows, WHOLE) + '\n';
}
