// The rollout store on a real SQLite file: one open rollout per agent type, the transition log,
// members folded from run observations, late joiners in the last wave, and wave steps.
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_MIGRATIONS_DIR, Ledger } from '../src/ledger/index.js';
import { RolloutStore } from '../src/rollout/store.js';
import { startRollout } from '../src/rollout/start.js';
import { parseWaveSpec, type WaveStep } from '../src/count-or-percent.js';
import type { RunObservation } from '../src/rollout/observe.js';
import { GtrError } from '../src/errors.js';
import { noteLostAttaches } from '../src/reconcile/rollout-hook.js';
import { tempLedger, type TempLedger } from './helpers/ledger.js';
import { HEX as uuid } from './helpers/fleet.js';

let t: TempLedger;
let ledger: Ledger;
let store: RolloutStore;
beforeEach(() => {
  t = tempLedger('gtr-rollout-store-');
  ledger = t.ledger;
  store = new RolloutStore(ledger);
});
afterEach(() => {
  t.cleanup();
});

const obs = (n: number, patch: Partial<RunObservation> = {}): RunObservation => ({
  vmUuid: uuid(n), vmName: `vm-${n}`, agentType: 'LinuxOnKvm', architecture: 'x86_64', guestAgent: true, action: 'defer', reason: 'not-in-wave', current: '1.0.0', source: 'guest', target: '1.2.0', outcome: null, errorCode: null,
  lostAttachAt: null, ...patch,
});

function startInput(count: number, spec = '1,100%', agentTypes: ('LinuxOnKvm' | 'WindowsOnKvm')[] = ['LinuxOnKvm']) {
  return {
    agentTypes,
    candidates: Array.from({ length: count }, (_, i) => ({
      uuid: uuid(i + 1), name: `vm-${i + 1}`, agentType: 'LinuxOnKvm' as const, architecture: 'x86_64', target: '1.2.0', clusterUuid: null, tags: [],
    })),
    canaries: { vms: [], clusters: [], tags: [] }, wavesSpec: spec, steps: parseWaveSpec(spec) as WaveStep[],
    soakMs: 0, waveTimeoutMs: 3_600_000, maxErrors: { kind: 'count', value: 0 } as const, who: 'alice@mn1', why: 'test', now: 1000,
  };
}

function start(count: number, spec = '1,100%', agentTypes: ('LinuxOnKvm' | 'WindowsOnKvm')[] = ['LinuxOnKvm']) {
  return startRollout(store, startInput(count, spec, agentTypes));
}

