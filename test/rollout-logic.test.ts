// Table-driven tests of the pure rollout logic: wave specs and sizes, membership order, the state
// machine, wave progression, member observation and the attach gate.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waveSizes } from '../src/rollout/wave-spec.js';
import { parseWaveSpec, parseLimit, type WaveStep } from '../src/count-or-percent.js';
import { orderCandidates, placeMembers, stableKey, type Candidate } from '../src/rollout/membership.js';
import { allowedFrom, nextState, refusedTransition, TRANSITIONS, ROLLOUT_STATES } from '../src/rollout/transitions.js';
import { progress, startedMembers, type MemberStatus, type ProgressInput, type WaveView } from '../src/rollout/waves.js';
import { isCandidate, observeMember, type RunObservation } from '../src/rollout/observe.js';
import { gateReason, type GateFacts, type GatePolicy } from '../src/rollout/gate.js';

const steps = (text: string) => parseWaveSpec(text) as WaveStep[];

describe('wave specs', () => {
  const cases: { spec: string; ok: boolean }[] = [
    { spec: '1,10%,50%,100%', ok: true },
    { spec: '5', ok: true },
    { spec: '0.5%,100%', ok: true },
    { spec: '', ok: false },
    { spec: '1,,2', ok: false },
    { spec: '0', ok: false },
    { spec: '0%', ok: false },
    { spec: '101%', ok: false },
    { spec: '-1', ok: false },
    { spec: 'ten', ok: false },
    { spec: Array(21).fill('1').join(','), ok: false },
  ];
  for (const c of cases) {
    it(`"${c.spec.slice(0, 20)}" is ${c.ok ? 'valid' : 'refused'}`, () => assert.equal(typeof parseWaveSpec(c.spec) !== 'string', c.ok));
  }

  const sizes: { spec: string; members: number; want: [string, number][] }[] = [
    { spec: '1,10%,50%,100%', members: 100, want: [['1', 1], ['10%', 9], ['50%', 40], ['100%', 50]] },
    // 10% of 10 is 1, already reached by the first wave: that wave is dropped.
    { spec: '1,10%,50%,100%', members: 10, want: [['1', 1], ['50%', 4], ['100%', 5]] },
    { spec: '1,10%,50%,100%', members: 1, want: [['1', 1]] },
    { spec: '1,10%,50%,100%', members: 0, want: [] },
    // The last wave always takes the rest.
    { spec: '2,5', members: 20, want: [['2', 2], ['5', 18]] },
    { spec: '50%', members: 7, want: [['50%', 7]] },
    // A count larger than the members is capped.
    { spec: '10,100%', members: 4, want: [['10', 4]] },
    // Decreasing entries never shrink a wave below the one before.
    { spec: '50%,10%,100%', members: 10, want: [['50%', 5], ['100%', 5]] },
  ];
  for (const c of sizes) {
    it(`${c.spec} over ${c.members} members`, () => {
      const got = waveSizes(steps(c.spec), c.members);
      assert.deepEqual(got.map((w) => [w.spec, w.size]), c.want);
      assert.deepEqual(got.map((w) => w.number), c.want.map((_, i) => i + 1));
      assert.equal(got.reduce((n, w) => n + w.size, 0), c.members);
    });
  }

  it('parses max-errors limits', () => {
    assert.deepEqual(parseLimit('0', 0), { kind: 'count', value: 0 });
    assert.deepEqual(parseLimit('5%', 0), { kind: 'percent', value: 5 });
    assert.equal(parseLimit('0', 1), null);
    assert.equal(parseLimit('x', 0), null);
  });
});

