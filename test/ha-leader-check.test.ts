// ha.leaderCheck, each kind evaluated for real: commands run as child processes (no shell), the VIP
// looked up on this machine's interfaces (127.0.0.1 is local, 10.255.255.1 is not), zsha2 played by a
// fake script (test/helpers/fake-zsha2.ts: the real one needs an MN pair). Any doubt means standby.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateLeaderCheck, LeaderCheck, MAX_ANSWER_AGE_MS, type LeaderAnswer } from '../src/ha/leader-check.js';
import { leaderGate } from '../src/ha/leader-gate.js';
import { fakeZsha2 } from './helpers/fake-zsha2.js';
import { waitFor } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gtr-leader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ZSHA2_STATUS = { peerReachable: true, gwReachable: true, vipReachable: true, dbStatus: 'running', mnStatus: 'running', timeToSyncDB: 0, slaveIoRunning: true, slaveSqlRuning: true };
const subject = { vmUuid: 'vm-1', agentType: 'LinuxOnKvm' as const, architecture: 'x86_64', target: '1.2.0' };

describe('ha.leaderCheck {"command"}', () => {
  it('exit 0 leads, another exit code is standby with that code, and nothing goes through a shell', async () => {
    assert.deepEqual(await evaluateLeaderCheck({ kind: 'command', argv: ['/bin/true'] }), { role: 'leader', failed: false, reason: '/bin/true exited 0' });
    const standby = await evaluateLeaderCheck({ kind: 'command', argv: ['/bin/sh', '-c', 'echo "peer holds the VIP" >&2; exit 3'] });
    assert.equal(standby.role, 'standby');
    assert.equal(standby.failed, false);
    assert.match(standby.reason, /exited 3: peer holds the VIP/);
    // A shell metacharacter in an argument stays an argument.
    const marker = join(dir, 'injected');
    const literal = await evaluateLeaderCheck({ kind: 'command', argv: ['/bin/echo', `; touch ${marker}`] });
    assert.equal(literal.role, 'leader');
    assert.equal(existsSync(marker), false);
  });

  it('a program that is missing, not executable or hangs is a failed check: standby, saying why', async () => {
    const missing = await evaluateLeaderCheck({ kind: 'command', argv: [join(dir, 'no-such-check')] });
    assert.deepEqual([missing.role, missing.failed], ['standby', true]);
    assert.match(missing.reason, /no-such-check not found/);

    const plain = join(dir, 'not-executable');
    writeFileSync(plain, 'exit 0\n', { mode: 0o644 });
    const denied = await evaluateLeaderCheck({ kind: 'command', argv: [plain] });
    assert.deepEqual([denied.role, denied.failed], ['standby', true]);
    assert.match(denied.reason, /not executable/);

    const hung = await evaluateLeaderCheck({ kind: 'command', argv: ['/bin/sleep', '30'] }, { timeoutMs: 300 });
    assert.deepEqual([hung.role, hung.failed], ['standby', true]);
    assert.match(hung.reason, /did not finish within 0.3 s/);
  });
});

describe('ha.leaderCheck {"vip"}', () => {
  it('leads while the address is on a local interface', async () => {
    const local = await evaluateLeaderCheck({ kind: 'vip', address: '127.0.0.1' });
    assert.equal(local.role, 'leader');
    assert.match(local.reason, /127\.0\.0\.1 is on interface \w+/);
    const remote = await evaluateLeaderCheck({ kind: 'vip', address: '10.255.255.1' });
    assert.deepEqual(remote, { role: 'standby', failed: false, reason: '10.255.255.1 is not on a local interface' });
  });

  it('IPv6 addresses compare in any spelling', async () => {
    const interfaces = () => ({ eth0: [{ address: 'fd00::10', netmask: 'ffff::', family: 'IPv6' as const, mac: '00:00:00:00:00:00', internal: false, cidr: 'fd00::10/64', scopeid: 0 }] });
    assert.equal((await evaluateLeaderCheck({ kind: 'vip', address: 'FD00:0:0::10' }, { interfaces })).role, 'leader');
  });

  it('interfaces that cannot be listed (netlink refused, as under a unit without AF_NETLINK) mean standby', async () => {
    // Mock: this machine lists its interfaces fine; the failure of uv_interface_addresses is played here.
    const interfaces = () => {
      throw new Error('A system error occurred: uv_interface_addresses returned Unknown system error 97');
    };
    const r = await evaluateLeaderCheck({ kind: 'vip', address: '127.0.0.1' }, { interfaces });
    assert.deepEqual([r.role, r.failed], ['standby', true]);
    assert.match(r.reason, /AF_NETLINK/);
  });
});

