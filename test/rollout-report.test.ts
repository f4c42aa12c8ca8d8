// What the running wave waits for, as JSON (`waiting`), in `gtr rollout status` and on the status page:
// the same members and columns in both, at most 20 then a count, and a budget of 0 in words.
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { localTime } from '../src/time-format.js';
import { tempLedger, type TempLedger } from './helpers/ledger.js';
import { HEX as uuid } from './helpers/fleet.js';
/** How the human output prints an instant (local time with its offset), as a regex. */
const at = (ms: number) => localTime(ms).replace(/[+]/g, '\\+');
import { Ledger } from '../src/ledger/index.js';
import { RolloutStore } from '../src/rollout/store.js';
import { startRollout } from '../src/rollout/start.js';
import { parseWaveSpec, type WaveStep } from '../src/count-or-percent.js';
import type { RunObservation } from '../src/rollout/observe.js';
import { memberState, rolloutJson, WAITING_SHOWN } from '../src/rollout/report.js';
import { renderRollout, summaryLine } from '../src/cli/commands/rollout-render.js';
import { rolloutsSection } from '../src/daemon/status-page/sections.js';

const HOUR = 3_600_000;
let t: TempLedger;
let ledger: Ledger;
let store: RolloutStore;
beforeEach(() => {
  t = tempLedger('gtr-rollout-report-');
  ledger = t.ledger;
  store = new RolloutStore(ledger);
});
afterEach(() => {
  t.cleanup();
});

/** VM names are user input: every one here is markup, which the page must show as text. */
const nameOf = (n: number) => `<b onmouseover=x>vm-${n}</b>`;

/** A rollout whose first wave has `size` members, all attached at 2000 (no guest agent) but the first (pending). */
function waitingRollout(size: number, maxErrors: number) {
  const spec = `${size},100%`;
  const { id, members } = startRollout(store, {
    agentTypes: ['LinuxOnKvm'],
    candidates: Array.from({ length: size + 5 }, (_, i) => ({
      uuid: uuid(i + 1), name: nameOf(i + 1), agentType: 'LinuxOnKvm' as const, architecture: 'x86_64', target: '1.2.0', clusterUuid: null, tags: [],
    })),
    canaries: { vms: [], clusters: [], tags: [] }, wavesSpec: spec, steps: parseWaveSpec(spec) as WaveStep[],
    soakMs: 0, waveTimeoutMs: HOUR, maxErrors: { kind: 'count', value: maxErrors }, who: 'alice@mn1', why: 'test', now: 1000,
  });
  const obs = (vmUuid: string, patch: Partial<RunObservation>): RunObservation => ({
    vmUuid, vmName: 'x', agentType: 'LinuxOnKvm', architecture: 'x86_64', guestAgent: false, action: 'attach', reason: 'outdated', current: '1.0.0',
    source: 'tag', target: '1.2.0', outcome: 'attached', errorCode: null, lostAttachAt: null, ...patch,
  });
  const wave1 = members.filter((m) => m.wave === 1).map((m) => m.uuid);
  store.observe(id, new Map(wave1.map((u, i) => [u, i === 0 ? obs(u, { action: 'defer', reason: 'cdrom-busy', outcome: null }) : obs(u, {})])), [], false, 2000);
  return { json: rolloutJson(store.get(id)!, 3000, { members: true, transitions: true }), wave1 };
}

describe('what the running wave waits for', () => {
  it('lists the unfinished members with since and until when, in JSON, the CLI and the page; a budget of 0 is "no failures allowed"', () => {
    const { json, wave1 } = waitingRollout(3, 0);
    const w = json.waiting;
    assert.ok(w);
    assert.deepEqual([w.wave, w.waveMembers, w.total, w.timesOutAt], [1, 3, 3, new Date(1000 + HOUR).toISOString()]);
    assert.deepEqual(w.members.map((m) => [m.vmUuid, m.state, m.waitingSince]), [
      [wave1[0], 'pending', new Date(1000).toISOString()],
      [wave1[1], 'attached (no guest agent)', new Date(2000).toISOString()],
      [wave1[2], 'attached (no guest agent)', new Date(2000).toISOString()],
    ]);
    assert.match(summaryLine(json), new RegExp(`0 failed \\(max 0 per wave; wave 1: 0 failed, no failures allowed\\); wave 1 waits for 3 members, times out at ${at(3_601_000)}`));
    const text = renderRollout(json);
    assert.match(text, new RegExp(`Wave 1 waits for 3 of its 3 members until ${at(3_601_000)}`));
    const second = Number.parseInt(wave1[1], 16);
    assert.match(text, new RegExp(`${nameOf(second)}\\s+${wave1[1]}\\s+attached \\(no guest agent\\)\\s+${at(2_000)}\\s+${at(3_601_000)}`));

    const page = rolloutsSection([json], 3000).text;
    assert.match(page, /<span data-budget>wave 1: 0 failed, no failures allowed<\/span>/);
    assert.doesNotMatch(page, /of budget 0/);
    assert.ok(page.includes(`<tr data-member="${wave1[1]}"><td data-col="name">&lt;b onmouseover=x&gt;vm-${second}&lt;/b&gt;</td>`), 'a VM name is text on the page');
    assert.doesNotMatch(page, /<b onmouseover/);
    for (const m of w.members) assert.ok(page.includes(`<td data-col="state">${m.state}</td><td data-col="waiting-since">${m.waitingSince}</td><td data-col="times-out-at">${m.timesOutAt}</td>`));
  });

  it('shows at most 20 members, then a count', () => {
    const { json } = waitingRollout(WAITING_SHOWN + 3, 2);
    assert.equal(json.waiting?.total, WAITING_SHOWN + 3);
    assert.equal(json.waiting?.members.length, WAITING_SHOWN);
    assert.match(renderRollout(json), /\.\.\. and 3 more \(gtr rollout status 1 --json lists every member\)/);
    assert.match(rolloutsSection([json], 3000).text, /\.\.\. and 3 more/);
    assert.match(summaryLine(json), /wave 1: 0 failed, at most 2 allowed/);
  });

  it('names each member state in words', () => {
    assert.equal(memberState({ status: 'pending', reason: 'not-running', guestAgent: null }), 'pending (not running)');
    assert.equal(memberState({ status: 'attached', reason: null, guestAgent: true }), 'attached (guest agent runs)');
    assert.equal(memberState({ status: 'attached', reason: 'SYS.1001', guestAgent: false }), 'attached (SYS.1001; no guest agent)');
    assert.equal(memberState({ status: 'failed', reason: 'no-evidence', guestAgent: false }), 'failed (no-evidence)');
  });
});