describe('rollout store', () => {
  it('keeps one open rollout per agent type and logs who did what', () => {
    const { id } = start(3);
    assert.throws(() => start(2, '1,100%', ['LinuxOnKvm', 'WindowsOnKvm']), (e: unknown) => e instanceof GtrError && e.exitCode === 6);
    store.transition(id, 'pause', 'bob@mn1', 'OPS-1', { now: 2000 });
    assert.throws(() => store.transition(id, 'pause', 'bob@mn1', null, { now: 2001 }), /allowed from paused: resume/);
    store.transition(id, 'abort', 'bob@mn1', null, { now: 3000 });
    const r = store.get(id);
    assert.equal(r?.state, 'aborted');
    assert.deepEqual(r?.transitions.map((t) => [t.event, t.fromState, t.toState, t.who]), [
      ['start', null, 'active', 'alice@mn1'],
      ['wave-start', null, null, 'alice@mn1'],
      ['pause', 'active', 'paused', 'bob@mn1'],
      ['abort', 'paused', 'aborted', 'bob@mn1'],
    ]);
    assert.equal(start(1).id, id + 1, 'a new rollout may start once the old one is closed');
  });

  it('folds observations into members, lets late candidates join the last wave, and advances waves', () => {
    const { id, members } = start(2, '1,100%');
    const first = members[0].uuid;
    const second = members[1].uuid;
    const seen = new Map([[first, obs(Number.parseInt(first, 16), { action: 'attach', outcome: 'verified' })], [second, obs(Number.parseInt(second, 16))]]);
    store.observe(id, seen, [obs(9)], true, 5000);
    let r = store.get(id);
    assert.equal(r?.members.find((m) => m.vmUuid === first)?.status, 'verified');
    assert.deepEqual(r?.members.find((m) => m.vmUuid === uuid(9))?.wave, 2, 'a VM eligible later joins the last wave');
    assert.deepEqual(store.advance(id, 6000, 'daemon').map((s) => s.kind), ['complete-wave', 'start-wave']);
    // A member gone from a full run is skipped for good; the other two install.
    store.observe(id, new Map([[uuid(9), obs(9, { action: 'skip', reason: 'up-to-date', current: '1.2.0' })]]), [], true, 7000);
    r = store.get(id);
    assert.equal(r?.members.find((m) => m.vmUuid === second)?.reason, 'gone');
    assert.deepEqual(store.advance(id, 8000, 'daemon').map((s) => s.kind), ['complete-wave', 'complete-rollout']);
    assert.equal(store.get(id)?.state, 'completed');
    assert.equal(store.lastRolloutByVersion().get('LinuxOnKvm/1.2.0'), 'completed');
  });

  it('finds a member\'s attach lost in a crashed run through the ledger (the replay resolved it GTR_JOB_LOST): failed for the wave', () => {
    const { id, members } = start(3, '1,100%');
    const canary = members[0].uuid;
    // A crashed run started the canary's attach; the next start's replay learned the MN does not know the job.
    const runId = ledger.startRun({ trigger: 'cli', dryRun: false, now: 2000 });
    ledger.recordDecisions(runId, [{ vmUuid: canary, vmName: 'vm', action: 'attach', reason: 'outdated', current: '1.0.0', target: '1.2.0', agentType: 'LinuxOnKvm', architecture: 'x86_64', hostUuid: null }]);
    ledger.beginAttach(runId, canary, 'job-1', '1.2.0', 2000);
    ledger.resolvePendingJob(runId, canary, { outcome: 'in-doubt', error: { code: 'GTR_JOB_LOST', description: 'job lost', details: 'x' }, now: 3000, resolvedBy: null });
    assert.deepEqual(ledger.lastAttaches([canary, uuid(99)]).get(canary), { runId, target: '1.2.0', outcome: 'in-doubt', errorCode: 'GTR_JOB_LOST', startedAt: 2000 });
    assert.equal(ledger.lastAttaches([uuid(99)]).size, 0);

    // The next run defers it awaiting-install (it may have run); the rollout marks it failed, and the budget (0) pauses.
    const seen = new Map([[canary, obs(Number.parseInt(canary, 16), { reason: 'awaiting-install' })]]);
    noteLostAttaches(ledger, store.open(), seen);
    assert.equal(seen.get(canary)?.lostAttachAt, 2000);
    store.observe(id, seen, [], false, 4000);
    assert.deepEqual(store.get(id)?.members.filter((m) => m.vmUuid === canary).map((m) => [m.status, m.reason, m.attachedAt]), [['failed', 'GTR_JOB_LOST', null]]);
    assert.deepEqual(store.advance(id, 4000, 'daemon').map((s) => s.kind), ['pause']);
    assert.equal(store.get(id)?.stateReason, 'error-budget');
  });

  it('abort --detach selects every member attached and not verified: attached, and failed without evidence', () => {
    const { id, members } = startRollout(store, { ...startInput(4, '4'), maxErrors: { kind: 'count', value: 2 } });
    const [a, b, c, d] = members.map((m) => m.uuid);
    const seen = new Map([
      [a, obs(Number.parseInt(a, 16), { action: 'attach', outcome: 'attached', guestAgent: false, source: 'tag' })],
      [b, obs(Number.parseInt(b, 16), { action: 'attach', outcome: 'attached' })],
      [c, obs(Number.parseInt(c, 16), { action: 'attach', outcome: 'verified' })],
      [d, obs(Number.parseInt(d, 16), { action: 'attach', outcome: 'failed', errorCode: 'SYS.1006' })],
    ]);
    store.observe(id, seen, [], true, 2000);
    assert.deepEqual(store.get(id)?.members.map((m) => [m.status, m.guestAgent]), [['attached', false], ['attached', true], ['verified', true], ['failed', true]]);
    // a and b stay without evidence past the wave timeout: failed (no-evidence), 3 failures > 2 pause; both still detached by --detach.
    assert.deepEqual(store.advance(id, 1000 + 3_600_000, 'daemon').map((s) => s.kind), ['time-out', 'pause']);
    assert.deepEqual(store.get(id)?.members.map((m) => m.reason), ['no-evidence', 'no-evidence', null, 'SYS.1006']);
    store.transition(id, 'abort', 'bob@mn1', null, { detach: true, now: 5000 });
    assert.deepEqual(store.pendingDetaches().map((p) => p.vmUuid), [a, b], 'not the verified member, nor the one whose attach failed');
  });

  it('migration 0010: unconfirmed members of open rollouts become attached; of closed ones attached with reason unconfirmed', () => {
    const old = path.join(t.dir, 'migrations-0009');
    fs.mkdirSync(old);
    for (const f of fs.readdirSync(DEFAULT_MIGRATIONS_DIR).filter((f) => f.endsWith('.sql') && f < '0010')) fs.copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, f), path.join(old, f));
    const file = path.join(t.dir, 'old.db');
    const before = Ledger.open(file, { migrationsDir: old });
    const oldStore = new RolloutStore(before);
    const open = startRollout(oldStore, { ...startInput(2), agentTypes: ['LinuxOnKvm'] }).id;
    const closed = startRollout(oldStore, { ...startInput(2), agentTypes: ['WindowsOnKvm'] }).id;
    before.handle.write(() => {
      before.handle.sql.get("UPDATE rollout_members SET status = 'unconfirmed', attached_at = 1500").run();
      before.handle.sql.get("UPDATE rollouts SET state = 'completed' WHERE id = ?").run(closed);
    });
    before.close();
    const after = Ledger.open(file);
    try {
      const migrated = new RolloutStore(after);
      assert.deepEqual(migrated.get(open)?.members.map((m) => [m.status, m.reason, m.guestAgent]), [['attached', null, false], ['attached', null, false]]);
      assert.deepEqual(migrated.get(closed)?.members.map((m) => [m.status, m.reason]), [['attached', 'unconfirmed'], ['attached', 'unconfirmed']]);
      assert.deepEqual(migrated.advance(open, 2000, 'daemon'), [], 'no longer done: the wave waits for evidence');
      assert.throws(() => after.handle.write(() => after.handle.sql.get("UPDATE rollout_members SET status = 'unconfirmed'").run()), /CHECK constraint/);
    } finally {
      after.close();
    }
  });

  it('records the first time an ISO version is seen, once', () => {
    store.noteIsoVersions([{ agentType: 'LinuxOnKvm', version: '1.2.0' }], 100);
    store.noteIsoVersions([{ agentType: 'LinuxOnKvm', version: '1.2.0' }], 200);
    assert.equal(store.firstSeen().get('LinuxOnKvm/1.2.0'), 100);
  });
});
