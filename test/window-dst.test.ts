// Maintenance windows end at local wall time across DST changes: the
// close is the instant the local clock reaches the end, not now + the minutes the clock showed to it.
// Europe/Berlin: spring forward 2025-03-30 01:00Z (02:00 CET -> 03:00 CEST), fall back 2025-10-26
// 01:00Z (03:00 CEST -> 02:00 CET). America/New_York: spring forward 2025-03-09 07:00Z (02:00 EST ->
// 03:00 EDT), fall back 2025-11-02 06:00Z (02:00 EDT -> 01:00 EST). All four are Sundays.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StartPath } from '../src/apply/start-path.js';
import type { MaintenanceWindow } from '../src/config/schema.js';
import { isWindowOpen, nextWindowOpening, windowClosesAt } from '../src/schedule/window.js';
import { instantsOfWall, nextOffsetChange, offsetAt } from '../src/schedule/zone-time.js';
import type { AttachGate } from '../src/plan/gates.js';
import { WindowGate } from '../src/schedule/window-gate.js';
import { newJobUuid } from '../src/zstack/client.js';

const at = (iso: string) => Date.parse(iso);
const z = (ms: number) => new Date(ms).toISOString();
const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
const sun = (start: string, end: string): MaintenanceWindow[] => [{ days: ['sun'], start, end }];

describe('window close across DST: the local wall-clock end, converted in the zone', () => {
  const cases: { name: string; windows: MaintenanceWindow[]; tz: string; now: string; closes: string }[] = [
    { name: 'Berlin spring forward: Sun 01:00-04:00 from 01:30 CET closes 04:00 CEST', windows: sun('01:00', '04:00'), tz: BERLIN, now: '2025-03-30T00:30:00Z', closes: '2025-03-30T02:00:00.000Z' },
    { name: 'Berlin fall back: Sun 01:00-04:00 from 01:30 CEST closes 04:00 CET', windows: sun('01:00', '04:00'), tz: BERLIN, now: '2025-10-25T23:30:00Z', closes: '2025-10-26T03:00:00.000Z' },
    { name: 'New York spring forward: Sun 01:00-04:00 from 01:30 EST closes 04:00 EDT', windows: sun('01:00', '04:00'), tz: NEW_YORK, now: '2025-03-09T06:30:00Z', closes: '2025-03-09T08:00:00.000Z' },
    { name: 'New York fall back: Sun 00:30-03:00 from 00:45 EDT closes 03:00 EST', windows: sun('00:30', '03:00'), tz: NEW_YORK, now: '2025-11-02T04:45:00Z', closes: '2025-11-02T08:00:00.000Z' },
    { name: 'Berlin, crossing midnight into spring forward: Sat 22:00-04:00 from 23:00 CET closes Sun 04:00 CEST', windows: [{ days: ['sat'], start: '22:00', end: '04:00' }], tz: BERLIN, now: '2025-03-29T22:00:00Z', closes: '2025-03-30T02:00:00.000Z' },
    { name: 'New York, crossing midnight into fall back: Sat 23:00-02:00 from 23:30 EDT closes at 02:00 EST (02:00 EDT never shows)', windows: [{ days: ['sat'], start: '23:00', end: '02:00' }], tz: NEW_YORK, now: '2025-11-02T03:30:00Z', closes: '2025-11-02T07:00:00.000Z' },
    { name: 'Berlin, crossing midnight with no change: Sat 22:00-04:00 from 23:00 CET closes 04:00 CET', windows: [{ days: ['sat'], start: '22:00', end: '04:00' }], tz: BERLIN, now: '2025-03-22T22:00:00Z', closes: '2025-03-23T03:00:00.000Z' },
    { name: 'Berlin, end in the skipped hour: Sun 01:00-02:30 closes when the clock jumps to 03:00', windows: sun('01:00', '02:30'), tz: BERLIN, now: '2025-03-30T00:30:00Z', closes: '2025-03-30T01:00:00.000Z' },
    { name: 'Berlin, end in the repeated hour: Sun 01:00-02:30 from 01:30 CEST closes at the first 02:30', windows: sun('01:00', '02:30'), tz: BERLIN, now: '2025-10-25T23:30:00Z', closes: '2025-10-26T00:30:00.000Z' },
    { name: 'Berlin, in the repeated hour itself (02:10 CET): closes at the second 02:30', windows: sun('01:00', '02:30'), tz: BERLIN, now: '2025-10-26T01:10:00Z', closes: '2025-10-26T01:30:00.000Z' },
    { name: 'Berlin, touching windows across the jump: 01:00-02:00 then 02:00-04:00 close 04:00 CEST', windows: [...sun('01:00', '02:00'), ...sun('02:00', '04:00')], tz: BERLIN, now: '2025-03-30T00:30:00Z', closes: '2025-03-30T02:00:00.000Z' },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(z(windowClosesAt(c.windows, c.tz, at(c.now))), c.closes));
  }

  it('open and closed by the local clock on either side of the converted end', () => {
    const w = sun('01:00', '04:00');
    assert.equal(isWindowOpen(w, BERLIN, at('2025-03-30T01:59:59Z')), true, '03:59:59 CEST');
    assert.equal(isWindowOpen(w, BERLIN, at('2025-03-30T02:00:00Z')), false, '04:00 CEST');
    assert.equal(isWindowOpen(w, NEW_YORK, at('2025-11-02T08:59:59Z')), true, '03:59:59 EST');
  });
});