describe('membership', () => {
  const cand = (uuid: string, patch: Partial<Candidate> = {}): Candidate => ({ uuid, name: `vm-${uuid.slice(-2)}`, agentType: 'LinuxOnKvm', architecture: 'x86_64', target: '1.2.0', clusterUuid: 'c1', tags: [], ...patch });
  const uuids = Array.from({ length: 12 }, (_, i) => (i + 1).toString(16).padStart(32, '0'));
  const byHash = [...uuids].sort((a, b) => (stableKey(a) < stableKey(b) ? -1 : 1));

  const cases: { name: string; canaries: { vms?: string[]; clusters?: string[]; tags?: string[] }; patch?: Record<string, Partial<Candidate>>; first: string[] }[] = [
    { name: 'no canaries: sha256 order', canaries: {}, first: byHash.slice(0, 3) },
    { name: 'canary VMs first', canaries: { vms: [uuids[5], uuids[2]] }, first: [uuids[5], uuids[2]].sort((a, b) => (stableKey(a) < stableKey(b) ? -1 : 1)) },
    { name: 'canary cluster first', canaries: { clusters: ['c9'] }, patch: { [uuids[7]]: { clusterUuid: 'c9' } }, first: [uuids[7]] },
    { name: 'canary tag first', canaries: { tags: ['canary'] }, patch: { [uuids[9]]: { tags: ['canary'] } }, first: [uuids[9]] },
    { name: 'unknown canary VM is ignored', canaries: { vms: ['f'.repeat(32)] }, first: byHash.slice(0, 2) },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const ordered = orderCandidates(uuids.map((u) => cand(u, c.patch?.[u])), { vms: [], clusters: [], tags: [], ...c.canaries });
      assert.deepEqual(ordered.slice(0, c.first.length).map((o) => o.uuid), c.first);
      assert.equal(ordered.length, uuids.length);
      assert.equal(ordered.filter((o) => o.canary).length, c.name.startsWith('no') || c.name.startsWith('unknown') ? 0 : c.first.length);
    });
  }

  it('is stable whatever the input order, and drops duplicates', () => {
    const a = orderCandidates(uuids.map((u) => cand(u)), { vms: [], clusters: [], tags: [] });
    const b = orderCandidates([...uuids].reverse().concat(uuids[0]).map((u) => cand(u)), { vms: [], clusters: [], tags: [] });
    assert.deepEqual(a.map((x) => x.uuid), b.map((x) => x.uuid));
  });

  it('places members into waves by cumulative size', () => {
    const ordered = orderCandidates(uuids.map((u) => cand(u)), { vms: [], clusters: [], tags: [] });
    const placed = placeMembers(ordered, waveSizes(steps('1,25%,100%'), uuids.length));
    assert.deepEqual(placed.map((p) => p.wave), [1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
    assert.deepEqual(placed.map((p) => p.position), [...Array(12).keys()]);
  });
});

describe('state machine', () => {
  const cases: [string, 'pause' | 'resume' | 'abort' | 'complete', string | null][] = [
    ['active', 'pause', 'paused'],
    ['active', 'abort', 'aborted'],
    ['active', 'complete', 'completed'],
    ['active', 'resume', null],
    ['paused', 'resume', 'active'],
    ['paused', 'abort', 'aborted'],
    ['paused', 'pause', null],
    ['paused', 'complete', null],
    ['completed', 'resume', null],
    ['completed', 'abort', null],
    ['aborted', 'resume', null],
    ['aborted', 'pause', null],
  ];
  for (const [from, action, to] of cases) {
    it(`${from} --${action}--> ${to ?? 'refused'}`, () => assert.equal(nextState(from as 'active', action), to));
  }
  it('names what is allowed on a refused transition, with exit code 6', () => {
    const e = refusedTransition(3, 'aborted', 'resume');
    assert.equal(e.exitCode, 6);
    assert.match(e.message, /cannot resume rollout 3: it is aborted; allowed from aborted: none/);
    assert.match(allowedFrom('paused'), /resume \(-> active\), abort \(-> aborted\)/);
    for (const s of ROLLOUT_STATES) assert.ok(TRANSITIONS[s]);
  });
});

