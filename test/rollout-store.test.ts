// The rollout store on a real SQLite file: one open rollout per agent type, the transition log,
// members folded from run observations, late joiners in the last wave, and wave steps.
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger } from '../src/ledger/index.js';
import { RolloutStore } from '../src/rollout/store.js';
import { startRollout } from '../src/rollout/start.js';
import { parseWaveSpec, type WaveStep } from '../src/config/count-or-percent.js';
import type { RunObservation } from '../src/rollout/observe.js';
import { GtrError } from '../src/errors.js';

let dir: string;
let ledger: Ledger;
let store: RolloutStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-rollout-store-'));
  ledger = Ledger.open(path.join(dir, 'state.db'));
  store = new RolloutStore(ledger);
});
afterEach(() => {
  ledger.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const uuid = (n: number) => n.toString(16).padStart(32, '0');
const obs = (n: number, patch: Partial<RunObservation> = {}): RunObservation => ({
  vmUuid: uuid(n), vmName: `vm-${n}`, agentType: 'LinuxOnKvm', architecture: 'x86_64', guestAgent: true, action: 'defer', reason: 'not-in-wave', current: '1.0.0', target: '1.2.0', outcome: null, errorCode: null, ...patch,
});

function start(count: number, spec = '1,100%', agentTypes: ('LinuxOnKvm' | 'WindowsOnKvm')[] = ['LinuxOnKvm']) {
  return startRollout(store, {
    agentTypes,
    candidates: Array.from({ length: count }, (_, i) => ({
      uuid: uuid(i + 1), name: `vm-${i + 1}`, agentType: 'LinuxOnKvm' as const, architecture: 'x86_64', target: '1.2.0', clusterUuid: null, tags: [],
    })),
    canaries: { vms: [], clusters: [], tags: [] }, wavesSpec: spec, steps: parseWaveSpec(spec) as WaveStep[],
    soakMs: 0, waveTimeoutMs: 3_600_000, maxErrors: { kind: 'count', value: 0 }, who: 'alice@mn1', why: 'test', now: 1000,
  });
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

  it('records the first time an ISO version is seen, once', () => {
    store.noteIsoVersions([{ agentType: 'LinuxOnKvm', version: '1.2.0' }], 100);
    store.noteIsoVersions([{ agentType: 'LinuxOnKvm', version: '1.2.0' }], 200);
    assert.equal(store.firstSeen().get('LinuxOnKvm/1.2.0'), 100);
  });
});
