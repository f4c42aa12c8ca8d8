// AccessKey authentication end to end: the CLI as a child process, its config from a file and the
// environment, against the simulator over real sockets. Config mistakes exit 2 and say what to set;
// the MN's refusals exit 3 with their own messages.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startSimulator } from '../src/sim/index.js';
import { gtr, simConfig, workspace, type Workspace } from './helpers/cli.js';
import { outdatedFleet } from './helpers/fault.js';

const KEY = { id: 'AKe2e0000001', secret: 'Sk-e2e-5f4e3d2c1b0a9988' };

/** The workspace's config with an AccessKey instead of the password; `zstack` keys merged over it. */
function keyConfig(ws: Workspace, sim: { endpoint: string; accountName: string; password: string }, zstack: Record<string, unknown>): string {
  const base = simConfig(ws, sim);
  const z = { ...(base.zstack as Record<string, unknown>), password: undefined, accessKeyId: KEY.id, ...zstack };
  return ws.writeConfig({ ...base, zstack: z });
}

describe('gtr with an AccessKey', () => {
  it('reconciles with a secret file, never logging in; a group-readable secret file draws a warning', async () => {
    const sim = await startSimulator({ fleet: outdatedFleet(6, 3), accessKeys: [KEY], jobDurationMs: 5, guests: { installDelayMs: 5 } });
    const ws = await workspace();
    try {
      const secretFile = join(ws.dir, 'ak-secret');
      writeFileSync(secretFile, `${KEY.secret}\n`, { mode: 0o600 });
      const config = keyConfig(ws, sim, { accessKeySecretFile: secretFile });
      const r = await gtr(['reconcile', '--json', '--config', config]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { counts: { succeeded: number } };
      assert.ok(report.counts.succeeded > 0);
      assert.equal(sim.requestsByApi().LogInByAccount, undefined);
      assert.ok(!r.stderr.includes('accessKeySecretFile'), 'no warning for a 0600 file');

      chmodSync(secretFile, 0o644);
      const loose = await gtr(['plan', '--config', config]);
      assert.equal(loose.code, 0, loose.stderr);
      assert.match(loose.stderr, /zstack\.accessKeySecretFile .*ak-secret holds the AccessKey secret and is readable by group or others \(mode 644\); run: chmod 600/);
      assert.ok(!`${r.stdout}${r.stderr}${loose.stdout}${loose.stderr}`.includes(KEY.secret));
    } finally {
      ws.cleanup();
      await sim.close();
    }
  });

  it('a wrong secret (from the environment) and a skewed MN clock exit 3 with their own messages', async () => {
    const sim = await startSimulator({ fleet: outdatedFleet(2, 1), accessKeys: [KEY] });
    const ws = await workspace();
    try {
      const config = keyConfig(ws, sim, {});
      const wrong = await gtr(['plan', '--config', config], { env: { GTR_ZSTACK_ACCESS_KEY_SECRET: 'not-the-secret' } });
      assert.equal(wrong.code, 3, wrong.stderr);
      assert.match(wrong.stderr, /GTR_ZSTACK_ACCESS_KEY_REFUSED|AccessKey AKe2e0000001 refused/);
      assert.match(wrong.stderr, /wrong signature/);

      sim.setClockSkew(-30 * 60_000);
      const skewed = await gtr(['plan', '--config', config], { env: { GTR_ZSTACK_ACCESS_KEY_SECRET: KEY.secret } });
      assert.equal(skewed.code, 3, skewed.stderr);
      assert.match(skewed.stderr, /differ by more than 15 minutes \(local time \S+, management node Date \w{3}, \d\d \w{3} \d{4} [\d:]+ GMT, the management node is 30 min behind\)/);
      assert.ok(!`${wrong.stderr}${skewed.stderr}${skewed.stdout}`.includes(KEY.secret));
    } finally {
      ws.cleanup();
      await sim.close();
    }
  });

  it('config mistakes exit 2 and say what to set; iso, runs and migrate need no credentials', async () => {
    const sim = { endpoint: 'http://127.0.0.1:9', accountName: 'admin', password: 'pw' };
    const ws = await workspace();
    try {
      const both = await gtr(['plan', '--config', keyConfig(ws, sim, { accessKeySecret: KEY.secret, password: 'pw' })]);
      assert.equal(both.code, 2, both.stderr);
      assert.match(both.stderr, /zstack\.accessKeyId.*either an AccessKey .* or a password .*not both/s);

      const noSecret = await gtr(['plan', '--config', keyConfig(ws, sim, {})]);
      assert.equal(noSecret.code, 2, noSecret.stderr);
      assert.match(noSecret.stderr, /zstack\.accessKeySecret.*the secret of AccessKey AKe2e0000001/s);

      const base = simConfig(ws, sim);
      const none = ws.writeConfig({ ...base, zstack: { ...(base.zstack as Record<string, unknown>), password: undefined } });
      for (const command of [['plan'], ['reconcile'], ['rollout', 'start']]) {
        const r = await gtr([...command, '--config', none]);
        assert.equal(r.code, 2, `${command.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /credentials for the management node.*zstack\.accessKeyId.*zstack\.password/s, command.join(' '));
      }
      for (const command of [['migrate'], ['iso'], ['runs'], ['status']]) {
        const r = await gtr([...command, '--config', none]);
        assert.equal(r.code, 0, `${command.join(' ')}: ${r.stderr}`);
      }
    } finally {
      ws.cleanup();
    }
  });
});