describe('wave progression', () => {
  const MIN = 60_000;
  const wave = (number: number, startedAt: number | null, patch: Partial<WaveView> = {}): WaveView =>
    ({ number, startedAt, completedAt: null, soakUntil: null, errorsAcknowledged: 0, ...patch });
  const base = (patch: Partial<ProgressInput>): ProgressInput => ({
    state: 'active',
    waves: [wave(1, 0), wave(2, null)],
    members: [],
    soakMs: 10 * MIN,
    waveTimeoutMs: 60 * MIN,
    maxErrors: { kind: 'count', value: 1 },
    now: MIN,
    ...patch,
  });
  const members = (w1: MemberStatus[], w2: MemberStatus[] = ['pending', 'pending']) => [
    ...w1.map((status, i) => ({ vmUuid: `a${i}`, wave: 1, status, reason: null as string | null, target: '1.2.0' })),
    ...w2.map((status, i) => ({ vmUuid: `b${i}`, wave: 2, status, reason: null as string | null, target: '1.2.0' })),
  ];
  const kinds = (input: ProgressInput) => progress(input).map((s) => s.kind);

  const cases: { name: string; input: ProgressInput; want: string[] }[] = [
    { name: 'members still installing: nothing', input: base({ members: members(['verified', 'attached']) }), want: [] },
    { name: 'all verified: wave completes, soak starts', input: base({ members: members(['verified', 'verified']) }), want: ['complete-wave'] },
    { name: 'verified, skipped and one failure within budget complete the wave', input: base({ members: members(['verified', 'skipped', 'failed']) }), want: ['complete-wave'] },
    { name: 'zero soak: the next wave starts at once', input: base({ soakMs: 0, members: members(['verified']) }), want: ['complete-wave', 'start-wave'] },
    {
      name: 'soak not over: wait',
      input: base({ waves: [wave(1, 0, { completedAt: MIN, soakUntil: 11 * MIN }), wave(2, null)], members: members(['verified']), now: 5 * MIN }),
      want: [],
    },
    {
      name: 'soak over: next wave starts',
      input: base({ waves: [wave(1, 0, { completedAt: MIN, soakUntil: 11 * MIN }), wave(2, null)], members: members(['verified']), now: 11 * MIN }),
      want: ['start-wave'],
    },
    {
      name: 'last wave done: rollout completes',
      input: base({ waves: [wave(1, 0, { completedAt: MIN, soakUntil: MIN }), wave(2, MIN)], members: members(['verified'], ['verified', 'skipped']) }),
      want: ['complete-wave', 'complete-rollout'],
    },
    { name: 'wave timeout: unfinished members fail, within budget the wave completes', input: base({ members: members(['verified', 'attached']), now: 60 * MIN }), want: ['time-out', 'complete-wave'] },
    { name: 'wave timeout beyond the budget pauses', input: base({ members: members(['attached', 'pending']), now: 61 * MIN }), want: ['time-out', 'pause'] },
    { name: 'failures above max-errors pause', input: base({ members: members(['failed', 'failed']) }), want: ['pause'] },
    { name: 'failures acknowledged by a resume do not pause again', input: base({ members: members(['failed', 'failed']), waves: [wave(1, 0, { errorsAcknowledged: 2 }), wave(2, null)] }), want: ['complete-wave'] },
    { name: 'percent budget rounds down over the wave own members', input: base({ maxErrors: { kind: 'percent', value: 50 }, members: members(['failed', 'verified'], ['pending', 'pending']) }), want: ['complete-wave'] },
    { name: 'the default 5% of a one-member canary wave is 0: one failed canary pauses', input: base({ maxErrors: { kind: 'percent', value: 5 }, members: members(['failed'], Array(99).fill('pending')) }), want: ['pause'] },
    { name: 'failures of an earlier wave do not count against the current one', input: base({ waves: [wave(1, 0, { completedAt: 0, soakUntil: 0 }), wave(2, 0)], members: members(['failed', 'failed'], ['verified', 'attached']) }), want: [] },
    { name: 'attached members are not done: the wave waits for evidence', input: base({ members: members(['attached', 'verified']) }), want: [] },
    { name: 'the default 5% budget: one canary without evidence at the timeout pauses', input: base({ maxErrors: { kind: 'percent', value: 5 }, members: members(['attached'], Array(99).fill('pending')), now: 60 * MIN }), want: ['time-out', 'pause'] },
    {
      name: 'wave timeout: stopped members move to the last wave instead of failing',
      input: base({ members: [{ vmUuid: 'a0', wave: 1, status: 'pending', reason: 'not-running', target: '1.2.0' }, ...members(['verified'], [])], now: 60 * MIN }),
      want: ['time-out', 'complete-wave'],
    },
    { name: 'paused: nothing', input: base({ state: 'paused', members: members(['verified']) }), want: [] },
    { name: 'completed: nothing', input: base({ state: 'completed', members: members(['verified']) }), want: [] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(kinds(c.input), c.want));

  it('started members are those of started waves', () => {
    const m = members(['pending'], ['pending']);
    assert.deepEqual([...startedMembers(base({}).waves, m)], [['a0', '1.2.0']]);
  });
});

describe('member observation', () => {
  const JOINED = 1_000_000;
  const obs = (patch: Partial<RunObservation>): RunObservation => ({
    vmUuid: 'a', vmName: 'vm-a', agentType: 'LinuxOnKvm', architecture: 'x86_64', guestAgent: true, action: 'defer', reason: 'not-in-wave', current: '1.0.0',
    source: 'guest', target: '1.2.0', outcome: null, errorCode: null, lostAttachAt: null, ...patch,
  });
  const cases: { name: string; from: MemberStatus; o: RunObservation | undefined; full?: boolean; want: string | null }[] = [
    { name: 'attach verified in the run', from: 'pending', o: obs({ action: 'attach', outcome: 'verified' }), want: 'verified' },
    { name: 'attach awaiting install', from: 'pending', o: obs({ action: 'attach', outcome: 'attached' }), want: 'attached' },
    { name: 'attach failed', from: 'pending', o: obs({ action: 'attach', outcome: 'failed', errorCode: 'SYS.1006' }), want: 'failed/SYS.1006' },
    { name: 'guest now reports the target', from: 'attached', o: obs({ action: 'skip', reason: 'up-to-date', current: '1.2.0' }), want: 'verified' },
    { name: 'a tag we did not send shows the target', from: 'attached', o: obs({ action: 'skip', reason: 'up-to-date', current: '1.2.0', source: 'tag', guestAgent: false }), want: 'verified' },
    { name: 'our own tag is no evidence', from: 'attached', o: obs({ reason: 'awaiting-install', current: '1.2.0', source: 'sent-tag', guestAgent: false }), want: null },
    { name: 'our own tag is no evidence right after the attach either', from: 'pending', o: obs({ action: 'attach', outcome: 'attached', current: '1.2.0', source: 'sent-tag' }), want: 'attached' },
    { name: 'ahead counts as verified', from: 'pending', o: obs({ action: 'skip', reason: 'ahead', current: '1.3.0' }), want: 'verified' },
    { name: 'still awaiting install', from: 'attached', o: obs({ reason: 'awaiting-install' }), want: null },
    { name: 'attached before a crash', from: 'pending', o: obs({ reason: 'awaiting-install' }), want: 'attached' },
    { name: 'a failed member waiting is still failed', from: 'failed', o: obs({ reason: 'awaiting-install' }), want: null },
    // A member attached without a guest agent waits for evidence like any other: no done-without-evidence.
    { name: 'attached without a guest agent: attached, not done', from: 'pending', o: obs({ action: 'attach', outcome: 'attached', guestAgent: false, source: 'tag' }), want: 'attached' },
    { name: 'lost job in the run: failed for the wave', from: 'pending', o: obs({ action: 'attach', outcome: 'in-doubt', errorCode: 'GTR_JOB_LOST' }), want: 'failed/GTR_JOB_LOST' },
    { name: 'other doubt (SYS.1001): attached, waiting for evidence', from: 'pending', o: obs({ action: 'attach', outcome: 'in-doubt', errorCode: 'SYS.1001' }), want: 'attached/SYS.1001' },
    { name: 'lost job found by the replay of a crashed run', from: 'pending', o: obs({ reason: 'awaiting-install', lostAttachAt: JOINED + 1 }), want: 'failed/GTR_JOB_LOST' },
    { name: 'lost job found later, member attached meanwhile', from: 'attached', o: obs({ reason: 'awaiting-install', lostAttachAt: JOINED + 1 }), want: 'failed/GTR_JOB_LOST' },
    { name: 'a lost job from before the member joined is not its', from: 'pending', o: obs({ reason: 'awaiting-install', lostAttachAt: JOINED - 1 }), want: 'attached' },
    { name: 'a lost member whose guest shows the target after all is verified', from: 'failed', o: obs({ action: 'skip', reason: 'up-to-date', current: '1.2.0', lostAttachAt: JOINED + 1 }), want: 'verified' },
    { name: 'a member failed without evidence is verified when the guest reports later', from: 'failed', o: obs({ action: 'skip', reason: 'up-to-date', current: '1.2.0' }), want: 'verified' },
    { name: 'CD-ROM removed: skipped for good', from: 'pending', o: obs({ action: 'skip', reason: 'no-cdrom' }), want: 'skipped/no-cdrom' },
    { name: 'catalog mismatch is not final', from: 'pending', o: obs({ action: 'skip', reason: 'catalog-mismatch' }), want: null },
    { name: 'gone from a full run', from: 'pending', o: undefined, full: true, want: 'skipped/gone' },
    { name: 'not seen by a --vm run', from: 'pending', o: undefined, full: false, want: null },
    { name: 'verified stays verified', from: 'verified', o: obs({ action: 'attach', outcome: 'failed' }), want: null },
    { name: 'a stopped pending member is noted', from: 'pending', o: obs({ reason: 'not-running' }), want: 'pending/not-running' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = observeMember({ status: c.from, target: '1.2.0', reason: null, joinedAt: JOINED }, c.o, c.full ?? true);
      assert.equal(got === null ? null : got.reason ? `${got.status}/${got.reason}` : got.status, c.want);
    });
  }
  it('candidates are out-of-date, eligible VMs with a target', () => {
    assert.equal(isCandidate(obs({})), true);
    assert.equal(isCandidate(obs({ action: 'attach', reason: 'outdated' })), true);
    assert.equal(isCandidate(obs({ target: null })), false);
    assert.equal(isCandidate(obs({ reason: 'not-running' })), false);
    assert.equal(isCandidate(obs({ action: 'skip', reason: 'up-to-date' })), false);
  });
});

