// The crash soak (issues 7 and 19): many `gtr reconcile` runs against a simulator with seeded faults,
// most of them killed with SIGKILL at a random point and restarted, with new work appearing between
// runs (new VMs, a new GuestTools version), the odd management-node restart, sessions expiring under
// attach jobs (the re-send path), the fleet changing while it is paged (CD-ROMs and user ISOs come and
// go, VMs appear and vanish), and a second run started beside the first with its clock stepped ahead
// (Debian's faketime), sometimes as another node sharing the database (its own host name: unshare
// --uts), which takes the lease over and must fence the first. At the end: one clean run, then the
// invariants against the simulator's record and the ledger. Seeded and bounded.
// SOAK_DEBUG=1 prints, for each duplicate found, its simulator calls and ledger rows.
import { spawn } from 'node:child_process';
import { startSimulator, writeIsoDir, type FaultOptions, type SimIso, type Simulator } from '../../src/sim/index.js';
import { mulberry32, type Rng } from '../../src/sim/rng.js';
import { cleanEnv, DEFAULT_ISOS, GTR, simConfig, waitFor, workspace, type CliResult } from '../../test/helpers/cli.js';
import { checkExit, checkInvariants, ledgerFacts, outdatedFleet } from '../../test/helpers/fault.js';

export interface SoakOptions {
  iterations: number;
  seed: number;
  /** VMs at the start; a few are added now and then. */
  vms?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  seed: number;
  iterations: number;
  runs: number;
  crashesSurvived: number;
  restarts: number;
  /** Second runs started beside the first: clock ahead on this host, and as another node. */
  overlaps: Record<Exclude<Overlap, 'none'>, number>;
  /** Changes of the fleet made while runs read it, by kind. */
  churn: Record<string, number>;
  faultsInjected: Record<string, number>;
  faultsTotal: number;
  attaches: number;
  duplicateAttaches: string[];
  /** Runs not in a terminal status, or whose printed status differs from the ledger's. */
  lostOrNonTerminalRuns: string[];
  /** Attaches the simulator ran that the ledger has no job uuid for. */
  unrecordedAttaches: string[];
  pendingAttaches: number;
  /** Exit codes outside the documented ones, stack traces, internal errors. */
  problems: string[];
  exitCodes: Record<string, number>;
}

const APIS = ['LogInByAccount', 'QueryVmInstance', 'QueryVmCdRom', 'QuerySystemTag', 'QueryGuestToolsState',
  'AttachGuestToolsIsoToVm', 'GetLatestGuestToolsForVm', 'QueryJob'] as const;

/** A random mix of faults for one iteration, drawn from the soak's seeded generator. */
function faultsFor(rng: Rng): FaultOptions {
  const rates = (max: number) => Object.fromEntries(APIS.map((api) => [api, rng() < 0.5 ? rng() * max : 0]));
  const f: FaultOptions = { seed: Math.floor(rng() * 2 ** 31) };
  if (rng() < 0.5) f.errorRates = rates(0.05);
  if (rng() < 0.6) f.proxyErrorRates = rates(0.12);
  if (rng() < 0.6) f.resetRates = rates(0.12);
  if (rng() < 0.4) f.timeoutRates = rates(0.06);
  if (rng() < 0.4) Object.assign(f, { spikeRate: 0.1, spikeMs: 200 + Math.floor(rng() * 600) });
  if (rng() < 0.4) f.sessionExpireRate = rng() * 0.08;
  if (rng() < 0.3) f.stuckJobRate = rng() * 0.1;
  if (rng() < 0.3) f.attachFailRate = rng() * 0.15;
  if (rng() < 0.5) f.latencyMs = Math.floor(rng() * 20);
  if (rng() < 0.4) f.attachSessionExpireRate = rng() * 0.3;
  return f;
}

/** How a second, overlapping run is started, if at all: with its clock ahead, maybe from "another node". */
type Overlap = 'none' | 'clock-ahead' | 'other-node';

const FAKETIME = ['faketime', '-f', '+120s'];
const OTHER_NODE = ['unshare', '--uts', 'sh', '-c', 'hostname gtr-soak-other && exec "$@"', 'sh'];

