// gtr doctor's "platform" check: x86_64 and aarch64 pass (saying which runtime runs gtr); any other
// machine (LoongArch, mips64el: no Node 20) warns and says how to run gtr from another machine.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkPlatform } from '../src/doctor/platform-check.js';
import { gtr, workspace } from './helpers/cli.js';

describe('gtr doctor: platform', () => {
  it('x86_64 and aarch64 pass; the bundle\'s own loader is named as such; LoongArch and mips64el are said to be out of scope', () => {
    const bundled = checkPlatform({ arch: 'x64', execPath: '/opt/guesttools-reconciler/0.1.0/runtime/lib/ld-linux-x86-64.so.2' });
    assert.equal(bundled.status, 'pass');
    assert.match(bundled.detail, /^x86_64, the offline bundle's own Node and C runtime/);
    assert.match(bundled.detail, /LoongArch and mips64el management nodes are out of scope/);
    const npm = checkPlatform({ arch: 'arm64', execPath: '/usr/bin/node' });
    assert.equal(npm.status, 'pass');
    assert.match(npm.detail, /^aarch64, Node \d+\.\d+\.\d+ from \/usr\/bin\/node/);
  });

  for (const arch of ['loong64', 'mips64el']) {
    it(`${arch}: a warning with the way out (another machine, zstack.endpoint, isoDir on NFS)`, () => {
      const r = checkPlatform({ arch, execPath: '/usr/bin/node' });
      assert.equal(r.status, 'warn');
      assert.match(r.detail, new RegExp(`this machine is ${arch}: gtr supports x86_64 and aarch64`));
      assert.match(r.fix ?? '', /another x86_64 or aarch64 Linux machine.*zstack\.endpoint.*isoDir.*NFS/);
    });
  }

  it('is in gtr doctor --json, also when the configuration is invalid', async () => {
    const ws = await workspace();
    try {
      const config = ws.writeConfig({ policy: { maxPerHost: -2 } });
      const r = await gtr(['doctor', '--json', '--config', config]);
      assert.equal(r.code, 2, r.stderr);
      const report = JSON.parse(r.stdout) as { checks: { name: string; status: string }[] };
      assert.equal(report.checks.find((c) => c.name === 'platform')?.status, 'pass');
    } finally {
      ws.cleanup();
    }
  });
});
