// Security, end to end through the CLI against the simulator served over https with a CA made here
// with openssl: verification is on by default, zstack.tls.caFile makes the CA trusted, and a wrong CA
// or a certificate for another name fails with exit 3 and a message that mentions the certificate.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { gtr, simConfig, workspace, type Workspace } from './helpers/cli.js';
import { outdatedFleet } from './helpers/fault.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const NO_STACK = /\n\s+at .+:\d+:\d+/;

/** A CA and a server certificate it signed for `san`, as PEM files in `dir`. */
function makePki(dir: string, name: string, san: string): { ca: string; key: string; cert: string } {
  const p = (f: string) => join(dir, `${name}-${f}`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', `/CN=${name} test CA`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', ...ec, '-keyout', p('srv.key'), '-out', p('srv.csr'), '-subj', '/CN=zstack-mn']);
  writeFileSync(p('ext.cnf'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
  run(['x509', '-req', '-in', p('srv.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('srv.pem'),
    '-days', '2', '-extfile', p('ext.cnf')]);
  return { ca: p('ca.pem'), key: p('srv.key'), cert: p('srv.pem') };
}

describe('TLS to the management node', { skip: !hasOpenssl() && 'openssl is not installed' }, () => {
  let dir: string;
  let good: { ca: string; key: string; cert: string };
  let other: { ca: string; key: string; cert: string };
  let wrongName: { ca: string; key: string; cert: string };
  let sim: Simulator;
  let misnamed: Simulator;
  let ws: Workspace;
  const config = (s: Simulator, tls: Record<string, unknown> | null) => {
    const base = simConfig(ws, s);
    const zstack = { ...(base.zstack as Record<string, unknown>), ...(tls ? { tls } : {}) };
    const file = join(ws.dir, `tls-${Math.random().toString(16).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ ...base, zstack }), { mode: 0o600 });
    return file;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gtr-pki-'));
    good = makePki(dir, 'good', 'IP:127.0.0.1');
    other = makePki(dir, 'other', 'IP:127.0.0.1');
    wrongName = makePki(dir, 'named', 'DNS:mn.example.test');
    sim = await startSimulator({ fleet: outdatedFleet(3, 2), jobDurationMs: 5, tls: { key: readFileSync(good.key, 'utf8'), cert: readFileSync(good.cert, 'utf8') } });
    misnamed = await startSimulator({ fleet: outdatedFleet(1, 1), tls: { key: readFileSync(wrongName.key, 'utf8'), cert: readFileSync(wrongName.cert, 'utf8') } });
    ws = await workspace();
  });
  after(async () => {
    await sim?.close();
    await misnamed?.close();
    ws?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('trusts zstack.tls.caFile: a full reconcile over https', async () => {
    assert.match(sim.endpoint, /^https:\/\/127\.0\.0\.1:/);
    const r = await gtr(['reconcile', '--config', config(sim, { caFile: good.ca }), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { counts: { succeeded: number } }).counts.succeeded, 3);
  });

  it('verifies by default: a CA nobody configured is refused with exit 3, naming the certificate problem', async () => {
    const before = sim.calls.length;
    const r = await gtr(['plan', '--config', config(sim, null)]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /certificate/i);
    assert.match(r.stderr, /LogInByAccount: cannot reach the management node/);
    assert.doesNotMatch(r.stderr, NO_STACK);
    assert.equal(sim.calls.length, before, 'not one request (so no password) went over the unverified connection');
  });

  it('a caFile of another CA: exit 3, certificate named', async () => {
    const r = await gtr(['plan', '--config', config(sim, { caFile: other.ca })]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /certificate/i);
  });

  it('a certificate for another name (right CA): exit 3, certificate named', async () => {
    const before = misnamed.calls.length;
    const r = await gtr(['plan', '--config', config(misnamed, { caFile: wrongName.ca })]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /certificate/i);
    assert.equal(misnamed.calls.length, before);
  });

  it('an unreadable caFile: exit 2 naming zstack.tls.caFile', async () => {
    const r = await gtr(['plan', '--config', config(sim, { caFile: join(dir, 'missing.pem') })]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /zstack\.tls\.caFile/);
  });

  it('rejectUnauthorized: false is the explicit opt-out and works', async () => {
    const r = await gtr(['plan', '--config', config(sim, { rejectUnauthorized: false })]);
    assert.equal(r.code, 0, r.stderr);
  });
  it('gtr doctor: tls passes with zstack.tls.caFile, fails without it (fix names the key), warns when verification is off', async () => {
    const statuses = async (tls: Record<string, unknown> | null) => {
      const r = await gtr(['doctor', '--config', config(sim, tls), '--json']);
      const checks = (JSON.parse(r.stdout) as { checks: { name: string; status: string; fix: string | null }[] }).checks;
      const by = (name: string) => checks.find((c) => c.name === name);
      return { code: r.code, tls: by('tls'), endpoint: by('endpoint')?.status, login: by('login')?.status };
    };
    const trusted = await statuses({ caFile: good.ca });
    assert.deepEqual([trusted.code, trusted.tls?.status, trusted.login], [0, 'pass', 'pass']);
    const untrusted = await statuses(null);
    assert.deepEqual([untrusted.code, untrusted.tls?.status, untrusted.endpoint, untrusted.login], [1, 'fail', 'pass', 'skip']);
    assert.match(untrusted.tls?.fix ?? '', /zstack\.tls\.caFile/);
    const unverified = await statuses({ rejectUnauthorized: false });
    assert.deepEqual([unverified.code, unverified.tls?.status], [0, 'warn']);
  });
});