/** One random change of the fleet while it is read: a user ISO in or out, a CD-ROM gone, a VM created or deleted. */
function churn(sim: Simulator, rng: Rng, nextVm: () => number): string {
  const vms = sim.vms();
  const vm = vms[Math.floor(rng() * vms.length)];
  const pick = rng();
  if (!vm || pick < 0.2) {
    const [created] = outdatedFleet(1, 8, { first: nextVm() });
    sim.addVm(created);
    return 'vm-created';
  }
  if (pick < 0.45) {
    sim.updateVm(vm.uuid, { cdRomIsoUuid: vm.cdRomIsoUuid ? null : `${'e'.repeat(24)}${vm.uuid.slice(0, 8)}` });
    return 'user-iso-toggled';
  }
  if (pick < 0.6) {
    sim.updateVm(vm.uuid, { cdRoms: vm.cdRoms > 0 ? 0 : 1 });
    return 'cdrom-toggled';
  }
  if (pick < 0.7) {
    sim.removeVm(vm.uuid);
    return 'vm-deleted';
  }
  return 'none';
}

function spawnRun(config: string, overlap: Overlap = 'none'): { done: Promise<CliResult & { signal: string | null }>; kill(): void; exited(): boolean } {
  const wrapper = overlap === 'other-node' ? [...OTHER_NODE, ...FAKETIME] : overlap === 'clock-ahead' ? FAKETIME : [];
  const argv = [...wrapper, process.execPath, GTR, 'reconcile', '--config', config, '--json'];
  const child = spawn(argv[0], argv.slice(1), { env: { ...cleanEnv(), FAKETIME_DONT_FAKE_MONOTONIC: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const done = new Promise<CliResult & { signal: string | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { done, kill: () => child.kill('SIGKILL'), exited: () => child.exitCode !== null || child.signalCode !== null };
}

export async function runCrashSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const rng = mulberry32(opts.seed);
  // The fleet churn draws from its own generator: it runs on a timer, so how often it draws depends on
  // timing, and sharing the main generator would make each iteration's plan (faults, overlap, kill mode)
  // depend on the machine's load.
  const churnRng = mulberry32(opts.seed ^ 0x5eed);
  let isoVersion = [1, 2, 0];
  const isosOf = (v: number[]): SimIso[] => DEFAULT_ISOS.map((i) => ({ ...i, version: v.join('.') }));
  const sim: Simulator = await startSimulator({
    fleet: outdatedFleet(opts.vms ?? 40, 8),
    isos: isosOf(isoVersion),
    jobDurationMs: 120,
    guests: { installShare: 1, seed: opts.seed },
  });
  const ws = await workspace(isosOf(isoVersion));
  const result: SoakResult = {
    seed: opts.seed, iterations: opts.iterations, runs: 0, crashesSurvived: 0, restarts: 0, overlaps: { 'clock-ahead': 0, 'other-node': 0 }, churn: {}, faultsInjected: {}, faultsTotal: 0,
    attaches: 0, duplicateAttaches: [], lostOrNonTerminalRuns: [], unrecordedAttaches: [], pendingAttaches: 0, problems: [], exitCodes: {},
  };
  const printed = new Map<number, string>();
  let nextVm = 1000;
  let churnVm = 100_000;
  try {
    const config = ws.writeConfig(simConfig(ws, sim, {
      zstack: { requestTimeoutMs: 600, jobPollIntervalMs: 20, jobTimeoutMs: 2500 },
      policy: { maxConcurrency: 6, maxPerHost: 2, maxErrors: '50%', quarantineAfter: 2 },
    }));
    const finished = (r: CliResult & { signal: string | null }, label: string) => {
      result.runs++;
      const key = r.signal ?? String(r.code);
      result.exitCodes[key] = (result.exitCodes[key] ?? 0) + 1;
      if (r.signal) return;
      try {
        // 5: a second run found the lease held, or a run lost it to the other node.
        checkExit(r, [0, 1, 3, 4, 5]);
      } catch (e) {
        result.problems.push(`${label}: ${e instanceof Error ? e.message.slice(0, 400) : String(e)}`);
      }
      if (r.stdout.trim().startsWith('{')) {
        const report = JSON.parse(r.stdout) as { runId: number; status: string };
        printed.set(report.runId, report.status);
      }
    };

    for (let i = 0; i < opts.iterations; i++) {
      const mode = rng();
      // Half the kills hold the attach jobs running until the kill: the run is then certainly still
      // waiting on the MN when it is killed, whatever the machine's speed (a fast run would otherwise
      // often end before its kill point). Such an iteration always has new work, so it does attach.
      const holdJobs = mode < 0.35;
      // New work between runs: VMs appear, and now and then a new GuestTools version ships.
      if (holdJobs || rng() < 0.5) {
        for (const vm of outdatedFleet(1 + Math.floor(rng() * 4), 8, { first: nextVm })) sim.addVm(vm);
        nextVm += 10;
      }
      if (rng() < 0.12) {
        isoVersion = [isoVersion[0], isoVersion[1] + 1, 0];
        await writeIsoDir(ws.isoDir, isosOf(isoVersion));
        sim.setIsos(isosOf(isoVersion));
      }
      const faults = faultsFor(rng);
      sim.setFaults(faults);
      const before = sim.attachesStarted().length;
      const run = spawnRun(config);
      // Fleet churn while the run pages through it (and after): every few milliseconds, now and then.
      const churning = rng() < 0.5;
      const churner = churning
        ? setInterval(() => {
            if (churnRng() < 0.3) {
              const kind = churn(sim, churnRng, () => (churnVm += 1));
              result.churn[kind] = (result.churn[kind] ?? 0) + 1;
            }
          }, 5)
        : null;
      // A second run beside it, its clock two minutes ahead: on this host it must find the lease held
      // (the first still runs); as another node sharing the database it takes the lease over, and the
      // first must start nothing more (exit 5).
      const overlapDraw = rng();
      const overlap: Overlap = overlapDraw < 0.15 ? 'clock-ahead' : overlapDraw < 0.3 ? 'other-node' : 'none';
      let second: ReturnType<typeof spawnRun> | null = null;
      if (overlap !== 'none') {
        const callsBefore = sim.calls.length;
        await waitFor('the first run to reach the MN', () => run.exited() || sim.calls.length > callsBefore, 60_000, 5);
        second = spawnRun(config, overlap);
        result.overlaps[overlap]++;
      }
      if (mode < 0.7) {
        // Kill at a random point: a random delay after the run's first request (not after the spawn: a
        // slow start on a busy machine would otherwise kill runs before they reach the MN), or once a
        // random number of attaches started. Held jobs stay running for longer than the longest delay
        // and shorter than the run's job timeout, so the run is still polling them.
        const delayMs = 100 + Math.floor(rng() * 1500);
        const afterAttaches = 1 + Math.floor(rng() * 5);
        if (holdJobs) sim.holdAttachJobs();
        const callsBefore = sim.calls.length;
        await waitFor('the run to reach the MN', () => run.exited() || sim.calls.length > callsBefore, 60_000, 5);
        const deadline = Date.now() + delayMs;
        await waitFor('a kill point', () => run.exited() || Date.now() >= deadline || sim.attachesStarted().length - before >= afterAttaches, 10_000, 5);
        if (!run.exited()) {
          run.kill();
          result.crashesSurvived++;
        }
        if (holdJobs) {
          await run.done;
          sim.releaseAttachJobs();
        }
      } else if (mode < 0.8) {
        // A management-node restart in the middle of the run.
        await waitFor('attaches to start', () => run.exited() || sim.attachesStarted().length > before, 10_000, 5);
        sim.restart();
        result.restarts++;
      }
      const r = await run.done;
      finished(r, `iteration ${i + 1}`);
      const r2 = second ? await second.done : null;
      if (r2) finished(r2, `iteration ${i + 1} (${overlap})`);
      if (churner) clearInterval(churner);
      const also = r2 ? `; ${overlap} run: ${r2.signal ? `killed (${r2.signal})` : `exit ${r2.code}`}` : '';
      log(`iteration ${i + 1}/${opts.iterations}${holdJobs ? ' (attach jobs held)' : ''}: ${r.signal ? `killed (${r.signal})` : `exit ${r.code}`}${also}, attaches ${sim.attachesStarted().length - before}`);
    }

    // Settle: no faults, one run that also resolves what the last crash left in doubt. A stuck job
    // (stuckJobRate) stays running until an MN restart drops it, and a job still running is rightly left
    // in doubt by the replay: so the MN restarts first and the replay then finds every job ended or lost
    // (lost: in doubt, resolved). Without it, "left in doubt" hung on whether a stuck job was drawn.
    const injected = sim.faultsInjected();
    sim.setFaults({});
    sim.restart();
    const clean = await spawnRun(config).done;
    finished(clean, 'final clean run');
    if (clean.code !== 0 && clean.code !== 1 && clean.code !== 4) result.problems.push(`final clean run exited ${clean.code}: ${clean.stderr.slice(0, 400)}`);

    const attaches = sim.attachesStarted();
    const inv = checkInvariants(attaches, ws.database);
    if (process.env.SOAK_DEBUG && inv.duplicates.length > 0) {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(ws.database, { readonly: true });
      for (const d of inv.duplicates) {
        const vm = d.split('@')[0];
        log(`${d}: sim ${JSON.stringify(attaches.filter((a) => a.vmUuid === vm).map((a) => [a.jobUuid.slice(0, 8), a.at]))}`);
        const jobs = new Set(attaches.filter((a) => a.vmUuid === vm).map((a) => a.jobUuid));
        log(`  calls ${JSON.stringify(sim.calls.filter((c) => (c.jobUuid && jobs.has(c.jobUuid)) || c.vmUuid === vm).map((c) => [c.api, c.jobUuid?.slice(0, 8), c.status, c.at]))}`);
        log(`  ledger ${JSON.stringify(db.prepare('SELECT run_id, action, reason, target_version AS tgt, outcome, job_uuid, error_code, started_at, finished_at FROM decisions WHERE vm_uuid = ?').all(vm))}`);
      }
      log(JSON.stringify(db.prepare('SELECT id, status, started_at, finished_at, message FROM runs').all()));
      db.close();
    }
    const facts = ledgerFacts(ws.database);
    const ledgerStatus = new Map(facts.runs.map((r) => [r.id, r.status]));
    result.faultsInjected = injected;
    result.faultsTotal = Object.values(injected).reduce((a, b) => a + b, 0);
    result.attaches = attaches.length;
    result.duplicateAttaches = inv.duplicates;
    result.unrecordedAttaches = inv.unrecorded;
    result.pendingAttaches = inv.pending;
    result.lostOrNonTerminalRuns = [
      ...inv.nonTerminalRuns.map((id) => `run ${id} still ${ledgerStatus.get(id)}`),
      ...[...printed].filter(([id, status]) => ledgerStatus.get(id) !== status).map(([id, status]) => `run ${id} printed ${status}, ledger has ${ledgerStatus.get(id) ?? 'nothing'}`),
    ];
    return result;
  } finally {
    await sim.close();
    ws.cleanup();
  }
}

/** The figures, one per line, for the console. */
export function formatSoak(r: SoakResult): string {
  const faults = Object.entries(r.faultsInjected).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    `crash soak, seed ${r.seed}, ${r.iterations} iterations`,
    `faults injected:          ${r.faultsTotal} (${faults || 'none'})`,
    `runs:                     ${r.runs} (exit codes: ${Object.entries(r.exitCodes).map(([k, n]) => `${k} x${n}`).join(', ')})`,
    `crashes survived:         ${r.crashesSurvived} (kill -9), management-node restarts: ${r.restarts}`,
    `overlapping runs:         clock 120 s ahead ${r.overlaps['clock-ahead']}, as another node ${r.overlaps['other-node']}`,
    `fleet churn while paged:  ${Object.entries(r.churn).filter(([k]) => k !== 'none').map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`,
    `attaches started:         ${r.attaches}`,
    `duplicate attaches:       ${r.duplicateAttaches.length}${r.duplicateAttaches.length ? ` ${r.duplicateAttaches.slice(0, 10).join('; ')}` : ''}`,
    `lost or non-terminal runs: ${r.lostOrNonTerminalRuns.length}${r.lostOrNonTerminalRuns.length ? ` ${r.lostOrNonTerminalRuns.slice(0, 10).join('; ')}` : ''}`,
    `unrecorded attaches:      ${r.unrecordedAttaches.length}`,
    `attaches left in doubt:   ${r.pendingAttaches}`,
    `other problems:           ${r.problems.length}${r.problems.length ? `\n  ${r.problems.slice(0, 10).join('\n  ')}` : ''}`,
  ].join('\n');
}

/** True when every invariant held. */
export function soakPassed(r: SoakResult): boolean {
  return r.duplicateAttaches.length === 0 && r.lostOrNonTerminalRuns.length === 0 && r.unrecordedAttaches.length === 0
    && r.pendingAttaches === 0 && r.problems.length === 0;
}
