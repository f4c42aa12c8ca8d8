// Regressions for faults found in review: each test fails on the code before its fix.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { startSimulator } from '../src/sim/index.js';
import { Ledger } from '../src/ledger/index.js';
import { applyAttaches, isInDoubt } from '../src/apply/apply.js';
import { GtrError, ZStackApiError } from '../src/errors.js';
import { withLease } from '../src/reconcile/lease.js';
import { StartPath } from '../src/apply/start-path.js';
import { readInventory, type QueryPort } from '../src/observe/inventory.js';
import { newJobUuid } from '../src/zstack/client.js';
import { fastClient } from './helpers/zstack.js';
import type { Decision } from '../src/plan/plan.js';
import { gtr, simConfig, workspace } from './helpers/cli.js';
import { HEX, testFleet, testVm } from './helpers/fleet.js';

const silent = pino({ level: 'silent' });

function tempLedger() {
  const dir = mkdtempSync(join(tmpdir(), 'gtr-fix-'));
  const ledger = Ledger.open(join(dir, 'state.db'));
  return { dir, ledger, file: join(dir, 'state.db'), cleanup: () => (ledger.close(), rmSync(dir, { recursive: true, force: true })) };
}

function attachDecision(n: number): Decision {
  return {
    vmUuid: HEX(n), vmName: `vm-${n}`, action: 'attach', reason: 'outdated', current: '1.0.0', target: '1.2.0',
    agentType: 'LinuxOnKvm', architecture: 'x86_64', hostUuid: HEX(0xc00 + n), group: 'LinuxOnKvm/x86_64', message: null, source: 'guest', guestAgent: true, install: null,
  };
}

describe('review fixes', () => {
  it('a run limit never lets an unprobed group attach when the probed group is mismatched', async () => {
    // Two groups (x86_64 and aarch64 Linux VMs); the MN still offers 1.1.0 to both; --limit 1.
    const sim = await startSimulator({
      fleet: [testVm(1), testVm(2, { architecture: 'aarch64' })],
      isos: [{ agentType: 'LinuxOnKvm', architecture: 'general', version: '1.1.0' }],
    });
    const ws = await workspace();
    try {
      const config = ws.writeConfig(simConfig(ws, sim));
      const r = await gtr(['reconcile', '--config', config, '--json', '--limit', '1']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { actions: { reason: string }[] };
      assert.deepEqual(report.actions.map((a) => a.reason), ['catalog-mismatch', 'catalog-mismatch']);
      assert.equal(sim.attachesStarted().length, 0, 'nothing attached for a group the MN cannot serve');
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });

  it('a ledger write failing mid-apply stops new attaches and surfaces as an error, not a crash', async () => {
    const sim = await startSimulator({ fleet: testFleet(8), jobDurationMs: 20 });
    const { ledger, cleanup } = tempLedger();
    const client = fastClient(sim);
    try {
      const runId = ledger.startRun({ trigger: 'cli', dryRun: false, now: Date.now() });
      const decisions = Array.from({ length: 8 }, (_, i) => attachDecision(i + 1));
      ledger.recordDecisions(runId, decisions);
      let begins = 0;
      const failing = Object.assign(Object.create(ledger) as Ledger, {
        beginAttach(...args: Parameters<Ledger['beginAttach']>) {
          if (++begins === 3) throw new Error('SQLITE_FULL: database or disk is full');
          return ledger.beginAttach(...args);
        },
        batch: undefined,
      });
      await withLease(ledger, { purpose: 'test', now: Date.now, logger: silent }, (fence) => assert.rejects(
        applyAttaches(decisions, client, failing, {
          runId, maxConcurrency: 1, maxPerHost: 1, maxErrors: 10, recordVersionTag: true,
          quarantine: { afterFailures: 3, baseMs: 1000, maxMs: 10_000 }, newJobUuid, now: Date.now, logger: silent,
          start: StartPath.open(failing, fence, [], Date.now),
        }),
        /SQLITE_FULL/,
      ));
      assert.equal(sim.attachesStarted().length, 2, 'no attach after the failed write');
    } finally {
      await client.close();
      await sim.close();
      cleanup();
    }
  });

  it('a start after another process took the lease over is refused at once (lease-lost), before any renew', async () => {
    const { ledger, file, cleanup } = tempLedger();
    try {
      const answer = await withLease(ledger, { purpose: 'test', now: Date.now, logger: silent }, async (fence) => {
        const other = new Database(file);
        other.prepare("UPDATE lease SET holder = 'someone-else'").run();
        other.close();
        const start = StartPath.open(ledger, fence, [], Date.now);
        const vm = attachDecision(1);
        return start.start({ api: 'AttachGuestToolsIsoToVm', subject: vm, jobUuid: newJobUuid(), record: () => assert.fail('nothing is recorded') });
      });
      assert.equal(answer.permit, null);
      assert.equal(answer.refusal?.reason, 'lease-lost');
    } finally {
      cleanup();
    }
  });

  it('a VM returned twice by offset paging is planned once', async () => {
    const row = { uuid: HEX(1), name: 'vm-1', state: 'Running', platform: 'Linux', architecture: 'x86_64', hypervisorType: 'KVM', type: 'UserVm' };
    const port: QueryPort = {
      guestToolsStateSupport: () => Promise.resolve('empty'),
      async *queryPages(resource) {
        if (resource === 'vm-instances') {
          yield [row, { ...row, uuid: HEX(2), name: 'vm-2' }];
          yield [{ ...row, uuid: HEX(2), name: 'vm-2' }, { ...row, uuid: HEX(3), name: 'vm-3' }];
        }
      },
    };
    const vms = await readInventory(port, { selectorTags: [] });
    assert.deepEqual(vms.map((v) => v.name), ['vm-1', 'vm-2', 'vm-3']);
  });

  it('only a failure the MN reported, or one before anything ran, is retried; anything else is in doubt', () => {
    const zstack = new ZStackApiError('AttachGuestToolsIsoToVm', 503, { code: 'SYS.1006', description: 'operation error', details: 'failed' });
    assert.equal(isInDoubt(zstack), false);
    assert.equal(isInDoubt(new GtrError('GTR_ZSTACK_UNREACHABLE', 'login timed out', { details: { api: 'LogInByAccount' } })), false);
    assert.equal(isInDoubt(new GtrError('GTR_ZSTACK_UNREACHABLE', 'refused', { details: { api: 'AttachGuestToolsIsoToVm', sent: false } })), false);
    assert.equal(isInDoubt(new GtrError('GTR_ZSTACK_UNREACHABLE', 'poll refused', { details: { api: 'QueryJob', sent: false } })), true);
    assert.equal(isInDoubt(new GtrError('GTR_JOB_TIMEOUT', 'job still running')), true);
    assert.equal(isInDoubt(new GtrError('GTR_JOB_LOST', 'job unknown')), true);
  });
});
