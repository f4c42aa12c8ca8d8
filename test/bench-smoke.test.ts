// The benchmark cannot rot: `scripts/bench.ts` on 1,000 VMs prints its table and writes its JSON, and
// the attach count agrees between the plan, the simulator and the baseline. Never asserts timings.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, ROOT } from './helpers/cli.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gtr-bench-smoke-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/bench.ts'), ...args], {
      cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Result {
  vms: number;
  attaches: number;
  attachesSeenBySimulator: number;
  failed: number;
  requests: Record<string, number>;
  reads: { inventoryRequests: number; inventoryPages: number; rereadRequests: number; rereadBatches: number };
  boundMs: number;
  peakRssMb: number;
  baseline: { vms: number; attaches: number; extrapolated: boolean; requests: Record<string, number> } | null;
  history: { runs: number; runsKept: number; decisionRows: number; untrimmedRows: number; databaseBytes: number } | null;
}

test('npm run bench on 1,000 VMs: one table, a JSON file, matching attach counts', async () => {
  const out = join(dir, 'result.json');
  const r = await bench(['--vms', '1000', '--latency', '1', '--job-ms', '5', '--concurrency', '20',
    '--baseline-sample', '200', '--history-runs', '20', '--out', out]);
  assert.equal(r.code, 0, r.stderr);

  for (const label of ['VMs', 'attaches', 'wall time', 'API requests', 'QueryVmInstance', 'AttachGuestToolsIsoToVm',
    'requests per inventory page', 'requests per re-read batch', 'requests per VM', 'peak RSS (reconciler)', 'time in plan', 'time in SQLite', 'lower bound', 'wall / bound', 'speed-up vs naive']) {
    assert.match(r.stdout, new RegExp(`^\\s*${label.replace(/[()/]/g, '\\$&')}\\s`, 'm'), `row "${label}" in:\n${r.stdout}`);
  }
  assert.match(r.stdout, /naive loop \(200 of 1000 VMs measured, extrapolated\)/);
  assert.doesNotMatch(r.stdout, /…/, 'the report cuts no figure');
  assert.match(r.stdout, /Ledger after 20 half-hourly runs/);

  const doc = JSON.parse(readFileSync(out, 'utf8')) as { command: string; results: Result[] };
  assert.equal(doc.results.length, 2, 'the run against the simulator as is, then the warm variant (--sim both)');
  const res = doc.results[0];
  assert.equal(doc.results[1].attaches, res.attaches, 'both variants attach the same VMs');
  assert.equal(res.vms, 1000);
  assert.ok(res.attaches > 0);
  assert.equal(res.attachesSeenBySimulator, res.attaches);
  assert.equal(res.failed, 0);
  assert.equal(res.requests.AttachGuestToolsIsoToVm, res.attaches);
  // Reads are paged: a handful of requests per 1,000 VMs, never one per VM.
  assert.ok((res.requests.QuerySystemTag ?? 0) < 50, JSON.stringify(res.requests));
  // A constant number per page and per batch: every query of the inventory has a page per 1,000 rows
  // (VMs, CD-ROMs, tags, reports), the re-read four requests per batch of at most 200 attach-set VMs.
  assert.equal(res.reads.inventoryPages, 2, 'one full page of VMs, then the empty one');
  assert.ok(res.reads.inventoryRequests / res.reads.inventoryPages <= 6, JSON.stringify(res.reads));
  assert.equal(res.reads.rereadBatches, Math.ceil(res.attaches / 200));
  assert.equal(res.reads.rereadRequests, 4 * res.reads.rereadBatches);
  assert.ok(res.boundMs > 0 && res.peakRssMb > 0);
  assert.equal(res.baseline?.attaches, res.attaches);
  assert.equal(res.baseline?.vms, 1000);
  assert.equal(res.baseline?.requests.QuerySystemTag, 1000);
  assert.equal(res.history?.runs, 20);
  assert.ok(res.history && res.history.decisionRows < res.history.untrimmedRows / 2);
});

test('npm run bench -- --install on 1,000 VMs: the install lines, and the request count per installed VM does not grow with the fleet', async () => {
  const run = async (vms: number) => {
    const out = join(dir, `install-${vms}.json`);
    const r = await bench(['--install', '--vms', String(vms), '--latency', '1', '--job-ms', '5', '--concurrency', '20', '--install-batch', '20', '--install-settle', '0', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    for (const line of ['requests per VM (both runs):', 'install and clean-up requests per installed VM:', 'wall time:', 'lower bound:', 'wall / bound:', 'peak RSS (reconciler): run 1']) {
      assert.ok(r.stdout.includes(line), `"${line}" in:\n${r.stdout}`);
    }
    return JSON.parse(readFileSync(out, 'utf8')).install as {
      installs: number; batches: number; verified: number; detached: number; bound: { boundMs: number }; runs: { requests: Record<string, number> }[];
    };
  };
  const small = await run(500);
  const large = await run(1000);
  for (const f of [small, large]) {
    assert.ok(f.installs > 0, 'installers were started');
    assert.deepEqual([f.verified, f.detached], [f.installs, f.installs], 'every install verified and detached in run 2');
    assert.equal(f.batches, Math.ceil(f.installs / 20), 'batches of install.maxConcurrency');
    assert.equal(f.runs[0]?.requests.ExecuteGuestVmScript, f.batches, 'one execute per batch');
    assert.ok(f.bound.boundMs > 0);
  }
  // Per installed VM: one UpdateGuestToolsState, one detach (and its job), the rest per batch or per record.
  const perInstall = (f: typeof small) => ['ExecuteGuestVmScript', 'QueryGuestVmScriptExecutedRecordDetail', 'UpdateGuestToolsState', 'DetachGuestToolsIsoFromVm']
    .reduce((n, api) => n + (f.runs[0]?.requests[api] ?? 0) + (f.runs[1]?.requests[api] ?? 0), 0) / f.installs;
  assert.ok(Math.abs(perInstall(large) - perInstall(small)) < 0.1, `constant per installed VM: ${perInstall(small)} vs ${perInstall(large)}`);
});
