// The database folder on a fresh machine: created (0750) when missing, and a gtr run as root in a
// folder that belongs to the service user acts as that user, so root leaves no root-owned files behind.
// Real CLI processes, a real simulator, real files; the ownership case needs root (CI runs as root).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { gtr, simConfig, workspace, type Workspace } from './helpers/cli.js';
import { outdatedFleet } from './helpers/fault.js';

const asRoot = process.getuid?.() === 0;
/** "nobody" on Debian and RHEL-like systems; setuid needs no passwd entry for it anyway. */
const SERVICE_UID = 65534;

describe('database folder', () => {
  let sim: Simulator;
  let ws: Workspace;
  before(async () => {
    sim = await startSimulator({ fleet: outdatedFleet(3, 1) });
    ws = await workspace();
  });
  after(async () => {
    await sim.close();
    ws.cleanup();
  });

  it('a missing folder is created, closed to others, and the database made in it', async () => {
    const folder = join(ws.dir, 'var', 'lib', 'gtr');
    const r = await gtr(['migrate', '--config', ws.writeConfig({ ...simConfig(ws, sim), database: join(folder, 'state.db') })]);
    assert.equal(r.code, 0, r.stderr);
    const mode = statSync(folder).mode & 0o777;
    assert.equal(mode & 0o700, 0o700, `owner has full access: ${mode.toString(8)}`);
    assert.equal(mode & 0o027, 0, `no group write, nothing for others: ${mode.toString(8)}`);
    assert.ok(statSync(join(folder, 'state.db')).isFile());
  });

  it('run as root in a folder owned by the service user: the run works and every file it leaves belongs to that user',
    { skip: !asRoot && 'needs root: only root can switch users' }, async () => {
      chmodSync(ws.dir, 0o755); // the service user must reach the folder and the ISO folder, as on a real system
      const folder = join(ws.dir, 'state');
      mkdirSync(folder, { mode: 0o750 });
      chownSync(folder, SERVICE_UID, SERVICE_UID);
      const r = await gtr(['reconcile', '--json', '--config', ws.writeConfig({ ...simConfig(ws, sim), database: join(folder, 'state.db') })]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).counts.succeeded, 3, 'the three out-of-date VMs were attached');
      const files = readdirSync(folder);
      assert.ok(files.includes('state.db'), files.join(', '));
      for (const name of files) {
        const st = statSync(join(folder, name));
        assert.deepEqual([name, st.uid, st.gid], [name, SERVICE_UID, SERVICE_UID], `${name} belongs to the folder's owner, not root`);
      }
    });
});
