import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startSimulator, type SimVm, type Simulator } from '../src/sim/index.js';
import { QueryEngine, type Resource } from '../src/sim/query.js';
import { parseQueryString } from '../src/sim/query-params.js';

interface Reply { inventories?: Record<string, unknown>[]; total?: number; schema?: Record<string, string>; error?: { code: string } }

const hex = (c: string): string => c.repeat(32);
function vm(id: string, patch: Partial<SimVm>): SimVm {
  return {
    uuid: hex(id), name: `vm-${id}`, state: 'Running', platform: 'Linux', architecture: 'x86_64', hypervisorType: 'KVM',
    type: 'UserVm', zoneUuid: hex('e'), clusterUuid: hex('c'), hostUuid: hex('d'), cdRoms: 1, tags: [], guest: null, ...patch,
  };
}

const FLEET: SimVm[] = [
  vm('1', { name: 'web_1', tags: ['GuestTools::1.0.0'] }),
  vm('2', { name: 'web-2', platform: 'Windows', tags: ['GuestTools::1.2.0', 'other::x'], guest: { qgaState: 'Running', version: '1.2.0' } }),
  vm('3', { name: 'db%3', state: 'Stopped', hostUuid: null, tags: ['GuestTools::1.1.3'] }),
  vm('4', { name: 'Db-4', architecture: 'aarch64', cdRoms: 0 }),
  vm('5', { name: 'app-5', hypervisorType: 'ESX', tags: ['GuestTools::abc'] }),
  vm('6', { name: 'app-6', type: 'ApplianceVm', cdRoms: 2, tags: ['GuestTools::1.2.0'] }),
];