describe('next opening across DST', () => {
  it('Berlin: Sun 05:00 after the spring change opens at 05:00 CEST', () => {
    assert.equal(z(nextWindowOpening(sun('05:00', '06:00'), BERLIN, at('2025-03-29T12:00:00Z')) ?? 0), '2025-03-30T03:00:00.000Z');
  });
  it('New York: Sun 05:00 after the autumn change opens at 05:00 EST', () => {
    assert.equal(z(nextWindowOpening(sun('05:00', '06:00'), NEW_YORK, at('2025-11-01T16:00:00Z')) ?? 0), '2025-11-02T10:00:00.000Z');
  });
  it('a window wholly in the skipped hour does not open that day', () => {
    assert.equal(z(nextWindowOpening(sun('02:00', '02:30'), BERLIN, at('2025-03-29T12:00:00Z')) ?? 0), '2025-04-06T00:00:00.000Z');
  });
  it('a window ending in the repeated hour opens again when the clock falls back into it', () => {
    assert.equal(isWindowOpen(sun('01:00', '02:30'), BERLIN, at('2025-10-26T01:00:00Z')), true, '02:00 CET');
    assert.equal(z(nextWindowOpening(sun('01:00', '02:30'), BERLIN, at('2025-10-26T00:30:00Z')) ?? 0), '2025-10-26T01:00:00.000Z');
  });
});

describe('zone time', () => {
  it('wall times: once, twice in the repeated hour, the jump for the skipped hour', () => {
    const wall = (iso: string) => Date.parse(`${iso}Z`);
    assert.deepEqual(instantsOfWall(wall('2025-03-30T04:00:00'), BERLIN).map(z), ['2025-03-30T02:00:00.000Z']);
    assert.deepEqual(instantsOfWall(wall('2025-10-26T02:30:00'), BERLIN).map(z), ['2025-10-26T00:30:00.000Z', '2025-10-26T01:30:00.000Z']);
    assert.deepEqual(instantsOfWall(wall('2025-03-30T02:30:00'), BERLIN).map(z), ['2025-03-30T01:00:00.000Z']);
    assert.deepEqual(instantsOfWall(wall('2025-03-09T02:15:00'), NEW_YORK).map(z), ['2025-03-09T07:00:00.000Z']);
    assert.deepEqual(instantsOfWall(wall('2025-06-01T12:00:00'), 'Asia/Shanghai').map(z), ['2025-06-01T04:00:00.000Z']);
  });
  it('offset changes, to the second', () => {
    assert.equal(offsetAt(at('2025-03-30T00:59:59Z'), BERLIN), 3_600_000);
    assert.equal(offsetAt(at('2025-03-30T01:00:00Z'), BERLIN), 7_200_000);
    assert.equal(z(nextOffsetChange(at('2025-03-30T00:30:00Z'), at('2025-03-30T02:00:00Z'), BERLIN) ?? 0), '2025-03-30T01:00:00.000Z');
    assert.equal(z(nextOffsetChange(at('2025-11-01T12:00:00Z'), at('2025-11-03T00:00:00Z'), NEW_YORK) ?? 0), '2025-11-02T06:00:00.000Z');
    assert.equal(nextOffsetChange(at('2025-06-01T00:00:00Z'), at('2025-06-08T00:00:00Z'), BERLIN), null);
  });
});

