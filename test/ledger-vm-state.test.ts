import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger, quarantineUntil } from '../src/ledger/index.js';
import { tempLedger, type TempLedger } from './helpers/ledger.js';

let t: TempLedger;
let ledger: Ledger;
const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const MIN = 60_000;
const Q = { afterFailures: 3, baseMs: 10 * MIN, maxMs: 60 * MIN };

beforeEach(() => {
  t = tempLedger('gtr-ledger-vm-');
  ledger = t.ledger;
});

afterEach(() => {
  t.cleanup();
});

/** One run with one attach for `vm` that ends in `outcome` at `now`. */
function attachOnce(vm: string, outcome: 'attached' | 'failed', now: number): void {
  const runId = ledger.startRun({ trigger: 'schedule', dryRun: false, now });
  ledger.recordDecisions(runId, [{
    vmUuid: vm, vmName: vm, action: 'attach', reason: 'outdated', current: '1.0.0', target: '1.2.0',
    agentType: 'WindowsOnKvm', architecture: 'x86_64', hostUuid: 'h1',
  }]);
  ledger.beginAttach(runId, vm, `job-${now}`, '1.2.0', now);
  const error = outcome === 'failed' ? { code: 'SYS.1006', description: 'operation failure', details: 'boom' } : null;
  ledger.finishAttach(runId, vm, { outcome, error, now, quarantine: Q });
  ledger.finishRun(runId, { status: outcome === 'failed' ? 'failed' : 'succeeded', counts: {}, now });
}

describe('quarantine', () => {
  test('starts after afterFailures in a row, doubles each failure, is capped, and a success clears it', () => {
    const seen: [number, number | null][] = [];
    for (let i = 0; i < 6; i++) {
      const now = T0 + i * 1000;
      attachOnce('vm-a', 'failed', now);
      const s = ledger.vmStates().get('vm-a');
      seen.push([s?.consecutiveFailures ?? -1, s?.quarantineUntil === null || s?.quarantineUntil === undefined ? null : s.quarantineUntil - now]);
    }
    assert.deepEqual(seen, [
      [1, null],
      [2, null],
      [3, 10 * MIN],
      [4, 20 * MIN],
      [5, 40 * MIN],
      [6, 60 * MIN], // 80 min capped at maxMs
    ]);
    attachOnce('vm-a', 'attached', T0 + 10_000);
    const s = ledger.vmStates().get('vm-a');
    assert.equal(s?.consecutiveFailures, 0);
    assert.equal(s?.quarantineUntil, null);
    assert.equal(s?.lastAttachTarget, '1.2.0');
    assert.equal(s?.lastAttachAt, T0 + 10_000);
  });

  test('very long failure streaks stay finite', () => {
    assert.equal(quarantineUntil(5000, T0, Q), T0 + 60 * MIN);
    assert.equal(quarantineUntil(2, T0, Q), undefined);
  });
});

describe('observeVersions', () => {
  test('reports and stores a version that went backwards; forward movement clears it', () => {
    assert.deepEqual(ledger.observeVersions([
      { vmUuid: 'vm-a', version: '1.2.0' },
      { vmUuid: 'vm-b', version: '1.0.0' },
      { vmUuid: 'vm-c', version: null },
    ], T0), []);
    assert.deepEqual(ledger.observeVersions([
      { vmUuid: 'vm-a', version: '1.1.0' },
      { vmUuid: 'vm-b', version: '1.2' }, // loose form, forward
      { vmUuid: 'vm-c', version: '1.0.0' },
    ], T0 + 1), [{ vmUuid: 'vm-a', from: '1.2.0', to: '1.1.0' }]);

    let states = ledger.vmStates();
    assert.equal(states.get('vm-a')?.regression, '1.2.0 -> 1.1.0');
    assert.equal(states.get('vm-a')?.lastSeenVersion, '1.1.0');
    assert.equal(states.get('vm-b')?.regression, null);
    assert.equal(states.get('vm-b')?.lastSeenVersion, '1.2');

    // Unchanged or unreported: the regression stays on record, nothing new is reported.
    assert.deepEqual(ledger.observeVersions([{ vmUuid: 'vm-a', version: '1.1.0' }, { vmUuid: 'vm-b', version: null }], T0 + 2), []);
    states = ledger.vmStates();
    assert.equal(states.get('vm-a')?.regression, '1.2.0 -> 1.1.0');
    assert.equal(states.get('vm-b')?.lastSeenVersion, '1.2', 'a missing report keeps the last known version');
    // A prerelease of the same version is older than the release.
    assert.deepEqual(ledger.observeVersions([{ vmUuid: 'vm-b', version: '1.2.0-rc.1' }], T0 + 3), [{ vmUuid: 'vm-b', from: '1.2', to: '1.2.0-rc.1' }]);

    assert.deepEqual(ledger.observeVersions([{ vmUuid: 'vm-a', version: '1.2.0' }], T0 + 4), []);
    assert.equal(ledger.vmStates().get('vm-a')?.regression, null);
  });

  test('unparseable versions are recorded but never called a regression', () => {
    ledger.observeVersions([{ vmUuid: 'vm-a', version: '2.0.0' }], T0);
    assert.deepEqual(ledger.observeVersions([{ vmUuid: 'vm-a', version: 'garbage' }], T0 + 1), []);
    assert.deepEqual(ledger.observeVersions([{ vmUuid: 'vm-a', version: '1.0.0' }], T0 + 2), []);
    assert.equal(ledger.vmStates().get('vm-a')?.lastSeenVersion, '1.0.0');
  });

  test('observing does not disturb attach state, and vmStates returns every VM', () => {
    attachOnce('vm-a', 'failed', T0);
    ledger.observeVersions(Array.from({ length: 500 }, (_, i) => ({ vmUuid: `vm-${i}`, version: '1.0.0' })), T0);
    ledger.observeVersions([{ vmUuid: 'vm-a', version: '1.0.0' }], T0);
    const states = ledger.vmStates();
    assert.equal(states.size, 501);
    assert.deepEqual(states.get('vm-a'), {
      vmUuid: 'vm-a', lastSeenVersion: '1.0.0', lastAttachTarget: '1.2.0', lastAttachAt: T0,
      consecutiveFailures: 1, quarantineUntil: null, regression: null, attempts: 0, attemptsTarget: null, lastAttachTagged: false,
      lastAttachFailed: true,
      retriedAt: null,
    });
  });
});