describe('attach gate', () => {
  const HOUR = 3_600_000;
  const policy = (p: Partial<GatePolicy> = {}): GatePolicy => ({ mode: 'auto', isoSoakMs: 0, autoStart: false, ...p });
  const facts = (f: Partial<GateFacts> = {}): GateFacts => ({ open: [], lastRollout: new Map(), firstSeen: new Map(), now: 10 * HOUR, ...f });
  const rollout = (state: 'active' | 'paused', started: string[]) => ({ id: 1, agentTypes: ['WindowsOnKvm' as const], state, started: new Map(started.map((vm) => [vm, '1.2.0'])) });
  const cases: { name: string; p?: Partial<GatePolicy>; f?: Partial<GateFacts>; vm?: string; agent?: 'WindowsOnKvm' | 'LinuxOnKvm'; target?: string; want: string | null }[] = [
    { name: 'auto mode, no rollout: attach', want: null },
    { name: 'rollout mode, no rollout: wait', p: { mode: 'rollout' }, want: 'not-in-wave' },
    { name: 'member of a started wave', f: { open: [rollout('active', ['v1'])] }, want: null },
    { name: 'member of a later wave', f: { open: [rollout('active', ['v2'])] }, want: 'not-in-wave' },
    { name: 'paused rollout attaches nothing', f: { open: [rollout('paused', ['v1'])] }, want: 'not-in-wave' },
    { name: 'other target than the rollout', f: { open: [rollout('active', ['v1'])] }, target: '1.3.0', want: 'not-in-wave' },
    { name: 'other agent type, auto mode', f: { open: [rollout('active', [])] }, agent: 'LinuxOnKvm', want: null },
    { name: 'other agent type, rollout mode', p: { mode: 'rollout' }, f: { open: [rollout('active', [])] }, agent: 'LinuxOnKvm', want: 'not-in-wave' },
    { name: 'new ISO soaking', p: { isoSoakMs: 2 * HOUR }, f: { firstSeen: new Map([['WindowsOnKvm/1.2.0', 9 * HOUR]]) }, want: 'iso-soak' },
    { name: 'ISO soak over', p: { isoSoakMs: 2 * HOUR }, f: { firstSeen: new Map([['WindowsOnKvm/1.2.0', 8 * HOUR]]) }, want: null },
    { name: 'never seen: soaking from now', p: { isoSoakMs: 1 }, want: 'iso-soak' },
    { name: 'a completed rollout lifts the soak', p: { isoSoakMs: 2 * HOUR }, f: { lastRollout: new Map([['WindowsOnKvm/1.2.0', 'completed' as const]]) }, want: null },
    { name: 'an aborted rollout holds the version', f: { lastRollout: new Map([['WindowsOnKvm/1.2.0', 'aborted' as const]]) }, want: 'not-in-wave' },
    { name: 'autoStart: new versions wait for their rollout', p: { autoStart: true }, want: 'not-in-wave' },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(gateReason(policy(c.p), facts(c.f), { vmUuid: c.vm ?? 'v1', agentType: c.agent ?? 'WindowsOnKvm', target: c.target ?? '1.2.0' }), c.want));
  }
});
