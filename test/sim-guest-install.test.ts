// The simulator's guests over real HTTP: a script that launches the GuestTools installer from the
// attached ISO (detached or in the foreground), the agent restart, the installer's report (tag, state
// row, per rowLagMs), a failed and a hanging installer, UpdateGuestToolsState, the Windows temp disk,
// DetachGuestToolsIsoFromVm, and the fault knobs on the new APIs (session expiry, MN restart, resets).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Simulator } from '../src/sim/index.js';
import { DETACHED_LAUNCHER, errorOf, FOREGROUND_LAUNCHER, hex, RawMn, rawMnHarness, simVm, until } from './helpers/raw-mn.js';

const mn = rawMnHarness({
  fleet: [
    simVm('1'), simVm('2', { installer: 'fails' }), simVm('3', { installer: 'hangs' }),
    simVm('4', { platform: 'Windows', tags: ['GuestTools::1.0.0'] }), simVm('5', { platform: 'WindowsVirtio' }),
    simVm('6', { cdRomIsoUuid: hex('f') }), simVm('7', { type: 'ApplianceVm' }), simVm('8', { state: 'Stopped', hostUuid: null }),
  ],
  jobDurationMs: 1,
  guests: { installMs: 1, agentRestartMs: 1 },
});

const tagOf = (sim: Simulator, id: string): string | undefined => sim.vm(hex(id))?.tags.find((t) => t.startsWith('GuestTools::'));
const versionRow = async (c: RawMn, id: string): Promise<unknown> => (await c.inventories(`/guesttools?q=vmInstanceUuid=${hex(id)}`))[0]?.version;

