// `gtr doctor` end to end: the built CLI as a child process against the simulator, real SQLite files
// and real file modes. Each failure a user can meet shows up as a failing check with a fix, exit 1;
// an invalid configuration exits 2; doctor never changes the database, never takes the lease, and
// never prints a secret.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Ledger } from '../src/ledger/index.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { testFleet } from './helpers/fleet.js';
import { fakeZsha2 } from './helpers/fake-zsha2.js';
import { gtr, simConfig, workspace, type CliResult, type Workspace } from './helpers/cli.js';

const PASSWORD = 'Doctor-Secret-77';

interface Check {
  name: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  detail: string;
  fix: string | null;
}

async function doctorJson(config: string): Promise<{ r: CliResult; ok: boolean; checks: Map<string, Check> }> {
  const r = await gtr(['doctor', '--config', config, '--json']);
  assert.ok(r.stdout.trim().startsWith('{'), `expected JSON on stdout, got: ${r.stdout.slice(0, 300)}\nstderr: ${r.stderr.slice(0, 500)}`);
  const doc = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
  assertNoSecret(r);
  return { r, ok: doc.ok, checks: new Map(doc.checks.map((c) => [c.name, c])) };
}

function assertNoSecret(r: CliResult): void {
  assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), 'the password must never be printed');
}

function statusOf(checks: Map<string, Check>, name: string): string {
  const c = checks.get(name);
  assert.ok(c, `check ${name} missing`);
  return c.status;
}

