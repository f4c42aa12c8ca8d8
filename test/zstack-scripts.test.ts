// The ZStack client's script-library calls against the simulator: create and execute only under a
// permit for exactly their subject, the doubt path (a reset after the MN accepted the call), the
// re-send after ID.1001, records and details read in pages, statuses decided per detail in every
// spelling, UpdateGuestToolsState, and feature detection on MNs without the script library or detach.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GtrError, ZStackHttpError } from '../src/errors.js';
import type { SimOptions } from '../src/sim/index.js';
import {
  absentApi, executeSubject, isScriptStatusRunning, newJobUuid, scriptDetailSucceeded, type ZStackClient,
} from '../src/zstack/client.js';
import { hex, simVm } from './helpers/raw-mn.js';
import { permitFor, permits } from './helpers/permits.js';
import { clientHarness } from './helpers/zstack.js';

const h = clientHarness({ jobDurationMs: 1, guests: { installMs: 1, agentRestartMs: 1 } });
const VMS = ['1', '2', '3', '4', '5'].map((id) => hex(id));
const fleet = (): SimOptions['fleet'] => [
  ...['1', '2', '3', '4'].map((id) => simVm(id)), simVm('5', { guest: { qgaState: 'NotRunning', version: '1.0.0' } }),
];

async function script(c: ZStackClient, name = 'gtr-test', content = 'true'): Promise<string> {
  const resourceUuid = newJobUuid();
  const created = await c.createGuestVmScript(
    { resourceUuid, name, platform: 'Linux', scriptType: 'Shell', content, scriptTimeout: 120 },
    { permit: permits('CreateGuestVmScript', resourceUuid, newJobUuid()) },
  );
  assert.ok(created);
  assert.equal(created.uuid, resourceUuid);
  return created.uuid;
}

async function execute(c: ZStackClient, scriptUuid: string, vms: string[]): Promise<string> {
  const record = await c.executeGuestVmScript(scriptUuid, vms, { permit: permits('ExecuteGuestVmScript', executeSubject(scriptUuid, vms), newJobUuid()) });
  assert.ok(record);
  return record.uuid;
}

async function settle(c: ZStackClient, recordUuid: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const r = await c.scriptRecord(recordUuid);
    assert.ok(r);
    if (!isScriptStatusRunning(r.status)) return;
    await new Promise((res) => setTimeout(res, 2));
  }
  throw new Error('record never ended');
}

