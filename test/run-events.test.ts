// Which events a finished run emits (src/reconcile/run-events.ts), table-driven, no I/O.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GtrError } from '../src/errors.js';
import { failedRunEvents, runEvents } from '../src/reconcile/run-events.js';
import type { RunReport } from '../src/reconcile/report.js';

function report(over: Partial<RunReport>): RunReport {
  return {
    runId: 4, status: 'succeeded', dryRun: false, planHash: 'sha256:x',
    targets: [{ agentType: 'LinuxOnKvm', architecture: 'general', version: '1.2.0', iso: 'x' }],
    counts: { vms: 10, attach: 4, skip: 6, defer: 0, succeeded: 3, failed: 1, verified: 2 },
    catalogChecks: [], regressions: [], message: null, actions: [], ...over,
  } as RunReport;
}

const names = (r: Partial<RunReport>) => runEvents(report(r)).map((e) => `${e.event}${e.reason ? `/${e.reason}` : ''}`);

describe('run events', () => {
  it('maps run statuses: failed and partial are run.failed; halted, interrupted; quiet ones nothing', () => {
    assert.deepEqual(names({ status: 'partial' }), ['run.failed']);
    assert.deepEqual(names({ status: 'failed' }), ['run.failed']);
    assert.deepEqual(names({ status: 'halted' }), ['run.halted']);
    assert.deepEqual(names({ status: 'interrupted' }), ['run.interrupted']);
    for (const status of ['succeeded', 'noop'] as const) assert.deepEqual(names({ status }), []);
    assert.deepEqual(runEvents(report({ status: 'partial' }))[0]?.counts, { vms: 10, attach: 4, skip: 6, defer: 0, succeeded: 3, failed: 1 });
  });

  it('install.failed: one event for the installs whose failure the run learned (evidence and the MN\'s refusals); none for verified ones', () => {
    const action = (n: number, outcome: RunReport['actions'][number]['outcome']) => ({ vmUuid: `u${n}`, vmName: `vm-${n}`, current: '1.0.0', target: '1.2.0', action: 'attach' as const, reason: 'outdated' as const, outcome, error: null });
    const installs: RunReport['installs'] = [
      { vmUuid: 'u1', target: '1.2.0', startedBy: 3, outcome: 'verified', reason: null },
      { vmUuid: 'u2', target: '1.2.0', startedBy: 3, outcome: 'install-failed', reason: 'detail-failed', errCause: 'status Failed' },
      { vmUuid: 'u3', target: '1.2.0', startedBy: 3, outcome: 'failed', reason: 'no-evidence' },
    ];
    const events = runEvents(report({ installs, actions: [action(2, null), action(3, null), action(4, 'install-failed')] }));
    assert.deepEqual(events.map((e) => [e.event, e.reason, e.counts]), [['install.failed', 'install-failed', { vms: 3, installFailed: 2, noEvidence: 1 }]]);
    assert.match(events[0]?.summary ?? '', /vm-2 \(detail-failed\), vm-3 \(no evidence by install\.timeout\), vm-4 \(the MN refused the script\)/);
    assert.deepEqual(names({ installs: [installs[0]!] }), []);
    assert.deepEqual(runEvents(report({ installs: [installs[2]!] })).map((e) => [e.event, e.reason]), [['install.failed', 'no-evidence']]);
  });

  it('reports catalog problems by kind: empty, mismatch, unverified', () => {
    const check = { probeVmUuid: 'v', catalogVersion: '1.2.0' };
    assert.deepEqual(names({ targets: [] }), ['catalog.problem/empty']);
    assert.deepEqual(names({
      catalogChecks: [
        { ...check, group: 'LinuxOnKvm/x86_64', offeredVersion: '1.1.0', mismatch: true, error: null },
        { ...check, group: 'WindowsOnKvm/x86_64', offeredVersion: null, mismatch: false, error: 'timeout' },
        { ...check, group: 'LinuxOnKvm/aarch64', offeredVersion: '1.2.0', mismatch: false, error: null },
      ],
    }), ['catalog.problem/mismatch', 'catalog.problem/unverified']);
  });

  it('batches every not-converging VM of a run into one event', () => {
    const stuck = (n: number) => ({ vmUuid: `u${n}`, vmName: `vm-${n}`, current: '1.0.0', target: '1.2.0', action: 'skip', reason: 'not-converging', outcome: null, error: null });
    const events = runEvents(report({ actions: Array.from({ length: 7 }, (_, i) => stuck(i)) as unknown as RunReport['actions'] }));
    assert.equal(events.length, 1);
    assert.equal(events[0]?.event, 'vm.not-converging');
    assert.deepEqual(events[0]?.counts, { vms: 7 });
    assert.match(events[0]?.summary ?? '', /vm-0, vm-1, vm-2, vm-3, vm-4 and 2 more/);
  });

  it('a run that stopped with an error is failed, or interrupted when aborted; a catalog error is also a catalog problem', () => {
    assert.deepEqual(failedRunEvents(5, new GtrError('GTR_ABORTED', 'stopped')).map((e) => e.event), ['run.interrupted']);
    assert.deepEqual(failedRunEvents(5, new GtrError('GTR_ZSTACK_UNREACHABLE', 'connect refused')).map((e) => e.event), ['run.failed']);
    assert.deepEqual(failedRunEvents(5, new GtrError('GTR_CATALOG_UNUSABLE', 'no folder')).map((e) => `${e.event}/${e.reason ?? ''}`), ['run.failed/', 'catalog.problem/empty']);
  });
});
