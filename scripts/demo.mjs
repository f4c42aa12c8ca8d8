#!/usr/bin/env node
// The demo: the reconciler against the bundled ZStack simulator, start to finish, in a temp folder.
// Starts a simulated management node with a generated fleet, writes an ISO folder with newer GuestTools
// (Windows 1.3.0, Linux 1.2.0: separate version lines), then runs `gtr iso`, `gtr plan`, three
// reconciles with the install in the guest on (install.mode "qga"), `gtr runs`, `gtr runs show` and
// `gtr status`, as a real operator would, printing each command and its output:
// - run 1 attaches the ISO; in the Linux guests whose QEMU guest agent runs it starts the installer
//   (`installing`); Linux VMs without an agent and every Windows VM (no install.windows.command) are
//   attach-only, listed for a person with the Linux command to paste;
// - run 2, once the installers ran and install.settle passed, reads the guests' evidence: `verified`,
//   and the ISO is detached (policy.detachAfterVerify); one guest's installer fails (`install-failed`,
//   with its cause and the tail of its stderr);
// - run 3 has nothing left to start: the failed VM is not attached or installed again until
//   `gtr retry`, the attach-only VMs still wait for a person.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFleet, startSimulator, writeIsoDir } from '../dist/sim/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const gtrBin = join(root, 'bin', 'gtr.js');
const vms = Number(process.env.DEMO_VMS ?? 300);
const work = mkdtempSync(join(tmpdir(), 'gtr-demo-'));

const isos = [
  { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.3.0' },
  { agentType: 'WindowsOnKvm', architecture: 'aarch64', version: '1.3.0' },
  { agentType: 'LinuxOnKvm', architecture: 'general', version: '1.2.0' },
];
// An older ISO left over from the previous release: the highest version wins, not the newest file.
const isoDir = join(work, 'zstack-dvd');
await writeIsoDir(isoDir, [...isos, { agentType: 'LinuxOnKvm', architecture: 'general', version: '1.1.3' }]);

// About half the guests run the QEMU guest agent (their installs run in the guest); the others are a
// person's. One Linux guest's installer fails: its mount is refused, and its scripts say so on stderr.
const fleet = generateFleet({ vms, seed: 7, isoVersion: '1.2.0' });
const failing = fleet.find((vm) => vm.platform === 'Linux' && vm.type === 'UserVm' && vm.hypervisorType === 'KVM' && vm.state === 'Running'
  && vm.cdRoms > 0 && vm.cdRomIsoUuid === null && vm.guest?.qgaState === 'Running' && vm.tags.some((t) => /^GuestTools::1\.[01]\./.test(t)));
if (failing) Object.assign(failing, { installer: 'fails', scriptStderr: 'mount: /mnt/gtr-install: wrong fs type, bad option, bad superblock on /dev/sr0' });
const sim = await startSimulator({ fleet, isos, jobDurationMs: 30, guests: { installMs: 300, agentRestartMs: 100 } });
const SETTLE_MS = 2000;
const config = join(work, 'config.json');
writeFileSync(
  config,
  JSON.stringify(
    {
      zstack: { endpoint: sim.endpoint, accountName: sim.accountName, password: sim.password, jobPollIntervalMs: 20 },
      isoDir,
      database: join(work, 'state.db'),
      policy: { maxConcurrency: 20, maxPerHost: 2, maxErrors: '10%', detachAfterVerify: true },
      install: { mode: 'qga', maxConcurrency: 25, settle: `${SETTLE_MS}ms`, timeout: '30m' },
      log: { level: 'warn' },
    },
    null,
    2,
  ),
  { mode: 0o600 },
);

// Asynchronous on purpose: the simulator serves from this very process.
const run = promisify(execFile);
async function gtr(...args) {
  process.stdout.write(`\n$ gtr ${args.join(' ')}\n`);
  try {
    const { stdout, stderr } = await run(process.execPath, [gtrBin, ...args, '--config', config], { encoding: 'utf8' });
    process.stdout.write(stderr + stdout);
  } catch (error) {
    process.stdout.write(`${error.stderr ?? ''}${error.stdout ?? ''}(exit code ${error.code})\n`);
  }
}

try {
  process.stdout.write(`Simulated ZStack management node at ${sim.endpoint} with ${vms} VMs; work folder ${work}\n`);
  await gtr('iso');
  await gtr('plan');
  // Run 1: attaches; installers started in the Linux guests with an agent (`installing`), the rest attach-only.
  await gtr('reconcile');
  const ranAt = Date.now();
  // The installers run in the guests (and restart their agents); install.settle later the guests are asked.
  const started = sim.scriptExecutions().flatMap((e) => e.vmUuids);
  process.stdout.write(`\n(waiting for the installers in ${started.length} guests, then install.settle: ${SETTLE_MS} ms)\n`);
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    const runs = sim.installerRuns();
    if (started.every((uuid) => runs.some((r) => r.vmUuid === uuid && r.outcome !== undefined))) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, ranAt + SETTLE_MS + 100 - Date.now())));
  // Run 2: the guests' evidence: `verified` and detached; the failing guest `install-failed`.
  await gtr('reconcile');
  // Run 3: nothing to start; the failed install waits for gtr retry, the attach-only VMs for a person.
  await gtr('reconcile');
  await gtr('runs');
  await gtr('runs', 'show', '3');
  await gtr('status');
  process.stdout.write(`\nZStack API requests by API: ${JSON.stringify(sim.requestsByApi())}\n`);
} finally {
  await sim.close();
  if (!process.env.DEMO_KEEP) rmSync(work, { recursive: true, force: true });
}
