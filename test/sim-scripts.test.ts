// The simulator's script library over real HTTP: CreateGuestVmScript (validation in the job, the REST
// layer's type check), QueryGuestVmScript, ExecuteGuestVmScript with its record and details, every
// status spelling, unreachable VMs in both readings, stderr, timeouts, an MN without the library.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SimOptions } from '../src/sim/index.js';
import { errorOf, hex, rawMnHarness, simVm } from './helpers/raw-mn.js';

const mn = rawMnHarness({
  fleet: [
    simVm('1'), simVm('2'), simVm('3', { guest: { qgaState: 'NotRunning', version: '1.0.0' } }),
    simVm('4', { platform: 'Windows' }), simVm('5', { state: 'Stopped', hostUuid: null }),
  ],
  jobDurationMs: 1,
});

describe('simulator: CreateGuestVmScript and QueryGuestVmScript', () => {
  it('creates a script through a job and finds it by uuid and by name; unknown fields are ignored', async () => {
    const { c } = await mn();
    const inv = await c.createScript({ name: 'gtr install (linux)', scriptContent: 'echo hello', scriptTimeout: 300, whatever: 1 });
    assert.equal(inv.name, 'gtr install (linux)');
    assert.equal(inv.encodingType, 'PlainText');
    assert.equal(inv.scriptContent, 'echo hello');
    assert.equal(inv.scriptTimeout, 300);
    assert.equal(typeof inv.createDate, 'string');
    const byUuid = await c.inventories(`/scripts/${String(inv.uuid)}`);
    assert.deepEqual(byUuid, [inv]);
    const byName = await c.inventories(`/scripts?q=name=${encodeURIComponent('gtr install (linux)')}`);
    assert.equal(byName.length, 1);
    const bad = await c.get('/scripts?q=executedVmNum=1');
    assert.equal(bad.status, 503);
    assert.equal(errorOf(bad).code, 'SYS.1007');
  });

  it('keeps a caller-chosen resourceUuid and refuses it a second time', async () => {
    const { c } = await mn();
    const uuid = hex('a');
    assert.equal((await c.createScript({ name: 's', scriptContent: 'true', resourceUuid: uuid })).uuid, uuid);
    const again = await c.job('POST', '/scripts', { params: { name: 's', scriptContent: 'true', platform: 'Linux', scriptType: 'Shell', resourceUuid: uuid } });
    assert.equal(again.status, 503);
    assert.equal(errorOf(again).code, 'SYS.1007');
  });

  it('checks its parameters inside the job with the MN\'s messages (SYS.1007 on the poll, after a 202)', async () => {
    const { c } = await mn();
    const cls = 'org.zstack.guesttools.APICreateGuestVmScriptMsg';
    const cases: [Record<string, unknown>, string][] = [
      [{ scriptContent: 'x', platform: 'Linux', scriptType: 'Shell' }, `field[name] of message[${cls}] is mandatory, can not be null`],
      [{ name: 'n', scriptContent: 'x', platform: 'Solaris', scriptType: 'Shell' }, `valid value for field[platform] of message[${cls}] are [windows, linux], but Solaris found`],
      [{ name: 'n', scriptContent: 'x', platform: 'Linux', scriptType: 'Shell', scriptTimeout: 0 }, 'field[scriptTimeout] must be in range of [1, 86400]'],
      [{ name: 'n', scriptContent: 'x'.repeat(65537), platform: 'Linux', scriptType: 'Shell' }, `field[scriptContent] of message[${cls}] exceeds max length of string. expected was <= 65536, actual was 65537`],
      [{ name: 'a/b', scriptContent: 'x', platform: 'Linux', scriptType: 'Shell' }, `valid regex value for field[name] of message[${cls}]`],
      [{ name: 'n', scriptContent: 'not base64!', platform: 'Linux', scriptType: 'Shell', encodingType: 'Base64' }, 'scriptContent is not a valid Base64 string'],
    ];
    for (const [params, message] of cases) {
      const res = await c.job('POST', '/scripts', { params });
      assert.equal(res.status, 503, res.text);
      assert.equal(errorOf(res).code, 'SYS.1007');
      assert.ok(errorOf(res).details.startsWith(message), `${errorOf(res).details} should start with ${message}`);
    }
    // A list where a number belongs: the REST layer refuses it before any job (400, plain text).
    const typed = await c.send('POST', '/scripts', { params: { name: 'n', scriptContent: 'x', platform: 'Linux', scriptType: 'Shell', scriptTimeout: [1] } });
    assert.equal(typed.status, 400);
    assert.match(typed.text, /scriptTimeout/);
  });

  it('treats an omitted encodingType as Base64 (newer MNs) and has no such field on 5.2.x', async () => {
    const { c } = await mn();
    const content = Buffer.from('echo hi').toString('base64');
    const inv = await c.ok('POST', '/scripts', { params: { name: 'b', scriptContent: content, platform: 'Linux', scriptType: 'Shell' } });
    assert.equal((inv.inventory as Record<string, unknown>).encodingType, 'Base64');
    const old = await mn({ mnVersion: '5.2.1' });
    const plain = await old.c.ok('POST', '/scripts', { params: { name: 'p', scriptContent: 'echo hi', platform: 'Linux', scriptType: 'Shell', encodingType: 'Base64' } });
    assert.equal((plain.inventory as Record<string, unknown>).encodingType, undefined, 'a 5.2.x MN ignores the field');
    assert.equal((plain.inventory as Record<string, unknown>).scriptContent, 'echo hi');
  });

  it('an MN without the script library answers 404 no api mapping on every script path', async () => {
    for (const opts of [{ mnVersion: '5.1.8' }, { scriptLibrary: false }] as SimOptions[]) {
      const { c } = await mn(opts);
      const create = await c.send('POST', '/scripts', { params: {} });
      assert.deepEqual(create, { status: 404, text: 'no api mapping to /v1/scripts' });
      assert.deepEqual(await c.get('/scripts/records?limit=1'), { status: 404, text: 'no api mapping to /v1/scripts/records' });
      const exec = await c.send('PUT', `/scripts/${hex('a')}/actions`, { executeGuestVmScript: { vmInstanceUuids: [hex('1')] } });
      assert.deepEqual(exec, { status: 404, text: `no api mapping to /v1/scripts/${hex('a')}/actions` });
    }
  });
});

