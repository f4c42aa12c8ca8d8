import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { compareVersions, parseVersion } from '../src/tools-version.js';
import { generateFleet, runSimCommand, startSimulator, writeIsoDir } from '../src/sim/index.js';
import { cdRomUuid } from '../src/sim/resources.js';

describe('simulator: fleet generator', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = generateFleet({ vms: 500, seed: 11 });
    assert.deepEqual(generateFleet({ vms: 500, seed: 11 }), a);
    assert.notDeepEqual(generateFleet({ vms: 500, seed: 12 }).map((v) => v.uuid), a.map((v) => v.uuid));
    assert.equal(new Set(a.map((v) => v.uuid)).size, 500);
    assert.ok(a.every((v) => /^[0-9a-f]{32}$/.test(v.uuid)));
  });

  it('gives every CD-ROM of a 100,000-VM fleet its own uuid (the key CD-ROM queries page by)', () => {
    let rows = 0;
    const uuids = new Set<string>();
    for (const vm of generateFleet({ vms: 100_000, seed: 1 })) {
      for (let d = 0; d < vm.cdRoms; d++, rows++) uuids.add(cdRomUuid(vm.uuid, d));
    }
    assert.equal(uuids.size, rows);
  });

  it('has a realistic mix', () => {
    const fleet = generateFleet({ vms: 20000, seed: 5 });
    const share = (pred: (v: (typeof fleet)[number]) => boolean): number => fleet.filter(pred).length / fleet.length;
    const near = (value: number, want: number, tol: number, what: string): void =>
      assert.ok(Math.abs(value - want) <= tol, `${what}: ${value.toFixed(3)} not near ${want}`);
    near(share((v) => v.platform === 'Linux'), 0.66, 0.03, 'Linux');
    near(share((v) => v.platform === 'Windows'), 0.24, 0.03, 'Windows');
    near(share((v) => v.platform === 'WindowsVirtio'), 0.05, 0.015, 'WindowsVirtio');
    near(share((v) => v.platform === 'Other' || v.platform === 'Paravirtualization'), 0.05, 0.015, 'Other/PV');
    near(share((v) => v.architecture === 'x86_64'), 0.85, 0.03, 'x86_64');
    assert.ok(share((v) => v.architecture === 'aarch64') > 0.05);
    assert.ok(fleet.some((v) => v.architecture === 'mips64el') && fleet.some((v) => v.architecture === 'loongarch64'));
    near(share((v) => v.state === 'Running'), 0.85, 0.03, 'Running');
    assert.ok(fleet.filter((v) => v.state === 'Stopped').every((v) => v.hostUuid === null));
    assert.ok(fleet.filter((v) => v.state === 'Running').every((v) => v.hostUuid !== null));
    near(share((v) => v.type === 'ApplianceVm'), 0.03, 0.01, 'ApplianceVm');
    near(share((v) => v.hypervisorType !== 'KVM'), 0.02, 0.01, 'non-KVM');
    near(share((v) => v.cdRoms === 0), 0.05, 0.015, 'no CD-ROM');
    near(share((v) => v.tags.length === 0), 0.04, 0.015, 'untagged');
    near(share((v) => v.tags.includes('GuestTools::1.2.0')), 0.74, 0.03, 'current');
    const eligible = fleet.filter((v) => v.state === 'Running' && v.hypervisorType === 'KVM' && v.type === 'UserVm' && v.cdRoms > 0);
    const current = parseVersion('1.2.0')!;
    const outdated = eligible.filter((v) => v.tags.some((t) => {
      const ver = parseVersion(t.slice('GuestTools::'.length));
      return ver !== null && compareVersions(ver, current) < 0;
    }));
    near(outdated.length / eligible.length, 0.2, 0.02, 'outdated among eligible');
    assert.ok(fleet.some((v) => v.tags.includes('GuestTools::1.3.0')), 'some newer');
    assert.ok(fleet.some((v) => v.tags.includes('GuestTools::abc')) && fleet.some((v) => v.tags.includes('GuestTools::')), 'unparseable');
    const guests = fleet.filter((v) => v.guest);
    assert.ok(guests.every((v) => v.guest?.qgaState === 'Running' && v.tags.includes(`GuestTools::${v.guest.version}`)));
    near(guests.length / fleet.filter((v) => v.tags.length > 0).length, 0.5, 0.05, 'guest rows');
    const hosts = new Set(fleet.map((v) => v.hostUuid).filter(Boolean));
    assert.ok(hosts.size >= 900 && hosts.size <= 1000, `hosts ${hosts.size}`);
    assert.ok(new Set(fleet.map((v) => v.zoneUuid)).size >= 2);
  });

  it('follows isoVersion and outdatedShare', () => {
    const fleet = generateFleet({ vms: 2000, seed: 1, isoVersion: '2.0.1', outdatedShare: 0.5 });
    const current = fleet.filter((v) => v.tags.includes('GuestTools::2.0.1')).length;
    assert.ok(current > 800 && current < 1100, String(current));
    assert.ok(fleet.some((v) => v.tags.includes('GuestTools::2.1.0')));
  });
});

