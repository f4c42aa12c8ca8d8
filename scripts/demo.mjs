#!/usr/bin/env node
// The demo: the reconciler against the bundled ZStack simulator, start to finish, in a temp folder.
// Starts a simulated management node with a generated fleet, writes an ISO folder with newer GuestTools
// (Windows 1.3.0, Linux 1.2.0: separate version lines), then runs `gtr iso`, `gtr plan`, three
// reconciles, `gtr runs` and `gtr status` as a real operator would, printing each command and its output.
// Some guests install what is attached at once (`verified`), the others never do (`attached`): the
// second run leaves those `awaiting-install`, and once policy.reattachAfter (6 s here) has passed the
// third run stops them as `not-converging` (policy.maxAttempts is 1 here to keep the demo short).
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
  { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.3.0' },
  { agentType: 'WindowsOnKvm', architecture: 'aarch64', version: '1.3.0' },
  { agentType: 'LinuxOnKvm', architecture: 'general', version: '1.2.0' },
];
// An older ISO left over from the previous release: the highest version wins, not the newest file.
const isoDir = join(work, 'zstack-dvd');
await writeIsoDir(isoDir, [...isos, { agentType: 'LinuxOnKvm', architecture: 'general', version: '1.1.3' }]);

// 60% of the guests install attached tools right away; the rest never do (no QGA, a broken installer).
const sim = await startSimulator({ fleet: { vms, seed: 7, isoVersion: '1.2.0' }, isos, jobDurationMs: 30, guests: { installShare: 0.6 } });
const config = join(work, 'config.json');
writeFileSync(
  config,
  JSON.stringify(
    {
      zstack: { endpoint: sim.endpoint, accountName: sim.accountName, password: sim.password, jobPollIntervalMs: 20 },
      isoDir,
      database: join(work, 'state.db'),
      policy: { maxConcurrency: 20, maxPerHost: 2, maxErrors: '10%', reattachAfter: '6s', maxAttempts: 1 },
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
  // Run 1: attaches; guests that installed are `verified`, the others `attached` (awaiting install).
  await gtr('reconcile');
  // Run 2, at once: those are `awaiting-install` (policy.reattachAfter has not passed).
  await gtr('reconcile');
  // Run 3, after reattachAfter: their single attempt was never confirmed: `not-converging`.
  await new Promise((resolve) => setTimeout(resolve, 6100));
  await gtr('reconcile');
  await gtr('runs');
  await gtr('status');
  process.stdout.write(`\nZStack API requests by API: ${JSON.stringify(sim.requestsByApi())}\n`);
} finally {
  await sim.close();
  if (!process.env.DEMO_KEEP) rmSync(work, { recursive: true, force: true });
}