describe('simulator: ExecuteGuestVmScript, records and details', () => {
  it('returns the record Running; details stay Running while held, then end; the record ends after its last detail', async () => {
    const { sim, c } = await mn();
    const script = await c.createScript({ name: 'hello', scriptContent: 'echo hello' });
    sim.holdScripts();
    const record = await c.execute(String(script.uuid), [hex('1'), hex('2')]);
    assert.equal(record.status, 'Running');
    assert.equal(record.executionCount, 2);
    assert.equal(record.executor, 'admin');
    assert.equal(record.scriptTimeout, 60, 'the script\'s own timeout when the call gives none');
    assert.match(String(record.recordName), /^\d{12}_hello$/);
    assert.equal(record.endTime, undefined);
    const running = await c.details(String(record.uuid));
    assert.deepEqual(running.map((d) => [d.vmInstanceUuid, d.vmName, d.status]), [[hex('1'), 'vm-1', 'Running'], [hex('2'), 'vm-2', 'Running']]);
    assert.equal((await c.record(String(record.uuid))).status, 'Running');
    sim.releaseScripts();
    const done = await c.settled(String(record.uuid));
    assert.equal(done.status, 'Succeed');
    assert.equal(typeof done.endTime, 'string');
    const details = await c.details(String(record.uuid));
    assert.deepEqual(details.map((d) => [d.status, d.exitCode, d.stdout]), [['Succeed', 0, ''], ['Succeed', 0, '']]);
    const one = await c.inventories(`/scripts/records/details?q=recordUuid=${String(record.uuid)}&q=vmInstanceUuid=${hex('2')}`);
    assert.equal(one.length, 1);
    assert.equal(sim.scriptExecutions()[0]?.recordUuid, record.uuid);
  });

  for (const preset of ['Succeed', 'Succeeded', 'Completed'] as const) {
    it(`spells statuses the ${preset} way, the record's word for a partial run included`, async () => {
      const { c } = await mn({ scripts: { statuses: preset }, faults: { scriptTimeoutVmUuids: [hex('2')] } });
      const spelled = {
        Succeed: { ok: 'Succeed', failed: 'Failed', timeout: 'Timeout', partial: 'Failed' },
        Succeeded: { ok: 'Succeeded', failed: 'Failed', timeout: 'Failed', partial: 'Failed' },
        Completed: { ok: 'Completed', failed: 'Exception', timeout: 'Timeout', partial: 'Completed' },
      }[preset];
      const script = await c.createScript({ name: 'n', scriptContent: 'true' });
      const record = await c.execute(String(script.uuid), [hex('1'), hex('2'), hex('3')]);
      const done = await c.settled(String(record.uuid));
      assert.equal(done.status, spelled.partial);
      const details = await c.details(String(record.uuid));
      assert.deepEqual(details.map((d) => d.status), [spelled.ok, spelled.timeout, spelled.failed]);
      assert.match(String(details[1]?.errCause), new RegExp(`^qga exec cmd .* timeout for vm ${hex('2')}$`));
      assert.match(String(details[2]?.errCause), /QEMU guest agent is not connected/);
      const all = await c.execute(String(script.uuid), [hex('1')]);
      assert.equal((await c.settled(String(all.uuid))).status, spelled.ok);
    });
  }

  it('takes a custom spelling of its own', async () => {
    const statuses = {
      record: { running: 'Executing', succeeded: 'Done', failed: 'Broken', partial: 'Mixed' },
      detail: { running: 'Pending', succeeded: 'Ok', failed: 'Error', timeout: 'TimedOut' },
    };
    const { c } = await mn({ scripts: { statuses } });
    const script = await c.createScript({ name: 'n', scriptContent: 'true' });
    const record = await c.execute(String(script.uuid), [hex('1'), hex('3')]);
    assert.equal(record.status, 'Executing');
    assert.equal((await c.settled(String(record.uuid), 'Executing')).status, 'Mixed');
    assert.deepEqual((await c.details(String(record.uuid))).map((d) => d.status), ['Ok', 'Error']);
  });

  it('refuses the whole call when told to (SYS.1007 from the job, no record, nothing runs)', async () => {
    const { sim, c } = await mn({ scripts: { unreachableVms: 'refuse' } });
    const script = await c.createScript({ name: 'n', scriptContent: 'true' });
    for (const [vm, why] of [[hex('3'), 'its qemu guest agent is not connected'], [hex('5'), "it's not running"], [hex('4'), 'its platform[Windows] does not match']] as const) {
      const res = await c.job('PUT', `/scripts/${String(script.uuid)}/actions`, { executeGuestVmScript: { vmInstanceUuids: [hex('1'), vm] } });
      assert.equal(res.status, 503);
      assert.equal(errorOf(res).code, 'SYS.1007');
      assert.ok(errorOf(res).details.startsWith(`cannot execute script on vm[uuid:${vm}] because ${why}`), errorOf(res).details);
    }
    assert.deepEqual(await c.inventories('/scripts/records'), []);
    assert.ok(sim.scriptExecutions().every((e) => e.failedWith === 'SYS.1007' && e.recordUuid === undefined));
  });

  it('fails a detail on a stopped VM or a platform mismatch in the default reading, the others run', async () => {
    const { c } = await mn();
    const script = await c.createScript({ name: 'n', scriptContent: 'true' });
    const record = await c.execute(String(script.uuid), [hex('1'), hex('4'), hex('5')]);
    await c.settled(String(record.uuid));
    const [ok, windows, stopped] = await c.details(String(record.uuid));
    assert.equal(ok?.status, 'Succeed');
    assert.equal(windows?.status, 'Failed');
    assert.match(String(windows?.errCause), /Failed to execute child process "bash"/);
    assert.equal(stopped?.status, 'Failed');
    assert.match(String(stopped?.errCause), /domain is not running/);
  });

  it('checks its parameters in the job: unknown script, unknown VMs, an empty list, the timeout range', async () => {
    const { c } = await mn();
    const script = String((await c.createScript({ name: 'n', scriptContent: 'true' })).uuid);
    const cases: [string, Record<string, unknown>, string, string][] = [
      [hex('9'), { vmInstanceUuids: [hex('1')] }, 'SYS.1003', `invalid field[uuid], resource[uuid:${hex('9')}, type:GuestVmScriptVO] not found`],
      [script, { vmInstanceUuids: [hex('1'), hex('8'), hex('7')] }, 'SYS.1003', `invalid field[vmInstanceUuids], resource[uuids:[${hex('8')}, ${hex('7')}], type:VmInstanceVO] not found`],
      [script, { vmInstanceUuids: [] }, 'SYS.1007', 'field[vmInstanceUuids] must be a nonempty list'],
      [script, {}, 'SYS.1007', 'field[vmInstanceUuids] of message[org.zstack.guesttools.APIExecuteGuestVmScriptMsg] is mandatory, can not be null'],
      [script, { vmInstanceUuids: [hex('1')], scriptTimeout: 5 }, 'SYS.1007', 'field[scriptTimeout] must be in range of [10, 86400]'],
    ];
    for (const [uuid, params, code, details] of cases) {
      const res = await c.job('PUT', `/scripts/${uuid}/actions`, { executeGuestVmScript: params });
      assert.equal(res.status, 503, res.text);
      assert.deepEqual([errorOf(res).code, errorOf(res).details], [code, details]);
    }
    const noKey = await c.send('PUT', `/scripts/${script}/actions`, { runIt: {} });
    assert.deepEqual(noKey, { status: 400, text: `the body doesn't contain action mapping to the URL[/v1/scripts/${script}/actions]` });
  });

  it('marks a detail failed for any stderr output, or keeps it as text when stderr does not decide', async () => {
    for (const stderrFails of [true, false]) {
      const { sim, c } = await mn({ scripts: { stderrFails } });
      sim.updateVm(hex('1'), { scriptStderr: 'bash: warning: setlocale: LC_ALL: cannot change locale' });
      const script = await c.createScript({ name: 'n', scriptContent: 'true' });
      const record = await c.execute(String(script.uuid), [hex('1')]);
      await c.settled(String(record.uuid));
      const [d] = await c.details(String(record.uuid));
      assert.equal(d?.status, stderrFails ? 'Failed' : 'Succeed');
      assert.equal(d?.exitCode, 0, 'the exit code is that of the agent\'s tail: 0 either way');
      assert.match(String(d?.stderr), /setlocale/);
    }
  });

  it('counts scripts that overlap on one VM (the agent\'s per-VM script file is overwritten)', async () => {
    const { sim, c } = await mn();
    const script = String((await c.createScript({ name: 'n', scriptContent: 'true' })).uuid);
    sim.holdScripts();
    await c.execute(script, [hex('1')]);
    await c.execute(script, [hex('2')]);
    assert.deepEqual(sim.scriptOverlaps(), []);
    await c.execute(script, [hex('1')]);
    assert.deepEqual(sim.scriptOverlaps(), [hex('1')]);
    sim.releaseScripts();
  });
});
