import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, beforeEach, afterEach, describe, it } from 'node:test';
import { request } from 'undici';
import { startSimulator, type SimOptions, type SimVm, type Simulator } from '../src/sim/index.js';
import { errorOf, hex, jobId, RawMn, simVm, until, type Res } from './helpers/raw-mn.js';

/** The VMs of these tests have no guest-tools row unless one says so. */
const vm = (id: string, patch: Partial<SimVm> = {}): SimVm => simVm(id, { guest: null, ...patch });

/** RawMn with the attach PUT as these tests look at it: its 202 reply, and a running job's empty 202. */
class Client extends RawMn {
  put(vmUuid: string, body: unknown, headers: Record<string, string> = {}): Promise<Res> {
    return this.send('PUT', `/vm-instances/${vmUuid}/actions`, body, headers);
  }
  /** PUT an attach, expect 202, return the location. */
  async attachAt(vmUuid: string, body: unknown = { attachGuestToolsIsoToVm: {} }, job = jobId()): Promise<string> {
    const res = await this.put(vmUuid, body, { 'X-Job-UUID': job });
    assert.equal(res.status, 202, res.text);
    const reply = JSON.parse(res.text) as { location: string; apiTimeout: number };
    assert.equal(reply.apiTimeout, 1800000);
    assert.ok(reply.location.endsWith(`/zstack/v1/api-jobs/${job}`));
    return reply.location;
  }
  override async poll(location: string): Promise<Res> {
    for (let i = 0; i < 2000; i++) {
      const res = await request(location);
      const text = await res.body.text();
      if (res.statusCode !== 202) return { status: res.statusCode, text };
      assert.equal(text, '', 'a running job answers 202 with an empty body');
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('job never finished');
  }
}

describe('simulator: AttachGuestToolsIsoToVm', () => {
  let sim: Simulator;
  let c: Client;
  const start = async (opts: SimOptions = {}): Promise<void> => {
    sim = await startSimulator({
      fleet: [
        vm('1'), vm('2', { platform: 'Windows' }), vm('3', { hypervisorType: 'ESX', state: 'Stopped' }),
        vm('4', { state: 'Stopped', hostUuid: null, type: 'ApplianceVm' }), vm('5', { type: 'ApplianceVm', cdRoms: 0 }),
        vm('6', { cdRoms: 0 }), vm('7', { architecture: 'mips64el', platform: 'Windows' }), vm('8', { installs: false }),
      ],
      ...opts,
    });
    c = new Client(sim);
    await c.login();
  };
  beforeEach(() => start());
  afterEach(() => sim.close());

  it('succeeds: 202, polls 202 with empty body, then 200 with an empty body', async () => {
    const loc = await c.attachAt(hex('1'));
    const done = await c.poll(loc);
    assert.deepEqual(done, { status: 200, text: '' });
    assert.ok(sim.vm(hex('1'))?.tags.includes('guestToolsHasAttached'));
  });

  it('holdAttachJobs keeps attach jobs running (202) until releaseAttachJobs; then they finish', async () => {
    // A job duration of 0: without the hold, the job has ended by the time the PUT's reply arrives.
    await sim.close();
    await start({ jobDurationMs: 0 });
    sim.holdAttachJobs();
    const loc = await c.attachAt(hex('1'));
    for (let i = 0; i < 3; i++) {
      const polled = await request(loc);
      assert.equal(polled.statusCode, 202, 'still running while held');
      await polled.body.text();
    }
    assert.ok(!sim.vm(hex('1'))?.tags.includes('guestToolsHasAttached'));
    sim.releaseAttachJobs();
    assert.deepEqual(await c.poll(loc), { status: 200, text: '' });
    assert.ok(sim.vm(hex('1'))?.tags.includes('guestToolsHasAttached'));
  });

  it('checks in order: not found, hypervisor, running, user vm, cdrom, ISO', async () => {
    const cases: [string, string, string][] = [
      [hex('9'), 'SYS.1003', `invalid field[uuid], resource[uuid:${hex('9')}, type:VmInstanceVO] not found`],
      [hex('3'), 'SYS.1007', `cannot attach guest-tools iso to vm[uuid:${hex('3')}] because it's hypervisor type is not supported`],
      [hex('4'), 'SYS.1007', `cannot attach guest-tools iso to vm[uuid:${hex('4')}] because it's not running`],
      [hex('5'), 'SYS.1007', `cannot attach guest-tools iso to vm[uuid:${hex('5')}] because it's not user vm`],
      [hex('6'), 'SYS.1007', `cannot attach guest-tools iso to vm[uuid:${hex('6')}] because it has no cdrom`],
    ];
    for (const [uuid, code, details] of cases) {
      const res = await c.poll(await c.attachAt(uuid));
      assert.equal(res.status, 503);
      assert.deepEqual([errorOf(res).code, errorOf(res).details], [code, details]);
    }
    const noIso = await c.poll(await c.attachAt(hex('7')));
    assert.equal(errorOf(noIso).code, 'GT.1005');
    assert.match(errorOf(noIso).details, /^no proper guest tools iso found in management node\[uuid:[0-9a-f]{32}\] for host\[uuid:d{32}\]$/);
  });

  it('validates X-Job-UUID and refuses duplicates', async () => {
    for (const bad of ['123', `${jobId()}0`, randomUUID()]) {
      const res = await c.put(hex('1'), { attachGuestToolsIsoToVm: {} }, { 'X-Job-UUID': bad });
      assert.deepEqual(res, { status: 400, text: "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped" });
    }
    const id = jobId();
    await c.attachAt(hex('1'), undefined, id);
    const dup = await c.put(hex('1'), { attachGuestToolsIsoToVm: {} }, { 'X-Job-UUID': id });
    assert.deepEqual(dup, { status: 400, text: `Duplicate job uuid[${id}]` });
    // Without the header the server picks a job id.
    const res = await c.put(hex('1'), { attachGuestToolsIsoToVm: {} });
    assert.equal(res.status, 202);
  });

  it('answers 400 text for a body without a known action key', async () => {
    const res = await c.put(hex('1'), { rebootVmInstance: {} });
    assert.equal(res.status, 400);
    assert.match(res.text, /the body doesn't contain action mapping to the URL/);
  });

  it('polls: 404 text for unknown jobs, 405 for other methods', async () => {
    const unknown = await request(`${sim.endpoint}/zstack/v1/api-jobs/${jobId()}`);
    assert.deepEqual([unknown.statusCode, await unknown.body.text()], [404, 'the job has been expired']);
    const loc = await c.attachAt(hex('1'));
    const del = await request(loc, { method: 'DELETE' });
    assert.deepEqual([del.statusCode, await del.body.text()], [405, 'only GET method is allowed for querying job status']);
  });

  it('ignores the version tag in systemTags by default (the open sources do not save it)', async () => {
    await c.poll(await c.attachAt(hex('8'), { attachGuestToolsIsoToVm: {}, systemTags: ['GuestTools::1.2.0'], userTags: [] }));
    assert.deepEqual(sim.vm(hex('8'))?.tags, ['GuestTools::1.0.0', 'guestToolsHasAttached']);
    assert.deepEqual(sim.attachesStarted().map((a) => [a.vmUuid, a.systemTags]), [[hex('8'), ['GuestTools::1.2.0']]]);
  });

  it('with recordVersionTag it records the sent tag, top level or inside the action object', async () => {
    await sim.close();
    await start({ recordVersionTag: true });
    await c.poll(await c.attachAt(hex('8'), { attachGuestToolsIsoToVm: {}, systemTags: ['GuestTools::1.2.0'], userTags: [] }));
    assert.deepEqual(sim.vm(hex('8'))?.tags.filter((t) => t.startsWith('GuestTools::')), ['GuestTools::1.2.0']);
    await c.poll(await c.attachAt(hex('2'), { attachGuestToolsIsoToVm: { uuid: hex('2'), systemTags: ['GuestTools::1.1.9'], extra: 1 } }));
    assert.deepEqual(sim.vm(hex('2'))?.tags.filter((t) => t.startsWith('GuestTools::')), ['GuestTools::1.1.9']);
    // The guest installed nothing: its state row did not move.
    assert.equal(sim.vm(hex('8'))?.guest, null);
  });

  it('a guest without QGA that installs gets only the tag (the installer report); one with QGA its state row too', async () => {
    sim.updateVm(hex('1'), { installs: true });
    await c.poll(await c.attachAt(hex('1')));
    assert.equal(sim.vm(hex('1'))?.guest, null);
    assert.ok(sim.vm(hex('1'))?.tags.includes('GuestTools::1.2.0'));
  });

  it('a guest told to install reports the ISO version before the attach job ends: state row and tag', async () => {
    sim.updateVm(hex('2'), { installs: true, guest: { qgaState: 'Running', version: '1.0.0' } });
    await c.poll(await c.attachAt(hex('2')));
    const after = sim.vm(hex('2'));
    assert.deepEqual(after?.guest, { qgaState: 'Running', version: '1.2.0' });
    assert.ok(after?.tags.includes('GuestTools::1.2.0'));
    assert.ok(!after?.tags.includes('GuestTools::1.0.0'));
    const state = JSON.parse((await c.get(`/guesttools?q=vmInstanceUuid=${hex('2')}`)).text) as { inventories: { version: string }[] };
    assert.equal(state.inventories[0]?.version, '1.2.0');
  });

  it('guests install only when told: by default none does; installShare and installDelayMs pick and delay them', async () => {
    await c.poll(await c.attachAt(hex('1')));
    assert.equal(sim.vm(hex('1'))?.guest, null);
    assert.deepEqual(sim.vm(hex('1'))?.tags, ['GuestTools::1.0.0', 'guestToolsHasAttached']);
    await sim.close();
    await start({ guests: { installShare: 1, installDelayMs: 20 } });
    await c.poll(await c.attachAt(hex('8')));
    await c.poll(await c.attachAt(hex('1')));
    await until(() => sim.vm(hex('1'))?.tags.includes('GuestTools::1.2.0') === true, 'guest install of vm 1');
    assert.ok(!sim.vm(hex('8'))?.tags.includes('GuestTools::1.2.0'), 'installs: false wins over installShare');
  });

  it('the attach ejects the image-store ISO of CD-ROM 0, shown in the CD-ROM inventory as isoUuid', async () => {
    sim.updateVm(hex('1'), { cdRomIsoUuid: hex('f') });
    const before = JSON.parse((await c.get(`/vm-instances/cdroms?q=vmInstanceUuid=${hex('1')}`)).text) as { inventories: { isoUuid?: string; deviceId: number }[] };
    assert.deepEqual(before.inventories.map((r) => [r.deviceId, r.isoUuid]), [[0, hex('f')]]);
    await c.poll(await c.attachAt(hex('1')));
    const after = JSON.parse((await c.get(`/vm-instances/cdroms?q=vmInstanceUuid=${hex('1')}`)).text) as { inventories: { isoUuid?: string }[] };
    assert.equal(after.inventories[0]?.isoUuid, undefined);
    assert.equal(sim.vm(hex('1'))?.cdRomIsoUuid, undefined);
  });

  it('puts locationHost into the location', async () => {
    await sim.close();
    await start({ locationHost: '10.0.0.5:8080' });
    const id = jobId();
    const res = await c.put(hex('1'), { attachGuestToolsIsoToVm: {} }, { 'X-Job-UUID': id });
    assert.equal((JSON.parse(res.text) as { location: string }).location, `http://10.0.0.5:8080/zstack/v1/api-jobs/${id}`);
  });

  it('restart() drops jobs (polls 404) and sessions', async () => {
    await sim.close();
    await start({ faults: { stuckJobRate: 1 } });
    const loc = await c.attachAt(hex('1'));
    sim.restart();
    const res = await request(loc);
    assert.deepEqual([res.statusCode, await res.body.text()], [404, 'the job has been expired']);
    assert.equal((await c.get('/vm-instances')).status, 503);
    assert.equal(sim.attachInFlight, 0);
  });

  it('tracks attaches in flight overall and per host', async () => {
    await sim.close();
    await start({ jobDurationMs: 60 });
    sim.holdAttachJobs(); // all three in flight at once, however slowly the PUTs arrive
    const locs = await Promise.all([hex('1'), hex('2'), hex('8')].map((u) => c.attachAt(u)));
    assert.equal(sim.attachInFlight, 3);
    sim.releaseAttachJobs();
    await Promise.all(locs.map((l) => c.poll(l)));
    assert.equal(sim.attachInFlight, 0);
    assert.equal(sim.maxAttachInFlight, 3);
    assert.equal(sim.maxAttachInFlightPerHost(), 3);
    const rec = sim.calls.find((x) => x.api === 'AttachGuestToolsIsoToVm');
    assert.deepEqual([rec?.vmUuid, rec?.hostUuid, rec?.status], [hex('1'), hex('d'), 202]);
  });

  it('detaches (DetachGuestToolsIsoFromVm)', async () => {
    await c.poll(await c.attachAt(hex('8')));
    const res = await c.put(hex('8'), { detachGuestToolsIsoFromVm: {} }, { 'X-Job-UUID': jobId() });
    assert.equal(res.status, 202);
    assert.deepEqual(await c.poll((JSON.parse(res.text) as { location: string }).location), { status: 200, text: '' });
    assert.ok(!sim.vm(hex('8'))?.tags.includes('guestToolsHasAttached'));
  });
});

describe('simulator: GetLatestGuestToolsForVm and GetVmGuestToolsInfo', () => {
  let sim: Simulator;
  let c: Client;
  beforeEach(async () => {
    sim = await startSimulator({
      fleet: [
        vm('1'), vm('2', { tags: ['GuestTools::1.2.0'] }), vm('3', { tags: ['GuestTools::1.3.0'] }),
        vm('4', { tags: ['GuestTools::1.0.0'], guest: { qgaState: 'Running', version: '1.2.0' } }),
        vm('5', { tags: ['GuestTools::1.2.0'], guest: { qgaState: 'NotInstalled', version: null } }),
        vm('6', { tags: [] }), vm('7', { state: 'Stopped', hostUuid: null }), vm('8', { hypervisorType: 'ESX' }),
        vm('9', { type: 'ApplianceVm' }), vm('a', { architecture: 'mips64el', platform: 'Windows' }),
      ],
    });
    c = new Client(sim);
    await c.login();
  });
  after(() => sim.close());
  afterEach(() => sim.close());

  const latest = async (id: string): Promise<Record<string, unknown>> => {
    const res = await c.get(`/vm-instances/${hex(id)}/latest-guest-tools?uuid=${hex(id)}`);
    return JSON.parse(res.text) as Record<string, unknown>;
  };

  it('offers an inventory only when the ISO version differs (string inequality) from the current one', async () => {
    const withInv = (await latest('1')).inventory as Record<string, unknown>;
    assert.deepEqual([withInv.version, withInv.agentType, withInv.architecture, withInv.hypervisorType], ['1.2.0', 'LinuxOnKvm', 'general', 'KVM']);
    assert.deepEqual(await latest('2'), { success: true });
    assert.equal(((await latest('3')).inventory as { version: string }).version, '1.2.0', 'newer in the VM also "needs upgrade"');
    assert.deepEqual(await latest('4'), { success: true }, 'the guest state wins over the tag');
    assert.deepEqual(await latest('5'), { success: true }, 'NotInstalled falls back to the tag');
    assert.ok((await latest('6')).inventory, 'no tag at all');
    assert.deepEqual(await latest('a'), { success: true }, 'no ISO for the architecture is not an error');
  });

  it('follows setIsos (MN restart with new ISOs)', async () => {
    sim.setIsos([{ agentType: 'LinuxOnKvm', architecture: 'general', version: '1.3.0' }]);
    assert.equal(((await latest('2')).inventory as { version: string }).version, '1.3.0');
    assert.deepEqual(await latest('3'), { success: true });
  });

  it('fails with SYS.1007 for non-KVM, not running and non-user VMs', async () => {
    for (const [id, why] of [['8', "it's hypervisor type is not supported"], ['7', "it's not running or volume recovering."], ['9', "it's not user vm"]]) {
      const res = await c.get(`/vm-instances/${hex(id ?? '')}/latest-guest-tools`);
      assert.equal(res.status, 503);
      assert.deepEqual(errorOf(res), {
        ...errorOf(res), code: 'SYS.1007', details: `cannot get latest guest-tools for vm[uuid:${hex(id ?? '')}] because ${why}`,
      });
    }
  });

  it('GetVmGuestToolsInfo returns the guest version and rewrites the tag', async () => {
    const res = await c.get(`/vm-instances/${hex('4')}/guest-tools-infos`);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { version: '1.2.0', status: 'Running', features: {}, success: true });
    assert.ok(sim.vm(hex('4'))?.tags.includes('GuestTools::1.2.0'));
    assert.ok(!sim.vm(hex('4'))?.tags.includes('GuestTools::1.0.0'));
    assert.equal(JSON.parse((await c.get(`/vm-instances/${hex('1')}/guest-tools-infos`)).text).status, 'Not Connected');
    assert.equal(JSON.parse((await c.get(`/vm-instances/${hex('8')}/guest-tools-infos`)).text).status, 'Not Supported');
    assert.equal((await c.get(`/vm-instances/${hex('7')}/guest-tools-infos`)).status, 503);
  });
});

describe('simulator: holdRequest', () => {
  it('holds the chosen request until released, then handles it on the world as it is then', async () => {
    const sim = await startSimulator({ fleet: [vm('a'), vm('b')], jobDurationMs: 1 });
    try {
      const client = new Client(sim);
      await client.login();
      // The second VM query is held; the first goes through at once.
      const held = sim.holdRequest({ api: 'QueryVmInstance', skip: 1 });
      const first = await client.get('/vm-instances?fields=uuid');
      assert.equal(first.status, 200);
      let answered = false;
      const second = client.get('/vm-instances?fields=uuid').then((r) => {
        answered = true;
        return r;
      });
      const call = await held.reached;
      assert.equal(call.api, 'QueryVmInstance');
      assert.equal(answered, false, 'a held request is not answered');
      sim.addVm(vm('c'));
      held.release();
      const reply = JSON.parse((await second).text) as { inventories: { uuid: string }[] };
      assert.deepEqual(reply.inventories.map((v) => v.uuid), [hex('a'), hex('b'), hex('c')], 'handled on the world as it is at release');
    } finally {
      await sim.close();
    }
  });

  it('a match picks one VM\'s attach among others', async () => {
    const sim = await startSimulator({ fleet: [vm('a'), vm('b')], jobDurationMs: 1 });
    try {
      const client = new Client(sim);
      await client.login();
      const held = sim.holdRequest({ api: 'AttachGuestToolsIsoToVm', match: (c) => c.vmUuid === hex('b') });
      await client.poll(await client.attachAt(hex('a')));
      const pending = client.attachAt(hex('b'));
      assert.equal((await held.reached).vmUuid, hex('b'));
      assert.equal(sim.attachesStarted().length, 1, 'the held attach has not reached the MN yet');
      held.release();
      await client.poll(await pending);
      assert.equal(sim.attachesStarted().length, 2);
    } finally {
      await sim.close();
    }
  });
});
