// The simulator's UI tags (zstack-api.md 10.1) over real sockets: tag patterns (GET /v1/tags), user
// tags (GET /v1/user-tags) with paging and query conditions, the __userTag__ / __tagUuid__ VM
// conditions, legacy tags without a pattern, per-account visibility, and fleets that carry UI tags.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { generateFleet, type SimOptions } from '../src/sim/index.js';
import { clientHarness } from './helpers/zstack.js';
import { HEX, testVm } from './helpers/fleet.js';

interface Reply { inventories?: Record<string, unknown>[]; total?: number; schema?: Record<string, string> }

const h = clientHarness();

async function session(opts: SimOptions) {
  const sim = await h.sim(opts);
  const res = await request(`${sim.endpoint}/zstack/v1/accounts/login`, {
    method: 'PUT',
    body: JSON.stringify({ logInByAccount: { accountName: sim.accountName, password: createHash('sha512').update(sim.password).digest('hex') } }),
  });
  const id = ((await res.body.json()) as { inventory: { uuid: string } }).inventory.uuid;
  const get = async (path: string): Promise<{ status: number; body: Reply; text: string }> => {
    const r = await request(`${sim.endpoint}/zstack/v1${path}`, { headers: { Authorization: `OAuth ${id}` } });
    const text = await r.body.text();
    return { status: r.statusCode, text, body: r.statusCode === 200 && text ? (JSON.parse(text) as Reply) : {} };
  };
  return { sim, get };
}

const FLEET = [
  testVm(1, { userTags: ['canary'] }),
  testVm(2, { userTags: ['canary', 'no-auto-upgrade'] }),
  testVm(3, { userTags: [{ pattern: 'owner', tag: 'owner::alice' }] }),
  testVm(4, { userTags: [{ legacy: 'prod-db' }] }),
  testVm(5),
];

describe('simulator: UI tags', () => {
  it('serves tag patterns and user tags with their inventories, paging and conditions', async () => {
    const { get } = await session({ fleet: FLEET });
    const patterns = (await get('/tags?sort=%2Bname')).body.inventories ?? [];
    assert.deepEqual(patterns.map((p) => p.name), ['canary', 'no-auto-upgrade', 'owner']);
    const canary = patterns[0]!;
    assert.equal(canary.value, 'canary');
    assert.equal(canary.type, 'simple');
    assert.match(String(canary.color), /^#[0-9A-F]{6}$/);
    assert.equal(typeof canary.createDate, 'string');
    assert.equal((await get('/tags?q=name=canary')).body.inventories?.length, 1);
    assert.equal((await get(`/tags/${String(canary.uuid)}`)).body.inventories?.[0]?.name, 'canary');

    const onCanary = (await get(`/user-tags?q=tagPatternUuid=${String(canary.uuid)}&q=resourceType=VmInstanceVO`)).body.inventories ?? [];
    assert.deepEqual(onCanary.map((t) => t.resourceUuid).sort(), [HEX(1), HEX(2)]);
    assert.equal(onCanary[0]?.type, 'User');
    assert.equal(onCanary[0]?.tag, 'canary');
    // Legacy tags: no tagPatternUuid (null fields are omitted, as the MN's Gson does).
    const legacy = (await get('/user-tags?q=tagPatternUuid%20is%20null')).body.inventories ?? [];
    assert.deepEqual(legacy.map((t) => [t.resourceUuid, t.tag, 'tagPatternUuid' in t]), [[HEX(4), 'prod-db', false]]);
    // A token-filled tag keeps the pattern's uuid and the filled text.
    const owner = (await get('/user-tags?q=tag~=owner::%25')).body.inventories ?? [];
    assert.deepEqual(owner.map((t) => t.resourceUuid), [HEX(3)]);

    const all = await get('/user-tags?count=true');
    assert.equal(all.body.total, 5);
    const page1 = (await get('/user-tags?limit=2&start=0&sort=%2Buuid')).body.inventories ?? [];
    const page3 = (await get('/user-tags?limit=2&start=4&sort=%2Buuid')).body.inventories ?? [];
    assert.equal(page1.length, 2);
    assert.equal(page3.length, 1);
    assert.equal((await get('/user-tags?q=nope=1')).status, 503);
  });

  it('filters VMs by __userTag__ and __tagUuid__', async () => {
    const { get } = await session({ fleet: FLEET });
    const names = async (q: string) => ((await get(`/vm-instances?${q}`)).body.inventories ?? []).map((v) => v.name).sort();
    assert.deepEqual(await names('q=__userTag__=canary'), ['vm-1', 'vm-2']);
    assert.deepEqual(await names('q=__userTag__=prod-db'), ['vm-4']);
    assert.deepEqual(await names('q=__userTag__~=owner::%25'), ['vm-3']);
    assert.deepEqual(await names('q=__userTag__?=no-auto-upgrade,prod-db'), ['vm-2', 'vm-4']);
    const canary = (await get('/tags?q=name=canary')).body.inventories?.[0]?.uuid;
    assert.deepEqual(await names(`q=__tagUuid__=${String(canary)}`), ['vm-1', 'vm-2']);
    assert.deepEqual(await names('q=__userTag__=nothing'), []);
  });

  it('shows a non-admin account only its own patterns and their user tags', async () => {
    const fleet = [testVm(1, { userTags: [{ pattern: 'canary', owner: 'admin' }, 'mine'] }), testVm(2, { userTags: [{ legacy: 'old', owner: 'admin' }] })];
    const { get } = await session({ accountName: 'ops', fleet });
    assert.deepEqual((await get('/tags')).body.inventories?.map((p) => p.name), ['mine']);
    assert.deepEqual((await get('/user-tags')).body.inventories?.map((t) => t.tag), ['mine']);
    assert.deepEqual((await get('/vm-instances?q=__userTag__=canary')).body.inventories, []);
  });

  it('answers 404 for an unknown tag path and keeps UI tags across updates', async () => {
    const { sim, get } = await session({ fleet: FLEET });
    assert.equal((await get('/tag-patterns')).status, 404);
    assert.deepEqual(sim.vm(HEX(2))?.userTags, [{ pattern: 'canary', tag: 'canary', owner: 'admin' }, { pattern: 'no-auto-upgrade', tag: 'no-auto-upgrade', owner: 'admin' }]);
    sim.updateVm(HEX(2), { userTags: [] });
    assert.deepEqual((await get('/vm-instances?q=__userTag__=no-auto-upgrade')).body.inventories, []);
  });

  it('generates fleets with UI tags on a share of the VMs, leaving the rest of the fleet as it was', () => {
    const plain = generateFleet({ vms: 2000, seed: 7 });
    const tagged = generateFleet({ vms: 2000, seed: 7, uiTags: { canary: 0.05, 'no-auto-upgrade': 0.1 } });
    assert.deepEqual(tagged.map(({ userTags: _u, ...vm }) => vm), plain);
    const count = (name: string) => tagged.filter((v) => v.userTags?.includes(name)).length;
    assert.ok(count('canary') > 50 && count('canary') < 150, `canary on ${count('canary')} VMs`);
    assert.ok(count('no-auto-upgrade') > 130 && count('no-auto-upgrade') < 270);
  });
});