describe('simulator: installing through the script library', () => {
  it('a detached launcher succeeds at once; the installer restarts the agent, then reports: tag and row at the ISO version', async () => {
    const { sim, c } = await mn();
    await c.attach(hex('1'));
    assert.deepEqual(sim.guestView(hex('1')), {
      agentRunning: true, agentRestarting: false, installedVersion: '1.0.0', cdRom0: 'GuestTools', guestToolsIsoVersion: '1.2.0', tempDisk: false,
    });
    const script = await c.createScript({ name: 'install', scriptContent: DETACHED_LAUNCHER });
    sim.holdInstalls();
    const record = await c.execute(String(script.uuid), [hex('1')]);
    assert.equal((await c.settled(String(record.uuid))).status, 'Succeed', 'the launcher ran; that is all the detail proves');
    await until(() => sim.guestView(hex('1'))?.agentRestarting === true, 'the installer restarting the agent');
    assert.equal(tagOf(sim, '1'), 'GuestTools::1.0.0', 'nothing reported while the agent restarts');
    // Meanwhile the agent does not answer: a refresh reads NotRunning, another script fails.
    const refreshed = JSON.parse((await c.refresh(hex('1'))).text) as { inventory: Record<string, unknown> };
    assert.equal(refreshed.inventory.qgaState, 'NotRunning');
    const other = await c.createScript({ name: 'probe', scriptContent: 'true' });
    const probe = await c.execute(String(other.uuid), [hex('1')]);
    await c.settled(String(probe.uuid));
    assert.match(String((await c.details(String(probe.uuid)))[0]?.errCause), /QEMU guest agent is not connected/);
    sim.releaseInstalls();
    await until(() => tagOf(sim, '1') === 'GuestTools::1.2.0', 'the installer report');
    assert.equal(await versionRow(c, '1'), '1.2.0', 'rowLagMs 0: the row follows the report at once');
    assert.deepEqual(sim.installerRuns().map((r) => [r.vmUuid, r.version, r.outcome, r.recordUuid]), [[hex('1'), '1.2.0', 'succeeded', record.uuid]]);
    assert.equal(sim.guestView(hex('1'))?.installedVersion, '1.2.0');
    const again = JSON.parse((await c.refresh(hex('1'))).text) as { inventory: Record<string, unknown> };
    assert.deepEqual([again.inventory.qgaState, again.inventory.version], ['Running', '1.2.0']);
  });

  it('with a lagging row only UpdateGuestToolsState shows the new version before the ping; the tag moves at once', async () => {
    const { sim, c } = await mn({ guests: { installMs: 1, agentRestartMs: 1, rowLagMs: null } });
    await c.attach(hex('1'));
    const script = await c.createScript({ name: 'install', scriptContent: DETACHED_LAUNCHER });
    await c.execute(String(script.uuid), [hex('1')]);
    await until(() => tagOf(sim, '1') === 'GuestTools::1.2.0', 'the installer report');
    assert.equal(await versionRow(c, '1'), '1.0.0');
    const res = await c.refresh(hex('1'));
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.text) as { inventory: { version: string } }).inventory.version, '1.2.0');
    assert.equal(await versionRow(c, '1'), '1.2.0');
  });

  it('a foreground install loses its exec session when the agent restarts (failed detail) and still installs', async () => {
    const { sim, c } = await mn();
    await c.attach(hex('1'));
    const script = await c.createScript({ name: 'fg', scriptContent: FOREGROUND_LAUNCHER });
    const record = await c.execute(String(script.uuid), [hex('1')]);
    await c.settled(String(record.uuid));
    const [d] = await c.details(String(record.uuid));
    assert.equal(d?.status, 'Failed');
    assert.match(String(d?.errCause), /guest-exec-status.*QEMU guest agent is not connected/);
    await until(() => tagOf(sim, '1') === 'GuestTools::1.2.0', 'the installer report');
  });

  it('a failing installer writes GuestTools::InstallFailed (GetVmGuestToolsInfo says so), a hanging one never reports', async () => {
    const { sim, c } = await mn();
    await c.attach(hex('2'));
    await c.attach(hex('3'));
    const script = await c.createScript({ name: 'install', scriptContent: DETACHED_LAUNCHER });
    const record = await c.execute(String(script.uuid), [hex('2'), hex('3')]);
    assert.equal((await c.settled(String(record.uuid))).status, 'Succeed');
    await until(() => tagOf(sim, '2') === 'GuestTools::InstallFailed', 'the failure report');
    assert.equal(await versionRow(c, '2'), '1.0.0', 'a failure leaves the row as it was');
    const info = JSON.parse((await c.get(`/vm-instances/${hex('2')}/guest-tools-infos`)).text) as Record<string, unknown>;
    assert.deepEqual([info.version, info.status], ['InstallFailed', 'NotRunning']);
    assert.deepEqual(sim.installerRuns().map((r) => [r.vmUuid, r.outcome]), [[hex('2'), 'failed'], [hex('3'), undefined]]);
    assert.equal(tagOf(sim, '3'), 'GuestTools::1.0.0');
    assert.equal(sim.guestView(hex('3'))?.agentRunning, true, 'a hanging installer never got to restart the agent');
  });

  it('without the GuestTools ISO in CD-ROM 0 nothing installs: a detached launcher still exits 0, a foreground one fails on stderr', async () => {
    const { sim, c } = await mn();
    const detached = await c.createScript({ name: 'bg', scriptContent: DETACHED_LAUNCHER });
    const fg = await c.createScript({ name: 'fg', scriptContent: FOREGROUND_LAUNCHER });
    const r1 = await c.execute(String(detached.uuid), [hex('1')]);
    const r2 = await c.execute(String(fg.uuid), [hex('6')]);
    assert.equal((await c.settled(String(r1.uuid))).status, 'Succeed');
    await c.settled(String(r2.uuid));
    const [d] = await c.details(String(r2.uuid));
    assert.equal(d?.status, 'Failed');
    assert.match(String(d?.stderr), /zs-tools-install\.sh: No such file or directory/);
    assert.deepEqual(sim.installerRuns(), []);
  });

  it('a Base64 script and Jinja2 render params are decoded before the guest sees them', async () => {
    const { sim, c } = await mn();
    await c.attach(hex('1'));
    const content = Buffer.from('nohup bash /mnt/cdrom/{{ installer }} &').toString('base64');
    const script = await c.ok('POST', '/scripts', {
      params: { name: 'b64', scriptContent: content, encodingType: 'Base64', platform: 'Linux', scriptType: 'Shell', renderParams: JSON.stringify([{ key: 'installer', value: 'zs-tools-install.sh' }]) },
    });
    await c.execute(String((script.inventory as Record<string, unknown>).uuid), [hex('1')]);
    await until(() => sim.installerRuns().length === 1, 'the installer run');
  });

  it('Windows: the attach hot-plugs the temp disk without virtio; the configured installer name launches it', async () => {
    const { sim, c } = await mn({ guests: { installMs: 1, agentRestartMs: 1, windowsInstaller: 'setup.exe' } });
    await c.attach(hex('4'));
    await c.attach(hex('5'));
    assert.equal(sim.guestView(hex('4'))?.tempDisk, true);
    assert.equal(sim.guestView(hex('5'))?.tempDisk, false, 'WindowsVirtio needs no temp disk');
    const script = await c.createScript({ name: 'win', platform: 'Windows', scriptType: 'Bat', scriptContent: 'start "" D:\\setup.exe /S' });
    const record = await c.execute(String(script.uuid), [hex('4')]);
    assert.equal((await c.settled(String(record.uuid))).status, 'Succeed');
    await until(() => tagOf(sim, '4') === 'GuestTools::1.2.0', 'the Windows installer report');
  });
});