describe('zstack client: script library', () => {
  it('creates a script (plain text by default, Base64 when asked) and finds it again by name', async () => {
    const sim = await h.sim({ fleet: fleet() });
    const c = h.client(sim);
    const uuid = await script(c, 'gtr-install-linux', 'echo "a b" && true');
    const [found] = await c.queryGuestVmScripts(['name=gtr-install-linux']);
    assert.deepEqual([found?.uuid, found?.encodingType, found?.scriptContent, found?.scriptTimeout], [uuid, 'PlainText', 'echo "a b" && true', 120]);
    const b64 = newJobUuid();
    const made = await c.createGuestVmScript(
      { resourceUuid: b64, name: 'b64', platform: 'Linux', scriptType: 'Shell', content: 'echo hi', encoding: 'Base64' },
      { permit: permits('CreateGuestVmScript', b64, newJobUuid()) },
    );
    assert.deepEqual([made?.encodingType, made?.scriptContent], ['Base64', Buffer.from('echo hi').toString('base64')]);
  });

  it('executes a batch, polls the record and reads every detail in pages; success is decided per VM', async () => {
    const sim = await h.sim({ fleet: fleet() });
    const c = h.client(sim, { pageSize: 2 });
    const uuid = await script(c);
    const recordUuid = await execute(c, uuid, VMS);
    await settle(c, recordUuid);
    const before = sim.requestsByApi().QueryGuestVmScriptExecutedRecordDetail ?? 0;
    const details = await c.scriptDetails(recordUuid);
    assert.equal((sim.requestsByApi().QueryGuestVmScriptExecutedRecordDetail ?? 0) - before, 3, '5 details in pages of 2: 3 requests');
    assert.deepEqual(details.map((d) => d.vmInstanceUuid), VMS);
    assert.deepEqual(details.map(scriptDetailSucceeded), [true, true, true, true, false]);
    assert.match(String(details[4]?.errCause), /QEMU guest agent is not connected/);
    assert.equal((await c.queryScriptRecords([`scriptUuid=${uuid}`])).length, 1);
  });

  for (const statuses of ['Succeed', 'Succeeded', 'Completed'] as const) {
    it(`tells success from failure per detail when the MN spells it ${statuses}`, async () => {
      const sim = await h.sim({ fleet: fleet(), scripts: { statuses }, faults: { scriptTimeoutVmUuids: [hex('2')] } });
      sim.updateVm(hex('3'), { scriptStderr: 'oops' });
      const c = h.client(sim);
      const recordUuid = await execute(c, await script(c), VMS);
      await settle(c, recordUuid);
      assert.deepEqual((await c.scriptDetails(recordUuid)).map(scriptDetailSucceeded), [true, false, false, true, false]);
    });
  }

  it('sends nothing without a permit for exactly this call: refused is null, another batch\'s permit throws', async () => {
    const sim = await h.sim({ fleet: fleet() });
    const c = h.client(sim);
    const uuid = await script(c);
    assert.equal(await c.executeGuestVmScript(uuid, [hex('1')], { permit: async () => null }), null);
    const other = permitFor('ExecuteGuestVmScript', executeSubject(uuid, [hex('2')]));
    await assert.rejects(c.executeGuestVmScript(uuid, [hex('1')], { permit: async () => other }), RangeError);
    const attachPermit = permitFor('AttachGuestToolsIsoToVm', hex('1'));
    await assert.rejects(c.executeGuestVmScript(uuid, [hex('1')], { permit: async () => attachPermit }), RangeError);
    assert.equal(executeSubject(uuid, [hex('2'), hex('1')]), executeSubject(uuid, [hex('1'), hex('2')]), 'the batch in any order');
    assert.deepEqual(sim.scriptExecutions(), []);
  });

  it('a reset after the MN accepted the execute: the client polls its own job, never sends it twice', async () => {
    const sim = await h.sim({ fleet: fleet(), faults: { firstRequests: [{ api: 'ExecuteGuestVmScript', kind: 'reset', count: 1 }] } });
    const c = h.client(sim);
    const uuid = await script(c);
    const jobUuid = newJobUuid();
    const record = await c.executeGuestVmScript(uuid, [hex('1')], { permit: permits('ExecuteGuestVmScript', executeSubject(uuid, [hex('1')]), jobUuid) });
    assert.equal(record?.status, 'Running');
    assert.deepEqual(sim.scriptExecutions().map((e) => [e.jobUuid, e.recordUuid]), [[jobUuid, record?.uuid]]);
  });

  it('an expired session (ID.1001 from the job) is sent again after a login, under a new permit', async () => {
    const sim = await h.sim({ fleet: fleet() });
    const c = h.client(sim);
    const uuid = await script(c);
    sim.expireSessions();
    const asked: string[] = [];
    const resends: string[] = [];
    const first = newJobUuid();
    const inner = permits('ExecuteGuestVmScript', executeSubject(uuid, [hex('1')]), first, (u) => resends.push(u));
    const record = await c.executeGuestVmScript(uuid, [hex('1')], { permit: (attempt) => (asked.push(attempt), inner(attempt)) });
    assert.ok(record);
    assert.deepEqual(asked, ['first', 'resend']);
    assert.deepEqual(sim.scriptExecutions().map((e) => [e.jobUuid, e.failedWith ?? 'ran']), [[first, 'ID.1001'], [resends[0], 'ran']]);
  });

  it('a job lost in an MN restart is GTR_JOB_LOST (the caller finds the script by its resourceUuid)', async () => {
    const sim = await h.sim({ fleet: fleet() });
    const c = h.client(sim);
    const held = sim.holdRequest({ api: 'QueryJob' });
    const resourceUuid = newJobUuid();
    const pending = c.createGuestVmScript(
      { resourceUuid, name: 'lost', platform: 'Linux', scriptType: 'Shell', content: 'true' },
      { permit: permits('CreateGuestVmScript', resourceUuid, newJobUuid()) },
    );
    await held.reached;
    sim.restart();
    held.release();
    await assert.rejects(pending, (e: unknown) => e instanceof GtrError && e.code === 'GTR_JOB_LOST');
  });

  it('UpdateGuestToolsState returns the re-read row; an older MN says no api mapping', async () => {
    const sim = await h.sim({ fleet: fleet() });
    const c = h.client(sim);
    sim.updateVm(hex('1'), { qga: false });
    assert.deepEqual(await c.updateGuestToolsState(hex('1')), {
      vmInstanceUuid: hex('1'), qgaState: 'NotRunning', zwatchState: 'Running', version: '1.0.0', platform: 'Linux', osType: 'centos 7',
    });
    const old = await h.sim({ fleet: fleet(), mnVersion: '4.6.20' });
    const err = await h.client(old).updateGuestToolsState(hex('1')).catch((e: unknown) => e);
    assert.ok(err instanceof ZStackHttpError);
    assert.equal(absentApi(err), 'no-api-mapping');
  });

  it('finds out once whether the MN has the script library and detach; their absence is a typed error', async () => {
    const sim = await h.sim({ fleet: fleet() });
    const c = h.client(sim);
    assert.equal(await c.scriptLibrarySupport(), 'present');
    assert.equal(await c.scriptLibrarySupport(), 'present');
    assert.equal(await c.detachSupport(), 'present');
    assert.equal(sim.requestsByApi().QueryGuestVmScript, 1);
    assert.deepEqual(sim.vms().map((v) => v.tags.includes('guestToolsHasAttached')), [false, false, false, false, false], 'the probe detached nothing');

    const bare = await h.sim({ fleet: fleet(), scriptLibrary: false, detachApi: false });
    const b = h.client(bare);
    assert.equal(await b.scriptLibrarySupport(), 'absent');
    assert.equal(await b.detachSupport(), 'absent');
    const resourceUuid = newJobUuid();
    const create = await b.createGuestVmScript(
      { resourceUuid, name: 'x', platform: 'Linux', scriptType: 'Shell', content: 'true' },
      { permit: permits('CreateGuestVmScript', resourceUuid, newJobUuid()) },
    ).catch((e: unknown) => e);
    assert.equal(absentApi(create), 'no-api-mapping');
    const detach = await b.detachGuestToolsIso(hex('1'), { permit: permits('DetachGuestToolsIsoFromVm', hex('1'), newJobUuid()) }).catch((e: unknown) => e);
    assert.equal(absentApi(detach), 'no-action-mapping');
    assert.equal(absentApi(new Error('no api mapping')), null, 'only the client\'s own typed errors count');
  });
});
