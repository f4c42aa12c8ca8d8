// `npm run bench`: `gtr reconcile` against a simulated 100k-VM management node, next to a naive loop,
// with the lower bound the API allows. The simulator runs in a child process (scripts/bench/sim-child.ts)
// and the reconciler is the real CLI (bin/gtr.js over dist/), so each has a core of this 2-core machine
// and neither's CPU is billed to the other. The reconciler measures itself (src/profile/profile.ts,
// GTR_PROFILE_FILE): time in plan, time in the ledger (SQLite), peak RSS.
// Usage: node --import tsx scripts/bench.ts [--vms N] [--latency MS] [--job-ms MS] [--concurrency N]
//        [--poll-ms MS] [--scale] [--baseline-sample N] [--history-runs N] [--sim cold|warm|both] [--out FILE]
//        [--node-flags 'FLAGS']
// --node-flags: node's own flags for the reconciler; default those the installed gtr runs with (its
// launcher's, scripts/bundle/node-flags.mjs), '' for node's defaults.
// --sim: `cold` is the simulator as it is (it builds and serialises every page it is asked for: its CPU
// shares the machine with the reconciler's); `warm` first runs `gtr plan` on a throw-away database so
// the simulator keeps every query reply serialised (SimOptions.cacheReplies), then measures `gtr
// reconcile` against it: the simulator is not the bottleneck, so wall/bound reflects the reconciler.
// `both` (default) measures cold, then warm.
// --install: the install scenario instead (issue 23 step 8, cold simulator): every Linux VM's guest agent
// runs; run 1 attaches and starts the installers in batches of --install-batch (install.maxConcurrency),
// install.settle (--install-settle MS) later run 2 reads the guests' evidence and detaches. It prints the
// requests per VM and per installed VM, the wall time of both runs against a bound that adds the settle
// time and the batch calls, and the peak RSS (scripts/bench/install-report.ts).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeIsoDir } from '../src/sim/index.js';
import { DEFAULT_ISOS } from '../src/sim/world.js';
import { simulateHistory, type HistoryAction, type HistoryResult } from './bench/history.js';
import { runNaive, type NaiveResult } from './bench/naive.js';
import { formatReport, formatScale, formatVariants, type ReadFigures, type RunFigures } from './bench/report.js';
import { formatInstall, installBound, type InstallFigures } from './bench/install-report.js';
import { NODE_FLAGS } from './bundle/node-flags.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