describe('simulator: UpdateGuestToolsState', () => {
  it('is sync; refuses unknown and appliance VMs; a stopped VM reads NotRunning; older MNs have no such path', async () => {
    const { c } = await mn();
    const missing = await c.refresh(hex('9'));
    assert.equal(missing.status, 503);
    assert.deepEqual(errorOf(missing), { code: 'SYS.1007', description: 'One or more API argument is invalid', details: `can not update guest tools state for vm [uuid:${hex('9')}] because vm is deleted` } as never);
    assert.equal(errorOf(await c.refresh(hex('7'))).details, `can not update guest tools state for vm[uuid:${hex('7')}] because it's not user vm`);
    const stopped = JSON.parse((await c.refresh(hex('8'))).text) as { inventory: Record<string, unknown> };
    assert.deepEqual([stopped.inventory.vmInstanceUuid, stopped.inventory.qgaState], [hex('8'), 'NotRunning']);
    const old = await mn({ mnVersion: '4.6.20' });
    assert.deepEqual(await old.c.refresh(hex('1')), { status: 404, text: `no api mapping to /v1/vm-instances/${hex('1')}/guesttools-state` });
  });
});

describe('simulator: DetachGuestToolsIsoFromVm', () => {
  it('ejects the ISO and unplugs the temp disk; detaching nothing succeeds and changes nothing; a user ISO stays', async () => {
    const { sim, c } = await mn();
    await c.attach(hex('4'));
    assert.ok(sim.vm(hex('4'))?.tags.includes('guestToolsHasAttached'));
    const detach = (id: string): Promise<{ status: number; text: string }> => c.job('PUT', `/vm-instances/${hex(id)}/actions`, { detachGuestToolsIsoFromVm: {} });
    assert.deepEqual(await detach('4'), { status: 200, text: '' });
    assert.deepEqual(sim.guestView(hex('4')), {
      agentRunning: true, agentRestarting: false, installedVersion: '1.0.0', cdRom0: 'empty', guestToolsIsoVersion: null, tempDisk: false,
    });
    assert.ok(!sim.vm(hex('4'))?.tags.includes('guestToolsHasAttached'));
    assert.deepEqual(await detach('4'), { status: 200, text: '' }, 'nothing attached: nothing to do');
    assert.deepEqual(await detach('6'), { status: 200, text: '' });
    assert.equal(sim.guestView(hex('6'))?.cdRom0, 'user-iso', 'never a user\'s ISO');
    assert.deepEqual(await detach('8'), { status: 200, text: '' }, 'a stopped VM: its last host deletes the temp disk file');
    const unknown = await detach('9');
    assert.equal(errorOf(unknown).code, 'SYS.1003');
  });

  it('fails with SYS.1006 when the agent cannot unplug; an MN without the API answers 400 no action mapping', async () => {
    const { c } = await mn({ faults: { detachFailVmUuids: [hex('1')] } });
    await c.attach(hex('1'));
    const res = await c.job('PUT', `/vm-instances/${hex('1')}/actions`, { detachGuestToolsIsoFromVm: {} });
    assert.equal(res.status, 503);
    assert.equal(errorOf(res).code, 'SYS.1006');
    assert.ok(errorOf(res).details.startsWith(`failed to detach guest tools iso from vm[uuid:${hex('1')}], because:`));
    const old = await mn({ detachApi: false });
    const none = await old.c.send('PUT', `/vm-instances/${hex('1')}/actions`, { detachGuestToolsIsoFromVm: {} });
    assert.deepEqual(none, { status: 400, text: `the body doesn't contain action mapping to the URL[/v1/vm-instances/${hex('1')}/actions]` });
    await old.c.attach(hex('1'));
  });
});