describe('simulator: queries', () => {
  let sim: Simulator;
  let auth: Record<string, string>;

  before(async () => {
    sim = await startSimulator({ fleet: FLEET });
    const res = await request(`${sim.endpoint}/zstack/v1/accounts/login`, {
      method: 'PUT',
      body: JSON.stringify({ logInByAccount: { accountName: 'admin', password: createHash('sha512').update('password').digest('hex') } }),
    });
    const body = (await res.body.json()) as { inventory: { uuid: string } };
    auth = { Authorization: `OAuth ${body.inventory.uuid}` };
  });
  after(() => sim.close());

  async function raw(path: string): Promise<{ status: number; text: string }> {
    const res = await request(`${sim.endpoint}/zstack/v1${path}`, { headers: auth });
    return { status: res.statusCode, text: await res.body.text() };
  }
  async function q(path: string): Promise<Reply> {
    const res = await raw(path);
    assert.equal(res.status, 200, res.text);
    return JSON.parse(res.text) as Reply;
  }
  const names = async (query: string): Promise<string[]> =>
    ((await q(`/vm-instances?${query}`)).inventories ?? []).map((i) => String(i.name)).sort();

  it('supports each of the 12 operators', async () => {
    assert.deepEqual(await names('q=name=web_1'), ['web_1']);
    assert.deepEqual(await names('q=state!=Running'), ['db%3']);
    assert.deepEqual(await names('q=cpuNum>=3'), ['web-2']);
    assert.deepEqual(await names('q=cpuNum<=2&q=architecture=aarch64'), ['Db-4']);
    assert.deepEqual(await names('q=cpuNum>3'), ['web-2']);
    assert.deepEqual(await names('q=cpuNum<4&q=hypervisorType=ESX'), ['app-5']);
    assert.deepEqual(await names('q=name?=web_1,app-5,nope'), ['app-5', 'web_1']);
    assert.deepEqual(await names('q=name!?=web_1,web-2,db%253,Db-4'), ['app-5', 'app-6']);
    assert.deepEqual(await names('q=name~=web%25'), ['web-2', 'web_1']);
    assert.deepEqual(await names('q=name!~=web%25'), ['Db-4', 'app-5', 'app-6', 'db%3']);
    assert.deepEqual(await names('q=hostUuid%20is%20null'), ['db%3']);
    assert.deepEqual(await names('q=hostUuid+not+null&q=name~=db%25'), []);
  });

  it('treats _ as one character and % as any run in LIKE', async () => {
    assert.deepEqual(await names('q=name~=web_1'), ['web_1']);
    assert.deepEqual(await names('q=name~=web_%25'), ['web-2', 'web_1']);
    assert.deepEqual(await names('q=name~=app-_'), ['app-5', 'app-6']);
  });

  it('picks the first operator of the documented order and splits on its first occurrence', async () => {
    // `!=` comes before `=`: the field is "name=a", which is unknown -> 503 SYS.1007.
    const res = await raw('/vm-instances?q=name=a!=b');
    assert.equal(res.status, 503);
    assert.equal((JSON.parse(res.text) as Reply).error?.code, 'SYS.1007');
    // The value keeps everything after the first `=`.
    assert.deepEqual((await q('/system-tags?q=tag=other::x')).inventories?.map((t) => t.tag), ['other::x']);
  });

  it('rejects a condition without operator with 400 text', async () => {
    const res = await raw('/vm-instances?q=name');
    assert.equal(res.status, 400);
    assert.match(res.text, /doesn't contain any query operator/);
  });

  it('answers an unknown field with 503 SYS.1007', async () => {
    const res = await raw('/vm-instances?q=noSuchField=1');
    assert.equal(res.status, 503);
    assert.equal((JSON.parse(res.text) as Reply).error?.code, 'SYS.1007');
  });

  it('decodes a raw % and an encoded %25 alike', async () => {
    const rawPct = await q('/system-tags?q=resourceType=VmInstanceVO&q=tag~=GuestTools::%');
    const encoded = await q('/system-tags?q=resourceType%3DVmInstanceVO&q=tag~%3DGuestTools%3A%3A%25');
    assert.equal(rawPct.inventories?.length, 5);
    assert.deepEqual(rawPct.inventories, encoded.inventories);
    // A `%` not followed by two hex digits is literal.
    assert.deepEqual(await names('q=name=db%3'), ['db%3']);
    assert.deepEqual(await names('q=name=db%253'), ['db%3']);
  });

  it('pages with limit/start (default limit 1000) and counts', async () => {
    const all = await q('/vm-instances');
    assert.equal(all.inventories?.length, 6);
    assert.equal(all.total, undefined);
    const page = await q('/vm-instances?limit=2&start=2&replyWithCount=True');
    assert.deepEqual(page.inventories?.map((i) => i.uuid), all.inventories?.slice(2, 4).map((i) => i.uuid));
    assert.equal(page.total, 6);
    const count = await q('/vm-instances?count=TRUE&q=state=Running');
    assert.deepEqual(count, { total: 5 });
    assert.equal((await q('/vm-instances?replyWithCount=yes')).total, undefined);
  });

  it('rejects a non-integer limit with 400', async () => {
    assert.equal((await raw('/vm-instances?limit=ten')).status, 400);
    assert.equal((await raw('/vm-instances?limit=1.5')).status, 400);
  });

  it('sorts with +f, -f and f (a raw + decodes to a space: ascending)', async () => {
    const asc = ['Db-4', 'app-5', 'app-6', 'db%3', 'web-2', 'web_1'];
    const sorted = async (s: string): Promise<unknown[]> => ((await q(`/vm-instances?sort=${s}`)).inventories ?? []).map((i) => i.name);
    assert.deepEqual(await sorted('name'), asc);
    assert.deepEqual(await sorted('%2Bname'), asc);
    assert.deepEqual(await sorted('+name'), asc);
    assert.deepEqual(await sorted('-name'), [...asc].reverse());
    assert.equal((await raw('/vm-instances?sort=vmCdRoms')).status, 503);
  });

  it('returns only the first fields= value, comma separated, null fields omitted', async () => {
    const res = await q(`/vm-instances?fields=uuid,hostUuid&fields=name&q=name?=db%253,web_1&sort=name`);
    assert.deepEqual(res.inventories, [{ uuid: hex('3') }, { uuid: hex('1'), hostUuid: hex('d') }]);
    assert.equal((await raw('/vm-instances?fields=vmCdRoms')).status, 503);
  });

  it('returns VM inventories with vmCdRoms, schema and ZStack dates; no hostUuid when stopped', async () => {
    const res = await q(`/vm-instances/${hex('6')}`);
    const inv = res.inventories?.[0] ?? {};
    assert.equal(inv.platform, 'Linux');
    assert.equal(inv.type, 'ApplianceVm');
    assert.equal((inv.vmCdRoms as unknown[]).length, 2);
    assert.match(String(inv.createDate), /^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)$/);
    assert.equal(res.schema?.['inventories[0]'], 'org.zstack.header.vm.VmInstanceInventory');
    const stopped = (await q(`/vm-instances/${hex('3')}`)).inventories?.[0] ?? {};
    assert.equal('hostUuid' in stopped, false);
    assert.deepEqual(await q(`/vm-instances/${hex('9')}`), { inventories: [] });
  });

  it('filters on child lists and tags (vmCdRoms.*, __systemTag__)', async () => {
    assert.deepEqual(await names('q=vmCdRoms.deviceId=1'), ['app-6']);
    assert.deepEqual(await names('q=vmCdRoms.uuid%20is%20null'), ['Db-4']);
    assert.deepEqual(await names('q=__systemTag__=other::x'), ['web-2']);
  });

  it('queries CD-ROMs (QueryVmCdRom)', async () => {
    const res = await q(`/vm-instances/cdroms?q=vmInstanceUuid=${hex('6')}&sort=deviceId`);
    assert.deepEqual(res.inventories?.map((c) => [c.vmInstanceUuid, c.deviceId]), [[hex('6'), 0], [hex('6'), 1]]);
    assert.match(String(res.inventories?.[0]?.uuid), /^[0-9a-f]{32}$/);
    const total = (await q('/vm-instances/cdroms?count=true')).total;
    assert.equal(total, 6);
  });

  it('has GuestTools:: tags on hosts and images too, so resourceType matters', async () => {
    const any = await q('/system-tags?q=tag~=GuestTools%25');
    const types = new Set(any.inventories?.map((t) => t.resourceType));
    assert.deepEqual([...types].sort(), ['HostVO', 'ImageVO', 'VmInstanceVO']);
    assert.ok(any.inventories?.some((t) => String(t.tag).startsWith('GuestToolsLinux::')));
    const vmOnly = await q(`/system-tags?q=resourceType=VmInstanceVO&q=resourceUuid=${hex('2')}&q=tag~=GuestTools::%25`);
    const tag = vmOnly.inventories?.[0] ?? {};
    assert.deepEqual([tag.tag, tag.type, tag.inherent, tag.resourceType], ['GuestTools::1.2.0', 'System', false, 'VmInstanceVO']);
    const byUuid = await q(`/system-tags/${String(tag.uuid)}`);
    assert.equal(byUuid.inventories?.length, 1);
  });

  it('queries guest-tools state rows (QueryGuestToolsState)', async () => {
    const res = await q('/guesttools');
    assert.deepEqual(res.inventories?.map((g) => [g.vmInstanceUuid, g.qgaState, g.version]), [[hex('2'), 'Running', '1.2.0']]);
    assert.equal((await q(`/guesttools/state?q=vmInstanceUuid=${hex('1')}`)).inventories?.length, 0);
  });

  it('pages by key (sort=+uuid, q=uuid>LAST) through creations and deletions: each row once, in order', async () => {
    const extra = (n: number): SimVm => vm('0', { uuid: `${n.toString(16).padStart(2, '0')}${'7'.repeat(30)}`, name: `churn-${n}` });
    const ids = [0x10, 0x30, 0x50, 0x70, 0x90, 0xb0, 0xd0];
    for (const n of ids) sim.addVm(extra(n));
    try {
      const seen: string[] = [];
      let last: string | null = null;
      for (let pageNo = 0; ; pageNo++) {
        const cond: string = last === null ? '' : `&q=uuid>${last}`;
        const page = (await q(`/vm-instances?q=state=Running${cond}&sort=%2Buuid&limit=3&fields=uuid`)).inventories ?? [];
        seen.push(...page.map((i) => String(i.uuid)));
        if (page.length < 3) break;
        last = String(page[page.length - 1].uuid);
        // Between pages: a row behind the cursor goes, one ahead of it goes, one ahead is created.
        if (pageNo === 0) {
          sim.removeVm(extra(0x10).uuid);
          sim.removeVm(extra(0xd0).uuid);
          sim.addVm(extra(0xe0));
        }
      }
      const running = sim.vms().filter((v) => v.state === 'Running').map((v) => v.uuid).sort();
      assert.deepEqual(seen.slice(3), running.filter((u) => u > seen[2]), 'after page 1: exactly the rows past its last key, once each');
      assert.ok(!seen.includes(extra(0xd0).uuid), 'a row deleted ahead of the cursor is not read');
      assert.ok(seen.includes(extra(0xe0).uuid), 'a row created ahead of the cursor is read');
      assert.equal((await q(`/vm-instances?count=true&q=uuid>${seen[2]}&q=state=Running`)).total, seen.length - 3);
    } finally {
      for (const n of [...ids, 0xe0]) if (sim.vm(extra(n).uuid)) sim.removeVm(extra(n).uuid);
    }
  });

  it('never matches a NULL key with > (MySQL), also when paging on it', async () => {
    // vm-3 is stopped: no hostUuid.
    const onHosts = await names(`q=hostUuid>${'0'.repeat(32)}&sort=%2BhostUuid`);
    assert.deepEqual(onHosts, ['Db-4', 'app-5', 'app-6', 'web-2', 'web_1']);
    assert.deepEqual(await names(`q=hostUuid>${'0'.repeat(32)}&sort=%2BhostUuid&q=name~=app%`), ['app-5', 'app-6']);
  });

  it('sees changes made while paging (no stale cache)', async () => {
    const before = (await q('/vm-instances?count=true&q=state=Running')).total;
    sim.updateVm(hex('1'), { state: 'Stopped', hostUuid: null });
    assert.equal((await q('/vm-instances?count=true&q=state=Running')).total, (before ?? 0) - 1);
    sim.updateVm(hex('1'), { state: 'Running', hostUuid: hex('d') });
  });
});