describe('WindowGate with an injected clock', () => {
  it('Berlin spring forward: a run started at 01:30 CET stops starting at 04:00 CEST (02:00Z), not 05:00 CEST', () => {
    const gate = new WindowGate(sun('01:00', '04:00'), BERLIN, at('2025-03-30T00:30:00Z'));
    assert.equal(z(gate.closesAt), '2025-03-30T02:00:00.000Z');
    for (const t of ['2025-03-30T00:30:00Z', '2025-03-30T00:59:59Z', '2025-03-30T01:00:00Z', '2025-03-30T01:59:59.999Z']) assert.equal(gate.check(null, at(t)), null, t);
    for (const t of ['2025-03-30T02:00:00Z', '2025-03-30T02:30:00Z', '2025-03-30T02:59:00Z']) assert.equal(gate.check(null, at(t)), 'outside-window', t);
  });

  it('New York fall back: a run started at 00:45 EDT keeps starting until 03:00 EST (08:00Z), then never again', () => {
    const gate = new WindowGate(sun('00:30', '03:00'), NEW_YORK, at('2025-11-02T04:45:00Z'));
    for (const t of ['2025-11-02T05:59:59Z', '2025-11-02T06:00:00Z', '2025-11-02T07:00:00Z', '2025-11-02T07:59:59Z']) assert.equal(gate.check(null, at(t)), null, t);
    assert.equal(gate.check(null, at('2025-11-02T08:00:00Z')), 'outside-window');
    assert.equal(gate.check(null, at('2025-11-02T07:30:00Z')), 'outside-window', 'closed for the rest of the run, also if the clock steps back');
  });

  it('a window ending in the repeated hour stays closed for the run when the clock falls back into it', () => {
    const gate = new WindowGate(sun('01:00', '02:30'), BERLIN, at('2025-10-25T23:30:00Z'));
    assert.equal(gate.check(null, at('2025-10-26T00:29:59Z')), null);
    assert.equal(gate.check(null, at('2025-10-26T00:30:00Z')), 'outside-window');
    assert.equal(gate.check(null, at('2025-10-26T01:10:00Z')), 'outside-window', '02:10 CET: open by the clock, but this run has stopped');
  });

  it('through the start path as apply uses it: permits until 04:00 CEST, then outside-window', async () => {
    let clock = at('2025-03-30T00:30:00Z');
    const fence: AttachGate = { name: 'lease', check: () => null };
    const start = StartPath.open({}, fence, [new WindowGate(sun('01:00', '04:00'), BERLIN, clock)], () => clock);
    const subject = { vmUuid: 'vm-1', agentType: 'LinuxOnKvm' as const, architecture: 'x86_64', target: '1.2.0' };
    const answers: [string, string][] = [];
    for (const t of ['2025-03-30T00:45:00Z', '2025-03-30T01:00:00Z', '2025-03-30T01:59:00Z', '2025-03-30T02:00:00Z', '2025-03-30T02:59:00Z']) {
      clock = at(t);
      const answer = await start.start({ api: 'AttachGuestToolsIsoToVm', subject, jobUuid: newJobUuid(), record: () => {} });
      answers.push([t, answer.permit ? 'permit' : (answer.refusal?.reason ?? '')]);
    }
    assert.deepEqual(answers, [
      ['2025-03-30T00:45:00Z', 'permit'],
      ['2025-03-30T01:00:00Z', 'permit'],
      ['2025-03-30T01:59:00Z', 'permit'],
      ['2025-03-30T02:00:00Z', 'outside-window'],
      ['2025-03-30T02:59:00Z', 'outside-window'],
    ]);
  });

  it('stays cheap per attach: 200k checks across the offset change', () => {
    const gate = new WindowGate(sun('01:00', '04:00'), BERLIN, at('2025-03-30T00:30:00Z'));
    const from = at('2025-03-30T00:30:00Z');
    const started = performance.now();
    for (let i = 0; i < 200_000; i++) gate.check(null, from + i * 30); // 100 minutes, across 01:00Z
    const ms = performance.now() - started;
    assert.ok(ms < 250, `${ms.toFixed(1)} ms for 200k checks`);
  });
});