describe('simulator: faults on the new APIs', () => {
  it('an expired session fails the execute job with ID.1001 and nothing runs', async () => {
    const { sim, c } = await mn();
    const script = String((await c.createScript({ name: 'n', scriptContent: 'true' })).uuid);
    sim.expireSessions();
    const res = await c.job('PUT', `/scripts/${script}/actions`, { executeGuestVmScript: { vmInstanceUuids: [hex('1')] } });
    assert.equal(errorOf(res).code, 'ID.1001');
    const sync = await c.refresh(hex('1'));
    assert.equal(errorOf(sync).code, 'ID.1001');
    await c.login();
    assert.deepEqual(await c.inventories('/scripts/records'), []);
  });

  it('an MN restart loses the job and leaves running details Running for good; the guest installs anyway', async () => {
    const { sim, c } = await mn();
    await c.attach(hex('1'));
    const script = String((await c.createScript({ name: 'install', scriptContent: DETACHED_LAUNCHER })).uuid);
    sim.holdScripts();
    const record = await c.execute(script, [hex('1')]);
    await until(() => sim.installerRuns().length === 1, 'the launcher in the guest');
    sim.restart();
    sim.releaseScripts();
    await c.login();
    await until(() => tagOf(sim, '1') === 'GuestTools::1.2.0', 'the installer report after the restart');
    assert.equal((await c.record(String(record.uuid))).status, 'Running');
    assert.equal((await c.details(String(record.uuid)))[0]?.status, 'Running');
    const lost = await c.send('PUT', `/scripts/${script}/actions`, { executeGuestVmScript: { vmInstanceUuids: [hex('2')] } }, { 'X-Job-UUID': 'a'.repeat(32) });
    assert.equal(lost.status, 202);
    sim.restart();
    assert.equal((await c.poll(`${sim.endpoint}/zstack/v1/api-jobs/${'a'.repeat(32)}`)).status, 404);
  });

  it('a reset after the MN accepted an execute or a create: the call ran, only the answer is lost', async () => {
    const { sim, c } = await mn({ faults: { firstRequests: [{ api: 'CreateGuestVmScript', kind: 'reset', count: 1 }, { api: 'ExecuteGuestVmScript', kind: 'reset', count: 1 }] } });
    await assert.rejects(c.send('POST', '/scripts', { params: { name: 'n', scriptContent: 'true', platform: 'Linux', scriptType: 'Shell', resourceUuid: hex('a') } }, { 'X-Job-UUID': 'b'.repeat(32) }));
    assert.equal((await c.poll(`${sim.endpoint}/zstack/v1/api-jobs/${'b'.repeat(32)}`)).status, 200);
    assert.equal((await c.inventories(`/scripts/${hex('a')}`)).length, 1);
    await assert.rejects(c.send('PUT', `/scripts/${hex('a')}/actions`, { executeGuestVmScript: { vmInstanceUuids: [hex('1')] } }, { 'X-Job-UUID': 'c'.repeat(32) }));
    const done = await c.poll(`${sim.endpoint}/zstack/v1/api-jobs/${'c'.repeat(32)}`);
    assert.equal(done.status, 200);
    assert.equal(sim.scriptExecutions().length, 1);
    assert.deepEqual(sim.faultsInjected().reset, 2);
  });

  it('holdRequest and firstRequests apply to the record queries and UpdateGuestToolsState', async () => {
    const { sim, c } = await mn({ faults: { firstRequests: [{ api: 'QueryGuestVmScriptExecutedRecordDetail', kind: 'error', count: 1 }] } });
    const first = await c.get('/scripts/records/details?q=recordUuid=x');
    assert.equal(errorOf(first).code, 'SYS.1000');
    assert.equal((await c.get('/scripts/records/details?q=recordUuid=x')).status, 200);
    const held = sim.holdRequest({ api: 'UpdateGuestToolsState' });
    const pending = c.refresh(hex('1'));
    const call = await held.reached;
    assert.equal(call.vmUuid, hex('1'));
    sim.updateVm(hex('1'), { qga: false });
    held.release();
    const res = JSON.parse((await pending).text) as { inventory: Record<string, unknown> };
    assert.equal(res.inventory.qgaState, 'NotRunning', 'handled on the guest as it is at release');
  });
});
