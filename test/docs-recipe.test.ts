// Every command in the docs is one a user can run: the README's simulator recipe ("Trying it without a
// management node"), as printed, run by bash against the built CLI. Two adaptations only: TMPDIR points
// at a scratch folder (so `mktemp -d` lands there) and the recipe's `PORT=8080` becomes a free port.
// It must keep the password to its user (umask 077 before anything is written), and stop its simulator.
// And the README stays a landing page: at most 250 lines, the operator's quick start on its first screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';

/** The first sh block under the README's heading "Trying it without a management node". */
function recipe(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.indexOf('\n## Trying it without a management node\n');
  assert.ok(section >= 0, 'README.md has the section "Trying it without a management node"');
  const start = readme.indexOf('```sh\n', section);
  const end = readme.indexOf('\n```', start + 6);
  assert.ok(start > 0 && end > start, 'the section has an sh block');
  return readme.slice(start + 6, end + 1);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

test("docs: the README's simulator recipe runs as printed, keeps the password private and stops its simulator", async () => {
  const text = recipe();
  const commands = text.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '' && !l.startsWith('#'));
  assert.equal(commands[0], 'umask 077', 'the recipe sets umask 077 before it writes anything');
  assert.equal(text.split('PORT=8080').length, 2, 'the recipe names its port once, as PORT=8080');
  for (const command of ['node bin/gtr.js doctor', 'node bin/gtr.js plan', 'node bin/gtr.js reconcile', 'node bin/gtr.js status']) {
    assert.ok(commands.some((c) => c.startsWith(command)), `the recipe runs ${command}`);
  }

  const scratch = mkdtempSync(join(tmpdir(), 'gtr-recipe-'));
  const port = await freePort();
  const bash = spawn('bash', ['-e', '-c', text.replace('PORT=8080', `PORT=${port}`)], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: scratch },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  bash.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  bash.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<void>((resolve) => bash.once('close', () => resolve()));
  const killGroup = () => {
    try {
      process.kill(-bash.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  };
  try {
    const code = await new Promise<number | null>((resolve) => bash.once('exit', (c) => resolve(c)));
    const leftover = await refused(port);
    killGroup(); // a simulator the recipe left running would hold the pipes open
    await closed;
    assert.equal(code, 0, `the recipe failed:\n${stdout}\n${stderr.slice(-3000)}`);

    assert.match(stdout, /^OK: no check failed\./m, 'gtr doctor passes against the simulator');
    assert.match(stdout, /^Plan #1: dry-run/m, 'gtr plan');
    assert.match(stdout, /^Would attach:/m, 'the plan lists the VMs it would attach');
    assert.match(stdout, /^Run #2: succeeded/m, 'gtr reconcile --limit 5');
    assert.match(stdout, /^Outcomes: verified 0, attached \(awaiting install\) 5, failed 0$/m, 'five VMs attached, as --limit 5 says');
    assert.match(stdout, /^Fleet \(300 VMs, as of run #2\):/m, 'gtr status shows the fleet of the last run');
    assert.doesNotMatch(stderr, /"level":(50|60)/, 'no error was logged');

    // The scratch folder mktemp made, and nothing in it readable by group or others.
    const [folder] = readdirSync(scratch);
    const dir = join(scratch, folder);
    assert.equal(readFileSync(join(dir, 'password'), 'utf8'), 'password');
    for (const name of ['', ...readdirSync(dir)]) {
      const mode = statSync(join(dir, name)).mode & 0o777;
      assert.equal(mode & 0o077, 0, `${name || 'the folder'} has mode ${mode.toString(8)}: readable by others`);
    }
    assert.ok(leftover, 'kill %1; wait stopped the simulator');
  } finally {
    killGroup();
    rmSync(scratch, { recursive: true, force: true });
  }
});

test("docs: the README is a landing page, the operator's quick start on its first screen", () => {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  assert.ok(lines.length <= 250, `README.md has ${lines.length} lines: move the details into docs/`);
  const screen = lines.slice(0, 40).join('\n');
  for (const step of ['rpm -Uvh', 'install.sh', '/etc/guesttools-reconciler/password', 'gtr doctor', 'gtr plan', 'gtr reconcile --limit 5', 'systemctl enable --now guesttools-reconciler']) {
    assert.ok(screen.includes(step), `the quick start in the first 40 lines has ${step}`);
  }
});