describe('simulator: writeIsoDir', () => {
  let dir = '';
  after(() => rm(dir, { recursive: true, force: true }));

  it('creates empty ISO files in the /opt/zstack-dvd layout', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gtr-sim-iso-'));
    const files = await writeIsoDir(dir, [
      { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.2.0' },
      { agentType: 'WindowsOnKvm', architecture: 'aarch64', version: '1.2.0' },
      { agentType: 'LinuxOnKvm', architecture: 'general', version: '1.2.0' },
    ]);
    assert.deepEqual(files.map((f) => path.relative(dir, f)), [
      'x86_64/c79/tools/guesttools/x86_64/KVM/GuestTools-1.2.0.iso',
      'aarch64/h84r/tools/guesttools/aarch64/KVM/GuestTools-1.2.0.iso',
      'x86_64/c79/tools/guesttools/general/KVM/GuestTools_linux-1.2.0.iso',
    ]);
    for (const f of files) assert.equal((await stat(f)).size, 0);
  });

  it('never rewrites a file already there: a real ISO keeps its content', async () => {
    const own = await mkdtemp(path.join(os.tmpdir(), 'gtr-sim-iso-'));
    try {
      const iso = { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.2.0' } as const;
      const [file] = await writeIsoDir(own, [iso]);
      await writeFile(file, 'a real ISO image');
      await writeIsoDir(own, [iso]);
      assert.equal(await readFile(file, 'utf8'), 'a real ISO image');
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it('gtr sim --iso-dir refuses a folder it did not make (such as /opt/zstack-dvd), exit 2, and writes nothing there', { timeout: 60_000 }, async () => {
    const dvd = await mkdtemp(path.join(os.tmpdir(), 'gtr-sim-dvd-'));
    const errors: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void errors.push(a.join(' '));
    try {
      const real = path.join(dvd, 'x86_64/c79/tools/guesttools/x86_64/KVM/GuestTools-1.1.0.iso');
      await mkdir(path.dirname(real), { recursive: true });
      await writeFile(real, 'the ISO the MN mounts');
      assert.equal(await runSimCommand(['--port', '0', '--iso-dir', dvd]), 2);
      assert.match(errors.join('\n'), /--iso-dir .* already holds files \(x86_64\) and was not made by gtr sim: .*never point it at the management node's \/opt\/zstack-dvd/);
      assert.deepEqual(await readdir(path.dirname(real)), ['GuestTools-1.1.0.iso'], 'no fake version added');
      assert.equal(await readFile(real, 'utf8'), 'the ISO the MN mounts');
    } finally {
      console.error = orig;
      await rm(dvd, { recursive: true, force: true });
    }
  });
});

describe('simulator: 100k fleet', () => {
  it('serves the last page of a 100,000-VM fleet with counts', async () => {
    const sim = await startSimulator({ fleet: { vms: 100_000, seed: 3 } });
    try {
      const login = await request(`${sim.endpoint}/zstack/v1/accounts/login`, {
        method: 'PUT',
        body: JSON.stringify({ logInByAccount: { accountName: 'admin', password: 'b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb980b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86' } }),
      });
      const auth = { Authorization: `OAuth ${((await login.body.json()) as { inventory: { uuid: string } }).inventory.uuid}` };
      const res = await request(`${sim.endpoint}/zstack/v1/vm-instances?start=99500&limit=1000&replyWithCount=true&sort=name`, { headers: auth });
      const body = (await res.body.json()) as { inventories: { name: string }[]; total: number };
      assert.equal(body.total, 100_000);
      assert.equal(body.inventories.length, 500);
      const names = generateFleet({ vms: 100_000, seed: 3 }).map((v) => v.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      assert.deepEqual(body.inventories.map((i) => i.name), names.slice(99_500));
    } finally {
      await sim.close();
    }
  });
});

describe('simulator: gtr sim command', () => {
  it('rejects bad flags with exit code 2', async () => {
    const errors: string[] = [];
    const orig = console.error;
    console.error = (...args: unknown[]) => void errors.push(args.join(' '));
    try {
      assert.equal(await runSimCommand(['--vms', 'many']), 2);
      assert.equal(await runSimCommand(['--bogus']), 2);
      assert.equal(await runSimCommand(['--port', '70000']), 2);
    } finally {
      console.error = orig;
    }
    assert.match(errors.join('\n'), /--vms must be a whole number/);
  });

  it('serves until SIGTERM, prints how to connect, writes ISOs, exits 0', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gtr-sim-cli-'));
    try {
      const entry = fileURLToPath(new URL('../src/sim/cli.ts', import.meta.url));
      const script = `import(${JSON.stringify(entry)}).then(m => m.runSimCommand(process.argv.slice(1))).then(c => { process.exitCode = c; })`;
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, '--', '--vms', '50', '--port', '0', '--iso-dir', dir, '--job-ms', '5'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      for (let i = 0; i < 600 && !out.includes('curl'); i++) await new Promise((r) => setTimeout(r, 25));
      const endpoint = /endpoint: (http:\/\/\S+)/.exec(out)?.[1];
      assert.ok(endpoint, out);
      assert.match(out, /account: +admin/);
      assert.match(out, /password: +password/);
      const res = await request(`${endpoint}/zstack/v1/vm-instances`);
      assert.equal(res.statusCode, 400);
      await res.body.text();
      assert.ok((await readdir(dir)).includes('x86_64'));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