describe('attempts (policy.maxAttempts) and gtr retry', () => {
  test('attaches of one target that went through count up; a new target starts again at 1; failures do not count', () => {
    attachOnce('vm-a', 'attached', T0);
    attachOnce('vm-a', 'failed', T0 + 1);
    attachOnce('vm-a', 'attached', T0 + 2);
    assert.deepEqual(pick(ledger.vmStates().get('vm-a')), { attempts: 2, attemptsTarget: '1.2.0' });
    const runId = ledger.startRun({ trigger: 'cli', dryRun: false, now: T0 + 3 });
    ledger.recordDecisions(runId, [{ vmUuid: 'vm-a', vmName: 'vm-a', action: 'attach', reason: 'outdated', current: '1.0.0', target: '1.3.0', agentType: 'LinuxOnKvm', architecture: 'x86_64', hostUuid: null }]);
    ledger.beginAttach(runId, 'vm-a', 'job-x', '1.3.0', T0 + 3, true);
    ledger.finishAttach(runId, 'vm-a', { outcome: 'attached', error: null, now: T0 + 3, quarantine: Q });
    const state = ledger.vmStates().get('vm-a');
    assert.deepEqual(pick(state), { attempts: 1, attemptsTarget: '1.3.0' });
    assert.equal(state?.lastAttachTagged, true);
  });

  test('the plan history holds VMs at maxAttempts and VMs whose last attach sent its tag, even long after', () => {
    for (let i = 0; i < 3; i++) attachOnce('vm-a', 'attached', T0 + i);
    attachOnce('vm-b', 'attached', T0);
    const later = T0 + 100 * 24 * 3_600_000;
    assert.deepEqual([...ledger.planHistory(later, 3_600_000, 3).keys()], ['vm-a']);
    assert.deepEqual([...ledger.planHistory(later, 3_600_000, 4).keys()], []);
    assert.deepEqual([...ledger.planHistory(later, 3_600_000, 4, ['vm-b', 'vm-unknown']).keys()], ['vm-b'], 'a VM whose guest reported an install failure');
  });

  test('retry forgets attempts, failures and quarantine, notes when, and names only VMs it knows', () => {
    for (let i = 0; i < 3; i++) attachOnce('vm-a', 'failed', T0 + i);
    attachOnce('vm-b', 'attached', T0);
    assert.ok((ledger.vmStates().get('vm-a')?.quarantineUntil ?? 0) > T0);
    assert.deepEqual(ledger.retryVms(['vm-a', 'vm-b', 'vm-unknown'], T0 + 60_000), ['vm-a', 'vm-b']);
    const a = ledger.vmStates().get('vm-a');
    assert.deepEqual([a?.consecutiveFailures, a?.quarantineUntil, ledger.vmStates().get('vm-b')?.attempts], [0, null, 0]);
    assert.equal(a?.retriedAt, T0 + 60_000, 'an install failure the guest reported before it is forgotten');
  });
});

function pick(s: { attempts: number; attemptsTarget: string | null } | undefined) {
  return s ? { attempts: s.attempts, attemptsTarget: s.attemptsTarget } : undefined;
}
