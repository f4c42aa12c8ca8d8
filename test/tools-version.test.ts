// Versions as the planner compares them; the plain X.Y.Z fast path must agree with semver and the
// loose dotted form on every input it takes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, highestVersion, parseVersion } from '../src/tools-version.js';

const seg = (raw: string) => parseVersion(raw)?.segments ?? null;

describe('parseVersion', () => {
  it('reads plain, loose, prerelease and unparseable versions', () => {
    assert.deepEqual(seg('1.2.3'), [1, 2, 3]);
    assert.deepEqual(seg('1.02.3'), [1, 2, 3], 'leading zeros are the loose form');
    assert.deepEqual(seg('1.2'), [1, 2, 0]);
    assert.deepEqual(seg('1.2.3.4'), [1, 2, 3, 4]);
    assert.deepEqual(parseVersion('2.0.0-rc.1')?.prerelease, ['rc', '1']);
    assert.equal(parseVersion('9007199254740993.0.0'), null, 'beyond a safe integer');
    for (const bad of ['', 'latest', '1..2', '1.2.x', 'x'.repeat(65)]) assert.equal(parseVersion(bad), null, bad);
  });

  it('orders by numbers, never by text, and a release after its prereleases', () => {
    const order = ['1.2.3-rc.1', '1.2.3', '1.2.3.1', '1.10.0', '4.10.0'];
    for (let i = 1; i < order.length; i++) {
      const [a, b] = [parseVersion(order[i - 1]), parseVersion(order[i])];
      assert.ok(a && b && compareVersions(a, b) < 0, `${order[i - 1]} < ${order[i]}`);
    }
    assert.equal(highestVersion(['1.9.0', 'junk', '1.10.0', '1.10.0-rc.2'])?.raw, '1.10.0');
  });
});
