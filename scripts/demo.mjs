#!/usr/bin/env node
// The demo: the reconciler against the bundled ZStack simulator, start to finish, in a temp folder.
// Starts a simulated management node with a generated fleet, writes an ISO folder with a newer
// GuestTools release, then runs `gtr iso`, `gtr plan`, `gtr reconcile`, a second reconcile, `gtr runs`
// and `gtr status` as a real operator would, printing each command and its output.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator, writeIsoDir } from '../dist/sim/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const gtrBin = join(root, 'bin', 'gtr.js');
const vms = Number(process.env.DEMO_VMS ?? 300);
const work = mkdtempSync(join(tmpdir(), 'gtr-demo-'));

const isos = [
  { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.2.0' },
  { agentType: 'WindowsOnKvm', architecture: 'aarch64', version: '1.2.0' },
  { agentType: 'LinuxOnKvm', architecture: 'general', version: '1.2.0' },
];
// An older ISO left over from the previous release: the highest version wins, not the newest file.
const isoDir = join(work, 'zstack-dvd');
await writeIsoDir(isoDir, [...isos, { agentType: 'LinuxOnKvm', architecture: 'general', version: '1.1.3' }]);

const sim = await startSimulator({ fleet: { vms, seed: 7, isoVersion: '1.2.0' }, isos, jobDurationMs: 30, guests: { installDelayMs: 300, neverInstallShare: 0.05 } });
const config = join(work, 'config.json');
writeFileSync(
  config,
  JSON.stringify(
    {
      zstack: { endpoint: sim.endpoint, accountName: sim.accountName, password: sim.password, jobPollIntervalMs: 20 },
      isoDir,
      database: join(work, 'state.db'),
      policy: { maxConcurrency: 20, maxPerHost: 2, maxErrors: '10%' },
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
  await gtr('reconcile');
  // Give the simulated guests time to install what was attached, then reconcile again.
  await new Promise((resolve) => setTimeout(resolve, 800));
  await gtr('reconcile');
  await gtr('runs');
  await gtr('status');
  process.stdout.write(`\nZStack API requests by API: ${JSON.stringify(sim.requestsByApi())}\n`);
} finally {
  await sim.close();
  if (!process.env.DEMO_KEEP) rmSync(work, { recursive: true, force: true });
}