const { values } = parseArgs({
  options: {
    vms: { type: 'string', default: '100000' },
    latency: { type: 'string', default: '2' },
    'job-ms': { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '50' },
    'poll-ms': { type: 'string' },
    scale: { type: 'boolean', default: false },
    'baseline-sample': { type: 'string', default: '1000' },
    'history-runs': { type: 'string', default: '1000' },
    'history-churn': { type: 'string', default: '20' },
    sim: { type: 'string', default: 'both' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
    install: { type: 'boolean', default: false },
    'install-batch': { type: 'string', default: '50' },
    'install-settle': { type: 'string', default: '5000' },
    'node-flags': { type: 'string', default: NODE_FLAGS.join(' ') },
  },
});

function int(name: keyof typeof values, min: number): number {
  const raw = values[name];
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < min) {
    console.error(`bench: --${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const latencyMs = int('latency', 0);
const jobMs = int('job-ms', 0);
const concurrency = int('concurrency', 1);
// One poll per job when the interval matches the job duration (see docs/performance.md).
const pollMs = values['poll-ms'] === undefined ? Math.max(1, jobMs) : int('poll-ms', 1);
const sizes = values.scale ? [10_000, 50_000, 100_000, 250_000] : [int('vms', 1)];
const baselineSample = int('baseline-sample', 0);
const historyRuns = int('history-runs', 0);
const historyChurn = int('history-churn', 0);
const nodeFlags = (values['node-flags'] ?? '').split(' ').filter(Boolean);
type Variant = 'cold' | 'warm';
const variants: Variant[] = values.sim === 'both' ? ['cold', 'warm'] : values.sim === 'cold' || values.sim === 'warm' ? [values.sim] : [];
if (variants.length === 0) {
  console.error(`bench: --sim must be cold, warm or both, got ${JSON.stringify(values.sim)}`);
  process.exit(2);
}
// 20% of the fleet out of date AND eligible: about 3 in 4 outdated VMs are running KVM user VMs with a CD-ROM.
const OUTDATED_SHARE = 0.265;

interface SimChild {
  proc: ChildProcess;
  endpoint: string;
  accountName: string;
  password: string;
}

function startSim(vms: number, cacheReplies = false, install = false): Promise<SimChild> {
  const proc = fork(join(root, 'scripts/bench/sim-child.ts'), [JSON.stringify({ vms, seed: 1, latencyMs, jobMs, outdatedShare: OUTDATED_SHARE, cacheReplies, install })], {
    execArgv: ['--import', 'tsx', '--max-old-space-size=4096', ...(process.env.BENCH_SIM_NODE_ARGS ?? '').split(' ').filter(Boolean)],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`simulator exited with code ${code}`)));
    proc.once('message', (m) => {
      const msg = m as { endpoint: string; accountName: string; password: string };
      resolve({ proc, endpoint: msg.endpoint, accountName: msg.accountName, password: msg.password });
    });
  });
}

function ask<T>(sim: SimChild, what: string): Promise<T> {
  return new Promise((resolve) => {
    sim.proc.once('message', (m) => resolve(m as T));
    sim.proc.send(what);
  });
}

function stopSim(sim: SimChild): Promise<void> {
  return new Promise((resolve) => {
    sim.proc.removeAllListeners('exit');
    sim.proc.once('exit', () => resolve());
    sim.proc.send('close');
  });
}

interface ReconcileJson {
  status: string;
  counts: Record<string, number>;
  actions: HistoryAction[];
  stages?: { install: { started: number; batches: number; verified: number; installFailed: number; noEvidence: number }; detach: { detached: number } };
}

function runGtr(config: string, profileFile: string, command: 'reconcile' | 'plan' = 'reconcile'): Promise<{ code: number; stdout: string; stderr: string; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // BENCH_GTR_NODE_ARGS, e.g. '--cpu-prof --cpu-prof-dir=prof', profiles the reconciler.
    const nodeArgs = [...nodeFlags, ...(process.env.BENCH_GTR_NODE_ARGS ?? '').split(' ').filter(Boolean)];
    const child = spawn(process.execPath, [...nodeArgs, join(root, 'bin/gtr.js'), command, '--json', '--config', config], {
      env: { ...process.env, GTR_PROFILE_FILE: profileFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({
      code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), wallMs: performance.now() - t0,
    }));
  });
}

function readProfile(file: string): Record<string, number> {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const parsed = JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v === 'number') out[k] = v;
    else if (typeof v === 'object' && v !== null) for (const [k2, v2] of Object.entries(v)) if (typeof v2 === 'number') out[`${k}.${k2}`] = v2;
  }
  return out;
}

/** The lower bound: every read request at the API's latency, one after another, plus
 *  ceil(attaches / concurrency) rounds of (attach PUT + job + the one poll that sees it done). */
function lowerBoundMs(requests: Record<string, number>, attaches: number): { boundMs: number; readRequests: number; rounds: number; roundMs: number } {
  const total = Object.values(requests).reduce((a, b) => a + b, 0);
  const readRequests = total - (requests.AttachGuestToolsIsoToVm ?? 0) - (requests.QueryJob ?? 0);
  const rounds = Math.ceil(attaches / concurrency);
  const roundMs = latencyMs + jobMs + latencyMs;
  return { boundMs: readRequests * latencyMs + rounds * roundMs, readRequests, rounds, roundMs };
}

async function benchOne(vms: number, variant: Variant, withBaseline: boolean, withHistory: boolean, work: string): Promise<RunFigures> {
  const dir = join(work, `vms-${vms}-${variant}`);
  mkdirSync(dir, { recursive: true });
  const isoDir = join(dir, 'zstack-dvd');
  await writeIsoDir(isoDir, DEFAULT_ISOS);
  const database = join(dir, 'state.db');
  const profileFile = join(dir, 'profile.jsonl');

  process.stderr.write(`bench: ${vms} VMs: starting the simulator...\n`);
  let sim = await startSim(vms, variant === 'warm');
  const writeConfig = (file: string, db: string) => writeFileSync(file, JSON.stringify({
    zstack: { endpoint: sim.endpoint, accountName: sim.accountName, password: sim.password, jobPollIntervalMs: pollMs, pageSize: 1000 },
    isoDir,
    database: db,
    policy: { maxConcurrency: concurrency, maxPerHost: 1_000_000, maxErrors: '100%' },
    log: { level: 'warn' },
  }), { mode: 0o600 });
  const config = join(dir, 'config.json');
  writeConfig(config, database);
  if (variant === 'warm') {
    // The same reads on a throw-away database: the measured run's ledger starts as empty as the cold one's.
    process.stderr.write(`bench: ${vms} VMs: warming the simulator's replies (gtr plan on another database)...\n`);
    const warmConfig = join(dir, 'warm-config.json');
    writeConfig(warmConfig, join(dir, 'warm.db'));
    const warm = await runGtr(warmConfig, join(dir, 'warm-profile.jsonl'), 'plan');
    if (warm.code !== 0) throw new Error(`gtr plan exited ${warm.code}: ${warm.stderr.slice(0, 2000)}`);
  }
  // The simulator's request log and CPU count from here.
  await ask(sim, 'reset');

  process.stderr.write(`bench: ${vms} VMs (${variant} simulator): gtr reconcile --json...\n`);
  const run = await runGtr(config, profileFile);
  if (run.code !== 0 && run.code !== 1) throw new Error(`gtr reconcile exited ${run.code}: ${run.stderr.slice(0, 2000)}`);
  const report = JSON.parse(run.stdout) as ReconcileJson;
  const simStats = await ask<{ requestsByApi: Record<string, number>; attaches: number; reads: ReadFigures; cpuMs: number }>(sim, 'stats');
  await stopSim(sim);
  const profile = readProfile(profileFile);
  const attaches = report.counts.attach ?? 0;
  const bound = lowerBoundMs(simStats.requestsByApi, attaches);
  const figures: RunFigures = {
    vms,
    variant,
    nodeFlags: nodeFlags.join(' '),
    latencyMs,
    jobMs,
    pollMs,
    concurrency,
    status: report.status,
    attaches,
    attachesSeenBySimulator: simStats.attaches,
    succeeded: report.counts.succeeded ?? 0,
    failed: report.counts.failed ?? 0,
    wallMs: run.wallMs,
    runWallMs: profile.wallMs ?? run.wallMs,
    requests: simStats.requestsByApi,
    peakRssMb: profile.peakRssMb ?? 0,
    planMs: profile.planMs ?? 0,
    sqliteMs: profile.sqliteMs ?? 0,
    sqliteCalls: profile.sqliteCalls ?? 0,
    startSyncs: profile['sqlite.synced.waitCalls'] ?? 0,
    startSyncWaitMs: profile['sqlite.synced.waitMs'] ?? 0,
    phasesMs: { inventory: profile.inventoryMs ?? 0, recheck: profile.recheckMs ?? 0, apply: profile.applyMs ?? 0, verify: profile.verifyMs ?? 0 },
    reads: simStats.reads,
    cpuMs: (profile.cpuUserMs ?? 0) + (profile.cpuSystemMs ?? 0),
    applyCpuMs: profile['cpuMsIn.apply'] ?? 0,
    simCpuMs: simStats.cpuMs,
    databaseBytes: statSync(database).size,
    profile,
    ...bound,
    baseline: null,
    history: null,
  };

  if (withBaseline) {
    process.stderr.write(`bench: ${vms} VMs: naive baseline on a fresh simulator (sample ${Math.min(baselineSample, vms)} VMs)...\n`);
    sim = await startSim(vms);
    const attachSet = new Set(report.actions.filter((a) => a.action === 'attach').map((a) => a.vmUuid));
    let naive: NaiveResult;
    try {
      naive = await runNaive({ endpoint: sim.endpoint, accountName: sim.accountName, password: sim.password, pollMs, attachSet, sample: Math.max(1, baselineSample) });
    } finally {
      await stopSim(sim);
    }
    figures.baseline = naive;
  }
  if (withHistory && historyRuns > 0) {
    process.stderr.write(`bench: ${vms} VMs: ${historyRuns} runs of simulated history through the Ledger API...\n`);
    const retention = { retainDays: 90, retainRuns: 10_000 };
    const history: HistoryResult = simulateHistory({
      fromDatabase: database, file: join(dir, 'history.db'), firstRunAt: Date.now(), actions: report.actions,
      runs: historyRuns, retention, churn: historyChurn,
    });
    figures.history = { ...history, retention, churn: historyChurn };
  }
  return figures;
}

/** The install scenario: two runs (attach + install, then evidence + detach) install.settle apart. */
async function benchInstall(vms: number, work: string): Promise<InstallFigures> {
  const batch = int('install-batch', 1);
  const settleMs = int('install-settle', 0);
  const dir = join(work, `vms-${vms}-install`);
  mkdirSync(dir, { recursive: true });
  const isoDir = join(dir, 'zstack-dvd');
  await writeIsoDir(isoDir, DEFAULT_ISOS);
  const database = join(dir, 'state.db');
  process.stderr.write(`bench: ${vms} VMs, install on: starting the simulator (every Linux guest agent runs)...\n`);
  const sim = await startSim(vms, false, true);
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({
    zstack: { endpoint: sim.endpoint, accountName: sim.accountName, password: sim.password, jobPollIntervalMs: pollMs, pageSize: 1000 },
    isoDir,
    database,
    policy: { maxConcurrency: concurrency, maxPerHost: 1_000_000, maxErrors: '100%', detachAfterVerify: true },
    install: { mode: 'qga', maxConcurrency: batch, settle: `${settleMs}ms`, timeout: '1h' },
    log: { level: 'warn' },
  }), { mode: 0o600 });
  await ask(sim, 'reset');
  const stats = () => ask<{ requestsByApi: Record<string, number> }>(sim, 'stats').then((x) => x.requestsByApi);
  const measure = async (n: 1 | 2) => {
    process.stderr.write(`bench: ${vms} VMs, install on: run ${n}, gtr reconcile --json...\n`);
    const profileFile = join(dir, `profile-${n}.jsonl`);
    const run = await runGtr(config, profileFile);
    if (run.code !== 0 && run.code !== 1) throw new Error(`gtr reconcile exited ${run.code}: ${run.stderr.slice(0, 2000)}`);
    return { run, report: JSON.parse(run.stdout) as ReconcileJson, profile: readProfile(profileFile), endedAt: performance.now() };
  };
  try {
    const first = await measure(1);
    const afterFirst = await stats();
    const launched = first.report.stages?.install.started ?? 0;
    process.stderr.write(`bench: waiting for the ${launched} installers in the guests, then install.settle (${settleMs} ms)...\n`);
    for (const deadline = performance.now() + 600_000; ;) {
      const guests = await ask<{ ended: number }>(sim, 'installers');
      if (guests.ended >= launched) break;
      if (performance.now() > deadline) throw new Error(`only ${guests.ended} of ${launched} installers ended in 600 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const settledAt = first.endedAt + settleMs;
    if (performance.now() < settledAt) await new Promise((r) => setTimeout(r, settledAt - performance.now()));
    const gapMs = performance.now() - first.endedAt;
    const second = await measure(2);
    const all = await stats();
    const secondRequests = Object.fromEntries(Object.keys(all).map((api) => [api, (all[api] ?? 0) - (afterFirst[api] ?? 0)]));
    const install = first.report.stages?.install;
    const figures = {
      vms, latencyMs, jobMs, pollMs, concurrency, batch, settleMs, gapMs,
      attaches: first.report.counts.attach ?? 0,
      installs: launched,
      batches: install?.batches ?? 0,
      verified: second.report.stages?.install.verified ?? 0,
      installFailed: second.report.stages?.install.installFailed ?? 0,
      noEvidence: second.report.stages?.install.noEvidence ?? 0,
      detached: second.report.stages?.detach.detached ?? 0,
      runs: [
        { status: first.report.status, wallMs: first.run.wallMs, peakRssMb: first.profile.peakRssMb ?? 0, requests: afterFirst },
        { status: second.report.status, wallMs: second.run.wallMs, peakRssMb: second.profile.peakRssMb ?? 0, requests: secondRequests },
      ] as InstallFigures['runs'],
    };
    return { ...figures, bound: installBound(figures) };
  } finally {
    await stopSim(sim);
  }
}

const work = mkdtempSync(join(tmpdir(), 'gtr-bench-'));
if (values.install) {
  try {
    const figures = await benchInstall(sizes[0], work);
    process.stdout.write(formatInstall(figures));
    const out = values.out ?? join(root, 'bench-results', `bench-install-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ command: `node --import tsx scripts/bench.ts ${process.argv.slice(2).join(' ')}`.trim(), at: new Date().toISOString(), install: figures }, null, 2)}\n`);
    process.stdout.write(`\nresults written to ${out}\n`);
  } finally {
    if (values.keep) process.stderr.write(`bench: work folder kept: ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
  process.exit(0);
}
try {
  const results: RunFigures[] = [];
  for (const vms of sizes) {
    const main = !values.scale || vms === 100_000;
    // The baseline and the history go with the first variant measured; each variant has its own simulator.
    for (const [i, variant] of variants.entries()) results.push(await benchOne(vms, variant, main && i === 0 && baselineSample > 0, main && i === 0, work));
  }
  const primary = results.find((r) => r.baseline !== null) ?? results.find((r) => r.vms === (values.scale ? 100_000 : sizes[0])) ?? results[0];
  process.stdout.write(formatReport(primary));
  process.stdout.write(formatVariants(results));
  if (values.scale) process.stdout.write(formatScale(results));
  const out = values.out ?? join(root, 'bench-results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ command: `node --import tsx scripts/bench.ts ${process.argv.slice(2).join(' ')}`.trim(), at: new Date().toISOString(), results }, null, 2)}\n`);
  process.stdout.write(`\nresults written to ${out}\n`);
} finally {
  if (values.keep) process.stderr.write(`bench: work folder kept: ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
}