describe('ha.leaderCheck "zsha2" (a fake zsha2 script)', () => {
  const zsha2 = fakeZsha2(dir);
  const check = () => evaluateLeaderCheck({ kind: 'zsha2' }, { zsha2Path: zsha2.path });

  it('leads when the dbvip of show-config is on a local interface', async () => {
    zsha2.showConfig({ nodeip: '127.0.0.1', peerip: '10.255.255.2', dbvip: '127.0.0.1', nic: 'lo', peerport: 22, execUser: 'root' });
    zsha2.status({ ownsVip: false, ...ZSHA2_STATUS });
    const r = await check();
    assert.equal(r.role, 'leader');
    assert.match(r.reason, /zsha2 dbvip 127\.0\.0\.1 is on interface/);
  });

  it('else asks status -json: ownsVip true leads, false is standby', async () => {
    zsha2.showConfig({ nodeip: '127.0.0.1', peerip: '10.255.255.2', dbvip: '10.255.255.1', nic: 'eth0', peerport: 22, execUser: 'root' });
    zsha2.status({ ownsVip: false, ...ZSHA2_STATUS });
    const standby = await check();
    assert.deepEqual([standby.role, standby.failed], ['standby', false]);
    assert.match(standby.reason, /dbvip 10\.255\.255\.1 is not on a local interface, and zsha2 status says ownsVip false/);
    zsha2.status({ ownsVip: true, ...ZSHA2_STATUS });
    const leader = await check();
    assert.equal(leader.role, 'leader');
    assert.match(leader.reason, /ownsVip/);
  });

  it('"HA environment not installed", a missing zsha2 or output that is not JSON: a failed check, standby', async () => {
    zsha2.notInstalled();
    const notInstalled = await check();
    assert.deepEqual([notInstalled.role, notInstalled.failed], ['standby', true]);
    assert.match(notInstalled.reason, /HA environment not installed \(exit 1\)/);

    const missing = await evaluateLeaderCheck({ kind: 'zsha2' }, { zsha2Path: join(dir, 'nowhere', 'zsha2') });
    assert.deepEqual([missing.role, missing.failed], ['standby', true]);
    assert.match(missing.reason, /not found: ha.leaderCheck "zsha2" needs ZStack's HA tools on this node \(GTR_ZSHA2_PATH/);

    zsha2.showConfig('Traceback (most recent call last):\n');
    const garbled = await check();
    assert.deepEqual([garbled.role, garbled.failed], ['standby', true]);
    assert.match(garbled.reason, /printed no JSON object: Traceback/);
  });
});

describe('LeaderCheck (the gates\' role source)', () => {
  it('an answer older than 5 s reads standby (fail closed); the gate then defers as not-leader', async () => {
    let clock = 1_000_000;
    const check = new LeaderCheck({ kind: 'command', argv: ['/bin/true'] }, { now: () => clock });
    const gate = leaderGate(check);
    assert.equal(check.role(clock), 'standby', 'no answer yet');
    await check.check();
    assert.equal(check.role(clock + MAX_ANSWER_AGE_MS), 'leader');
    assert.equal(gate.check(subject, clock), null);
    assert.equal(check.role(clock + MAX_ANSWER_AGE_MS + 1), 'standby');
    assert.equal(gate.check(subject, clock + MAX_ANSWER_AGE_MS + 1), 'not-leader');
    assert.match(check.answerAt(clock + MAX_ANSWER_AGE_MS + 1).reason, /more than 5 s old/);
    assert.equal(gate.stopsRun, true);
    clock += 60_000;
    await check.check();
    assert.equal(check.role(clock), 'leader');
  });

  it('"none" always leads, without asking anything', () => {
    const check = new LeaderCheck({ kind: 'none' });
    assert.equal(check.role(Date.now() + 3_600_000), 'leader');
  });

  it('the background refresh follows the role, telling each change once, and stops', async () => {
    const flag = join(dir, 'leader-flag');
    const changes: [string | null, string][] = [];
    const check = new LeaderCheck({ kind: 'command', argv: ['/bin/sh', '-c', `test -e ${flag}`] }, {
      refreshEveryMs: 20,
      onRoleChange: (a: LeaderAnswer, previous) => changes.push([previous?.role ?? null, a.role]),
    });
    check.start();
    try {
      await waitFor('standby', () => check.lastAnswer()?.role === 'standby');
      writeFileSync(flag, '');
      await waitFor('leader', () => check.role(Date.now()) === 'leader');
      rmSync(flag);
      await waitFor('standby again', () => check.role(Date.now()) === 'standby');
      const checkedAt = check.lastAnswer()?.checkedAt ?? 0;
      await waitFor('a few more answers', () => (check.lastAnswer()?.checkedAt ?? 0) > checkedAt + 100);
      assert.deepEqual(changes, [[null, 'standby'], ['standby', 'leader'], ['leader', 'standby']]);
    } finally {
      check.stop();
    }
    const last = check.lastAnswer()?.checkedAt;
    await check.check();
    assert.notEqual(check.lastAnswer()?.checkedAt, last, 'a one-shot check still works after stop');
  });
});