describe('simulator: query engine paging by key', () => {
  interface Row { uuid: string; state: string }
  function table(n: number) {
    const rows: Row[] = Array.from({ length: n }, (_, i) => ({ uuid: createHash('md5').update(String(i)).digest('hex'), state: i % 4 === 0 ? 'Stopped' : 'Running' }));
    let stateReads = 0;
    const res: Resource<Row> = {
      name: 'row', className: 'Row', rows: () => rows, toInventory: (r) => ({ ...r }),
      fields: {
        uuid: { kind: 'string', get: (r) => r.uuid },
        state: { kind: 'string', get: (r) => { stateReads++; return r.state; } },
      },
    };
    return { rows, res, stateReads: () => stateReads };
  }
  const page = (engine: QueryEngine, res: Resource<Row>, query: string): Row[] => {
    const reply = engine.run(res, { params: parseQueryString(query) });
    assert.equal(reply.status, 200, reply.body);
    return (JSON.parse(reply.body) as { inventories: Row[] }).inventories;
  };

  it('filters the table once for all the pages of a query, whatever their key condition', () => {
    const { rows, res, stateReads } = table(1000);
    let version = 0;
    const engine = new QueryEngine(() => version);
    const read = (): Row[] => {
      const out: Row[] = [];
      let last: string | null = null;
      for (;;) {
        const got = page(engine, res, `q=state=Running${last === null ? '' : `&q=uuid>${last}`}&sort=%2Buuid&limit=50`);
        out.push(...got);
        if (got.length < 50) return out;
        last = got[got.length - 1].uuid;
      }
    };
    const all = read();
    const expected = rows.filter((r) => r.state === 'Running').map((r) => r.uuid).sort();
    assert.deepEqual(all.map((r) => r.uuid), expected);
    // 16 pages: the state condition was evaluated once per row, not once per row per page.
    assert.equal(stateReads(), rows.length);
    version++; // the world changed: one filter pass more, then pages are served from it again
    assert.deepEqual(read().map((r) => r.uuid), expected);
    assert.equal(stateReads(), 2 * rows.length);
  });

  it('keeps a paged query\'s list while many other queries come and go (least recently used out first)', () => {
    const { rows, res, stateReads } = table(200);
    const engine = new QueryEngine(() => 0);
    const first = page(engine, res, 'q=state=Running&sort=%2Buuid&limit=10');
    // Many one-off queries in between (other conditions each): the paged query's list stays cached.
    for (let i = 0; i < 40; i++) {
      page(engine, res, `q=state=Running&q=uuid>${rows[i].uuid}&q=uuid!=x${i}&sort=%2Buuid&limit=1`);
      page(engine, res, `q=state=Running&q=uuid>${first[first.length - 1].uuid}&sort=%2Buuid&limit=10`);
    }
    // One pass for the paged query, one per one-off query: the paged query never filtered again.
    assert.equal(stateReads(), 41 * rows.length);
  });
});