/** A TCP port nobody listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('gtr doctor', () => {
  let sim: Simulator;
  const workspaces: Workspace[] = [];
  const newWorkspace = async (...args: Parameters<typeof workspace>) => {
    const ws = await workspace(...args);
    workspaces.push(ws);
    return ws;
  };

  before(async () => {
    sim = await startSimulator({ fleet: testFleet(3), password: PASSWORD });
  });
  after(async () => {
    await sim.close();
    for (const ws of workspaces) ws.cleanup();
  });

  it('all checks pass on a working setup, and the database is left exactly as it was', async () => {
    const ws = await newWorkspace();
    const config = ws.writeConfig(simConfig(ws, sim));
    const first = await doctorJson(config);
    assert.equal(first.r.code, 0, first.r.stdout);
    assert.equal(first.ok, true);
    assert.match(first.checks.get('database')?.detail ?? '', /does not exist yet/);
    assert.deepEqual(readdirSync(ws.dir).filter((f) => f.startsWith('state.db')), [], 'doctor created no database');

    const plan = await gtr(['plan', '--config', config]);
    assert.equal(plan.code, 0, plan.stderr);
    const before = readFileSync(ws.database);
    const files = readdirSync(ws.dir).sort();
    const calls = sim.calls.length;
    const { r, ok, checks } = await doctorJson(config);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(ok, true);
    for (const name of ['config', 'secrets', 'iso-catalog', 'database', 'lease', 'endpoint', 'clock-skew', 'api-version', 'login']) {
      assert.equal(statusOf(checks, name), 'pass', `${name}: ${checks.get(name)?.detail}`);
    }
    assert.match(checks.get('iso-catalog')?.detail ?? '', /3 targets/);
    assert.match(checks.get('database')?.detail ?? '', /integrity ok/);
    assert.equal(statusOf(checks, 'tls'), 'skip');
    assert.equal(statusOf(checks, 'leader'), 'skip');
    assert.match(checks.get('leader')?.detail ?? '', /not configured/);
    assert.ok(['skip', 'pass', 'warn'].includes(statusOf(checks, 'systemd')));
    assert.ok(readFileSync(ws.database).equals(before), 'the database file is unchanged');
    assert.deepEqual(readdirSync(ws.dir).sort(), files, 'no -wal, -shm or other file appeared');
    const apis = sim.calls.slice(calls).map((c) => c.api);
    assert.ok(apis.includes('LogInByAccount') && apis.includes('LogOut'), `logged in and out: ${apis.join(', ')}`);
    assert.ok(!apis.some((a) => a.startsWith('Attach')), 'attached nothing');
  });

  it('script-library and detach: pass on an MN that has both; a warning each (not a failure, exit 0) on an older MN without them', async () => {
    const ws = await newWorkspace();
    const config = ws.writeConfig(simConfig(ws, sim));
    const current = await doctorJson(config);
    assert.equal(current.r.code, 0, current.r.stdout);
    assert.equal(statusOf(current.checks, 'script-library'), 'pass', current.checks.get('script-library')?.detail);
    assert.equal(statusOf(current.checks, 'detach'), 'pass', current.checks.get('detach')?.detail);
    assert.match(current.checks.get('script-library')?.detail ?? '', /install.mode is off/);

    const older = await startSimulator({ fleet: testFleet(3), password: PASSWORD, scriptLibrary: false, detachApi: false });
    try {
      const oldWs = await newWorkspace();
      const calls = older.calls.length;
      const { r, ok, checks } = await doctorJson(oldWs.writeConfig(simConfig(oldWs, older)));
      assert.equal(r.code, 0, `warnings do not fail doctor: ${r.stdout}`);
      assert.equal(ok, true);
      assert.equal(statusOf(checks, 'script-library'), 'warn');
      assert.match(checks.get('script-library')?.detail ?? '', /no script library/);
      assert.match(checks.get('script-library')?.fix ?? '', /5\.2\.0/);
      assert.equal(statusOf(checks, 'detach'), 'warn');
      assert.match(checks.get('detach')?.detail ?? '', /no DetachGuestToolsIsoFromVm/);
      assert.equal(older.attachesStarted().length, 0, 'attached nothing');
      assert.ok(older.calls.slice(calls).every((c) => c.vmUuid === undefined || !older.guestView(c.vmUuid)), 'touched no VM of the fleet');
      const human = await gtr(['doctor', '--config', oldWs.writeConfig(simConfig(oldWs, older))]);
      assert.match(human.stdout, /^script-library\s+warn\b/m);
      assert.match(human.stdout, /^detach\s+warn\b/m);
    } finally {
      await older.close();
    }
  });

  it('a wrong password: login fails with its fix, exit 1, the password never printed', async () => {
    const ws = await newWorkspace();
    const base = simConfig(ws, sim);
    const config = ws.writeConfig({ ...base, zstack: { ...(base.zstack as object), password: `${PASSWORD}-wrong` } });
    const r = await gtr(['doctor', '--config', config]);
    assert.equal(r.code, 1, r.stdout);
    assertNoSecret(r);
    assert.match(r.stdout, /^login\s+fail\s+.*refused/m);
    assert.match(r.stdout, /To fix:\n(.*\n)*\s+login \(fail\): check zstack.accountName and the password/);
    assert.match(r.stdout, /^endpoint\s+pass/m);
  });

  it('an AccessKey: login passes with a signed query, fails with the MN\'s refusal for a wrong secret; its secret file is checked', async () => {
    const key = { id: 'AKdoctor0001', secret: 'Doctor-AK-Secret-99' };
    const akSim = await startSimulator({ fleet: testFleet(1), accessKeys: [key] });
    try {
      const ws = await newWorkspace();
      const base = simConfig(ws, akSim);
      const secretFile = join(ws.dir, 'ak-secret');
      writeFileSync(secretFile, `${key.secret}\n`, { mode: 0o600 });
      const zstack = { ...(base.zstack as object), password: undefined, accessKeyId: key.id, accessKeySecretFile: secretFile };
      const good = await doctorJson(ws.writeConfig({ ...base, zstack }));
      assert.equal(statusOf(good.checks, 'login'), 'pass', good.checks.get('login')?.detail);
      assert.match(good.checks.get('secrets')?.detail ?? '', /zstack\.accessKeySecretFile/);
      writeFileSync(secretFile, 'not-the-secret\n');
      const bad = await doctorJson(ws.writeConfig({ ...base, zstack }));
      assert.equal(statusOf(bad.checks, 'login'), 'fail');
      assert.match(bad.checks.get('login')?.detail ?? '', /wrong signature/);
      assert.ok(!`${bad.r.stdout}${good.r.stdout}`.includes(key.secret), 'the secret is never printed');
    } finally {
      await akSim.close();
    }
  });

  it('an unreachable endpoint: endpoint fails, login is skipped, exit 1', async () => {
    const ws = await newWorkspace();
    const config = ws.writeConfig(simConfig(ws, { ...sim, endpoint: `http://127.0.0.1:${await closedPort()}` }));
    const { r, checks } = await doctorJson(config);
    assert.equal(r.code, 1);
    assert.equal(statusOf(checks, 'endpoint'), 'fail');
    assert.match(checks.get('endpoint')?.detail ?? '', /ECONNREFUSED/);
    assert.match(checks.get('endpoint')?.fix ?? '', /zstack.endpoint/);
    assert.equal(statusOf(checks, 'login'), 'skip');
    assert.equal(statusOf(checks, 'iso-catalog'), 'pass', 'the local checks still run');
  });

  it('a web server that is not ZStack (404 to everything): endpoint fails and names it, login is skipped, exit 1', async () => {
    const web = createHttpServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    try {
      const ws = await newWorkspace();
      const config = ws.writeConfig(simConfig(ws, { ...sim, endpoint: `http://127.0.0.1:${(web.address() as AddressInfo).port}` }));
      const { r, checks } = await doctorJson(config);
      assert.equal(r.code, 1);
      assert.equal(statusOf(checks, 'endpoint'), 'fail');
      assert.match(checks.get('endpoint')?.detail ?? '', /answered HTTP 404 "<h1>Not Found<\/h1>", not as a ZStack management node does/);
      assert.match(checks.get('endpoint')?.fix ?? '', /MN API/);
      assert.equal(statusOf(checks, 'login'), 'skip');
    } finally {
      web.close();
    }
    // The simulator answers as the MN does (400 missing header 'Authorization'): pass.
    const ws = await newWorkspace();
    const { checks } = await doctorJson(ws.writeConfig(simConfig(ws, sim)));
    assert.match(checks.get('endpoint')?.detail ?? '', /answers as a ZStack management node \(HTTP 400\)/);
  });

  it('an https endpoint on a plain-HTTP server: a clear message, no OpenSSL text, in doctor and in plan (exit 3)', async () => {
    const ws = await newWorkspace();
    const config = ws.writeConfig(simConfig(ws, { ...sim, endpoint: sim.endpoint.replace('http:', 'https:') }));
    const { checks, r } = await doctorJson(config);
    assert.equal(r.code, 1);
    assert.equal(statusOf(checks, 'endpoint'), 'fail');
    assert.match(checks.get('endpoint')?.detail ?? '', /is https:\/\/ but the server there answers plain HTTP \(no TLS\)/);
    const plan = await gtr(['plan', '--config', config]);
    assert.equal(plan.code, 3);
    assert.match(plan.stderr, /zstack\.endpoint is https:\/\/ but the server there answers plain HTTP \(no TLS\); use http:\/\//);
    for (const out of [plan.stderr, r.stdout]) assert.doesNotMatch(out, /SSL routines|0A00010B|ssl3_get_record/);
  });

  it('an empty ISO folder fails the catalog check, exit 1', async () => {
    const ws = await newWorkspace([]);
    mkdirSync(ws.isoDir);
    const { r, checks } = await doctorJson(ws.writeConfig(simConfig(ws, sim)));
    assert.equal(r.code, 1);
    assert.equal(statusOf(checks, 'iso-catalog'), 'fail');
    assert.match(checks.get('iso-catalog')?.detail ?? '', /no GuestTools ISO found/);
    assert.match(checks.get('iso-catalog')?.fix ?? '', /GuestTools-<version>\.iso/);
  });

  it('a corrupt database file fails the database check, and is left as it was', async () => {
    const ws = await newWorkspace();
    const config = ws.writeConfig(simConfig(ws, sim));
    assert.equal((await gtr(['plan', '--config', config])).code, 0);
    const damaged = readFileSync(ws.database);
    damaged.fill(0x41, 100, 4096 * 2); // the schema page and the start of the next
    writeFileSync(ws.database, damaged);
    const { r, checks } = await doctorJson(config);
    assert.equal(r.code, 1);
    assert.equal(statusOf(checks, 'database'), 'fail');
    assert.match(checks.get('database')?.detail ?? '', /damaged/);
    assert.match(checks.get('database')?.fix ?? '', /move .*state\.db aside/);
    assert.ok(readFileSync(ws.database).equals(damaged));
  });

  it('a password file readable by others fails the secrets check with the chmod to run', async () => {
    const ws = await newWorkspace();
    const passwordFile = join(ws.dir, 'password');
    writeFileSync(passwordFile, `${PASSWORD}\n`);
    chmodSync(passwordFile, 0o644);
    const base = simConfig(ws, sim);
    const config = ws.writeConfig({ ...base, zstack: { ...(base.zstack as object), password: null, passwordFile } });
    const { r, checks } = await doctorJson(config);
    assert.equal(r.code, 1);
    assert.equal(statusOf(checks, 'secrets'), 'fail');
    assert.match(checks.get('secrets')?.detail ?? '', /zstack\.passwordFile .* readable by others \(mode 644\)/);
    assert.equal(checks.get('secrets')?.fix, `chmod 600 ${passwordFile} (or 640 with group gtr)`);
    assert.equal(statusOf(checks, 'login'), 'pass', 'the password itself works');

    chmodSync(passwordFile, 0o600);
    const fixed = await doctorJson(config);
    assert.equal(fixed.r.code, 0);
    assert.equal(statusOf(fixed.checks, 'secrets'), 'pass');
    assert.equal(statMode(passwordFile), 0o600);
  });

  it('a missing database folder passes when it can be created; under a folder that is a file it fails', async () => {
    const ws = await newWorkspace();
    const nested = join(ws.dir, 'var', 'lib', 'gtr', 'state.db');
    const created = await doctorJson(ws.writeConfig(simConfig(ws, sim, { database: nested })));
    assert.equal(statusOf(created.checks, 'database'), 'pass', created.checks.get('database')?.detail);
    assert.match(created.checks.get('database')?.detail ?? '', /does not exist yet; the first run creates it \(0750\) in .*gtr-test-\w+, which is writable/);
    assert.equal(statusOf(created.checks, 'lease'), 'skip');
    assert.equal(existsSync(join(ws.dir, 'var')), false, 'doctor created nothing');

    writeFileSync(join(ws.dir, 'plain-file'), '');
    const blocked = await doctorJson(ws.writeConfig(simConfig(ws, sim, { database: join(ws.dir, 'plain-file', 'db', 'state.db') })));
    assert.equal(blocked.r.code, 1);
    assert.equal(statusOf(blocked.checks, 'database'), 'fail');
    assert.match(blocked.checks.get('database')?.detail ?? '', /plain-file is not a folder/);
    assert.match(blocked.checks.get('database')?.fix ?? '', /mkdir -p -m 0750/);
  });

  it('the leader check: pass with the role (leader or standby), fail with the reason and fix when the check itself fails', async () => {
    const ws = await newWorkspace();
    const flag = join(ws.dir, 'lead');
    const leaderCheck = { command: ['/bin/sh', '-c', `test -e ${flag}`] };
    const standby = await doctorJson(ws.writeConfig(simConfig(ws, sim, { ha: { leaderCheck } })));
    assert.equal(statusOf(standby.checks, 'leader'), 'pass');
    assert.match(standby.checks.get('leader')?.detail ?? '', /^standby \(command: .* exited 1\)/);
    writeFileSync(flag, '');
    const leader = await doctorJson(ws.writeConfig(simConfig(ws, sim, { ha: { leaderCheck } })));
    assert.match(leader.checks.get('leader')?.detail ?? '', /^leader \(command: .* exited 0\)/);

    // zsha2 is not installed here: the fake one says so, as a node outside a pair does (exit 1).
    const zsha2 = fakeZsha2(ws.dir);
    zsha2.notInstalled();
    const config = ws.writeConfig(simConfig(ws, sim, { ha: { leaderCheck: 'zsha2' } }));
    const r = await gtr(['doctor', '--config', config, '--json'], { env: { GTR_ZSHA2_PATH: zsha2.path } });
    assert.equal(r.code, 1, r.stdout);
    const check = (JSON.parse(r.stdout) as { checks: Check[] }).checks.find((c) => c.name === 'leader');
    assert.equal(check?.status, 'fail');
    assert.match(check?.detail ?? '', /zsha2: the check failed: .* HA environment not installed/);
    assert.match(check?.fix ?? '', /sudo -u gtr \/usr\/local\/bin\/zsha2 show-config/);
  });

  it('run as root, the leader check runs as the owner of the database folder (the service user)', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    const ws = await newWorkspace();
    const folder = join(ws.dir, 'state');
    mkdirSync(folder);
    // nobody (65534) plays the gtr user; the command tells which uid ran it.
    chownSync(folder, 65534, 65534);
    chmodSync(ws.dir, 0o755);
    const leaderCheck = { command: ['/bin/sh', '-c', 'test "$(id -u)" = 65534'] };
    const { checks } = await doctorJson(ws.writeConfig(simConfig(ws, sim, { database: join(folder, 'state.db'), ha: { leaderCheck } })));
    assert.equal(statusOf(checks, 'leader'), 'pass');
    assert.match(checks.get('leader')?.detail ?? '', /^leader \(command: .* exited 0\) \(checked as uid 65534, the database folder's owner\)/);
  });

  it('is in the command list; --help explains it; an unknown flag is a usage error (exit 2)', async () => {
    assert.match((await gtr(['--help'])).stdout, /^\s+doctor\s+/m);
    const help = await gtr(['doctor', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: gtr doctor .*--json/);
    const bad = await gtr(['doctor', '--fix']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--fix/);
  });

  it('an invalid configuration: exit 2, the config check names the key, the rest is skipped', async () => {
    const ws = await newWorkspace();
    const config = ws.writeConfig({ ...simConfig(ws, sim), policy: { maxPerHost: -2 } });
    const { r, ok, checks } = await doctorJson(config);
    assert.equal(r.code, 2);
    assert.equal(ok, false);
    assert.equal(statusOf(checks, 'config'), 'fail');
    assert.match(checks.get('config')?.detail ?? '', /policy\.maxPerHost/);
    assert.equal(statusOf(checks, 'login'), 'skip');
  });

  it('shows the lease holder while another process has the database open, without taking the lease', async () => {
    const ws = await newWorkspace();
    const config = ws.writeConfig(simConfig(ws, sim));
    const ledger = Ledger.open(ws.database);
    try {
      const now = Date.now();
      assert.ok(ledger.acquireLease({ holder: 'test-holder', purpose: 'daemon', ttlMs: 600_000, now }).ok);
      const { r, checks } = await doctorJson(config);
      assert.equal(r.code, 0, r.stdout);
      assert.match(checks.get('lease')?.detail ?? '', new RegExp(`held by daemon \\(pid ${process.pid} on `));
      assert.match(checks.get('database')?.detail ?? '', /checked in place/);
      assert.equal(ledger.leaseHolder(Date.now())?.holder, 'test-holder', 'the lease is still ours');
    } finally {
      ledger.close();
    }
  });

  it('an MN without QueryGuestToolsState (a warning: tags alone decide) and with its clock 20 minutes off (fails)', async () => {
    const old = await startSimulator({ fleet: testFleet(1), password: PASSWORD, mnVersion: '4.6.10', clockSkewMs: 20 * 60_000 });
    try {
      const ws = await newWorkspace();
      const { r, checks } = await doctorJson(ws.writeConfig(simConfig(ws, old)));
      assert.equal(r.code, 1);
      assert.equal(statusOf(checks, 'api-version'), 'warn');
      assert.match(checks.get('api-version')?.detail ?? '', /no api mapping/);
      assert.equal(statusOf(checks, 'clock-skew'), 'fail');
      assert.match(checks.get('clock-skew')?.detail ?? '', /1[12]\d\d s ahead/);
      assert.match(checks.get('clock-skew')?.fix ?? '', /NTP/);
    } finally {
      await old.close();
    }
  });
});

function statMode(file: string): number {
  return statSync(file).mode & 0o777;
}
